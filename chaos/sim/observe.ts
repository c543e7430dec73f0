// What the simulation reads from each live LB: its pool API (members, states, admin,
// coordination), its /healthz, and which members new connections through it reach.
import { request } from 'node:http'
import type { CorralProcess } from '../corral/process.js'
import type { Admin } from './model.js'

/** One member as an LB's pool API shows it. */
export interface SeenMember {
  readonly state: string
  readonly health: string
  readonly admin: Admin
  readonly removing: boolean
}

/** One read of an LB's GET /api/v1/pool. */
export interface PoolView {
  readonly lb: string
  readonly members: ReadonlyMap<string, SeenMember>
  readonly connected: boolean
  readonly instances: number
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null
}

function isAdmin(v: unknown): v is Admin {
  return v === 'enabled' || v === 'draining' || v === 'disabled'
}

/** Reads `lb`'s pool API; undefined if it does not answer within 3 s. */
export async function readView(lb: CorralProcess): Promise<PoolView | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${lb.adminPort}/api/v1/pool`, {
      signal: AbortSignal.timeout(3_000),
    })
    const doc: unknown = await res.json()
    if (!isRecord(doc) || !Array.isArray(doc.members)) return undefined
    const members = new Map<string, SeenMember>()
    for (const m of doc.members as unknown[]) {
      if (!isRecord(m) || !isAdmin(m.admin)) continue
      members.set(String(m.id), {
        state: String(m.state),
        health: String(m.health),
        admin: m.admin,
        removing: m.removing === true,
      })
    }
    const c = isRecord(doc.summary) ? doc.summary.coordination : undefined
    return {
      lb: lb.name,
      members,
      connected: isRecord(c) && c.connected === true,
      instances: isRecord(c) ? Number(c.instances) : 0,
    }
  } catch {
    return undefined
  }
}

/** Whether `lb` answers GET /healthz with 200 within 3 s. */
export async function healthz(lb: CorralProcess): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${lb.adminPort}/healthz`, {
      signal: AbortSignal.timeout(3_000),
    })
    await res.text()
    return res.status === 200
  } catch {
    return false
  }
}

/** An admin call's answer: status 0 when no answer came (indeterminate). */
export interface AdminAnswer {
  readonly status: number
  readonly body: string
}

/** One admin API call on `lb` (JSON body for PUT); never throws. */
export async function adminCall(
  lb: CorralProcess,
  method: string,
  path: string,
  body?: unknown,
): Promise<AdminAnswer> {
  try {
    const res = await fetch(`http://127.0.0.1:${lb.adminPort}${path}`, {
      method,
      signal: AbortSignal.timeout(8_000),
      ...(body === undefined
        ? {}
        : {
            body: JSON.stringify(body),
            headers: { 'content-type': 'application/json' },
          }),
    })
    return { status: res.status, body: await res.text() }
  } catch (err) {
    return { status: 0, body: String(err) }
  }
}

/** One new connection through `port`: the replica that answered /hello, or why none did. */
export function hello(
  port: number,
  timeoutMs: number,
): Promise<{ readonly replica?: string; readonly error?: string }> {
  return new Promise(resolve => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/hello',
        agent: false,
        headers: { connection: 'close' },
        timeout: timeoutMs,
      },
      res => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => (text += c))
        res.on('end', () => {
          const m = /^hello from (\S+)/.exec(text)
          resolve(
            m?.[1] === undefined
              ? { error: `status ${res.statusCode}` }
              : { replica: m[1] },
          )
        })
        res.on('error', err => {
          resolve({ error: err.message })
        })
      },
    )
    req.on('timeout', () => {
      req.destroy(new Error('timeout'))
    })
    req.on('error', (err: NodeJS.ErrnoException) => {
      resolve({ error: err.code ?? err.message })
    })
    req.end()
  })
}
