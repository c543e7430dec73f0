// Replays recorded Toxiproxy 2.12.0 API exchanges (shared/toxiproxy-api/golden.json format)
// against a server and reports every mismatch; used by the stand-in's compatibility test and
// usable against a real server (`TOXIPROXY_URL`).
import { createServer, type Server } from 'node:net'
import { once } from 'node:events'

/** One recorded request/response pair. */
export interface GoldenExchange {
  readonly case: string
  readonly request: {
    readonly method: string
    readonly path: string
    readonly headers?: Readonly<Record<string, string>>
    readonly body: string | null
  }
  readonly response: {
    readonly status: number
    readonly headers: Readonly<Record<string, string>>
    readonly bodyText: string
  }
  readonly compare: 'exact' | 'error-prefix'
  readonly errorPrefix?: string
}

/** Type guard for a parsed golden file (checks the fields the replay reads). */
export function isGoldenList(value: unknown): value is GoldenExchange[] {
  return (
    Array.isArray(value) &&
    value.every(
      (e: unknown) =>
        typeof e === 'object' &&
        e !== null &&
        'case' in e &&
        'request' in e &&
        'response' in e &&
        'compare' in e,
    )
  )
}

/** The outcome of one exchange: what differed, empty when it matched. */
export interface ReplayResult {
  readonly name: string
  readonly problems: readonly string[]
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** Placeholder bindings shared across a replay (ports learnt from responses). */
export type Bindings = Map<string, string>

function fill(text: string, bound: Bindings): string {
  return text.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => bound.get(key) ?? whole)
}

/** Matches `actual` against the expected body text, binding first-seen PROXY_PORT_n. */
function matchExact(expected: string, actual: string, bound: Bindings): boolean {
  const names: string[] = []
  const source = expected
    .split(/(\{\{\w+\}\})/)
    .map(part => {
      const m = /^\{\{(\w+)\}\}$/.exec(part)
      if (m?.[1] === undefined) return escapeRegExp(part)
      const key = m[1]
      if (key === 'REQUEST_ID') return '[^"]*'
      const value = bound.get(key)
      if (value !== undefined) return escapeRegExp(value)
      if (!key.startsWith('PROXY_PORT')) return escapeRegExp(part)
      if (names.includes(key)) return `\\k<${key}>`
      names.push(key)
      return `(?<${key}>\\d+)`
    })
    .join('')
  const match = new RegExp(`^${source}$`).exec(actual)
  if (match === null) return false
  for (const key of names) {
    const v = match.groups?.[key]
    if (v !== undefined) bound.set(key, v)
  }
  return true
}

function compareErrorPrefix(
  ex: GoldenExchange,
  actual: string,
  bound: Bindings,
): string[] {
  let got: unknown
  let want: unknown
  try {
    got = JSON.parse(actual)
    want = JSON.parse(ex.response.bodyText)
  } catch {
    return [`body is not JSON: ${JSON.stringify(actual)}`]
  }
  if (
    typeof got !== 'object' ||
    got === null ||
    typeof want !== 'object' ||
    want === null
  ) {
    return ['body is not a JSON object']
  }
  const problems: string[] = []
  const g = got as Record<string, unknown>
  const w = want as Record<string, unknown>
  const error = g.error
  const prefix = ex.errorPrefix ?? ''
  if (typeof error !== 'string' || !error.startsWith(prefix)) {
    problems.push(
      `error ${JSON.stringify(error)} does not start with ${JSON.stringify(prefix)}`,
    )
  }
  for (const key of new Set([...Object.keys(w), ...Object.keys(g)])) {
    if (key === 'error') continue
    const wantText = fill(JSON.stringify(w[key]), bound)
    if (!matchExact(wantText, JSON.stringify(g[key]), bound)) {
      problems.push(`${key}: expected ${wantText}, got ${JSON.stringify(g[key])}`)
    }
  }
  return problems
}

/** Replays one exchange against `baseUrl`, updating `bound`. */
export async function replayOne(
  baseUrl: string,
  ex: GoldenExchange,
  bound: Bindings,
): Promise<ReplayResult> {
  const body = ex.request.body === null ? undefined : fill(ex.request.body, bound)
  const res = await fetch(baseUrl + fill(ex.request.path, bound), {
    method: ex.request.method,
    headers: ex.request.headers ?? {},
    ...(body === undefined ? {} : { body }),
    signal: AbortSignal.timeout(10_000),
  })
  const text = await res.text()
  const problems: string[] = []
  if (res.status !== ex.response.status) {
    problems.push(`status: expected ${ex.response.status}, got ${res.status}`)
  }
  for (const header of ['content-type', 'x-content-type-options']) {
    const want = ex.response.headers[header] ?? null
    const got = res.headers.get(header)
    if (want !== got) problems.push(`${header}: expected ${want}, got ${got}`)
  }
  const wantId = 'x-toxiproxy-request-id' in ex.response.headers
  if (wantId !== res.headers.has('x-toxiproxy-request-id')) {
    problems.push(`x-toxiproxy-request-id: expected ${wantId ? 'present' : 'absent'}`)
  }
  if (ex.compare === 'exact') {
    if (!matchExact(ex.response.bodyText, text, bound)) {
      problems.push(
        `body: expected ${JSON.stringify(fill(ex.response.bodyText, bound))}, got ${JSON.stringify(text)}`,
      )
    }
  } else {
    problems.push(...compareErrorPrefix(ex, text, bound))
  }
  return { name: ex.case, problems }
}

/** Listeners a replay needs: two echo upstreams and one port kept busy. */
export interface ReplayFixtures {
  readonly bound: Bindings
  close(): Promise<void>
}

/** Starts the echo upstreams and the busy port on 127.0.0.1 and binds their placeholders. */
export async function startReplayFixtures(): Promise<ReplayFixtures> {
  const servers: Server[] = []
  const listen = async (echo: boolean): Promise<number> => {
    const server = createServer(socket => {
      socket.on('error', () => undefined)
      if (echo) socket.pipe(socket)
      else socket.destroy()
    })
    servers.push(server)
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const a = server.address()
    return a !== null && typeof a === 'object' ? a.port : 0
  }
  const bound: Bindings = new Map([
    ['UPSTREAM_PORT', String(await listen(true))],
    ['UPSTREAM_PORT_2', String(await listen(true))],
    ['BUSY_PORT', String(await listen(false))],
  ])
  return {
    bound,
    close: async () => {
      await Promise.all(
        servers.map(s => {
          const closed = once(s, 'close')
          s.close()
          return closed
        }),
      )
    },
  }
}
