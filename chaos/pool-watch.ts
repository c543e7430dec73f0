// Reads the LBs' pool API (GET /api/v1/pool) for shared-pool scenarios: one read, a wait
// for a condition, an admin call, and a watcher sampling every LB until stopped (bounded).
import type { CorralProcess } from './corral/process.js'

/** The parts of the pool document the scenarios look at. */
export interface PoolSample {
  readonly lb: string
  /** Epoch ms. */
  readonly atMs: number
  /** Member id → state (up, down, draining, …). */
  readonly states: Readonly<Record<string, string>>
  /** Live instances this LB counts in the shared pool. */
  readonly instances: number
  /** Whether this LB's store connection is up. */
  readonly connected: boolean
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null
}

/** One read of `lb`'s pool API. */
export async function readPool(lb: CorralProcess): Promise<PoolSample> {
  const res = await fetch(`http://127.0.0.1:${lb.adminPort}/api/v1/pool`, {
    signal: AbortSignal.timeout(3_000),
  })
  const doc: unknown = await res.json()
  const states: Record<string, string> = {}
  let instances = 0
  let connected = false
  if (isRecord(doc)) {
    if (Array.isArray(doc.members))
      for (const m of doc.members as unknown[])
        if (isRecord(m)) states[String(m.id)] = String(m.state)
    const c = isRecord(doc.summary) ? doc.summary.coordination : undefined
    if (isRecord(c)) {
      instances = Number(c.instances)
      connected = c.connected === true
    }
  }
  return { lb: lb.name, atMs: Date.now(), states, instances, connected }
}

/** Members in state up. */
export function upCount(s: PoolSample): number {
  return Object.values(s.states).filter(v => v === 'up').length
}

/** Polls `lb` every 50 ms until `match` holds; resolves the ms it took, rejects after timeoutMs. */
export async function waitForPool(
  lb: CorralProcess,
  match: (s: PoolSample) => boolean,
  timeoutMs: number,
  what: string,
): Promise<number> {
  const started = performance.now()
  let last: PoolSample | undefined
  while (performance.now() - started < timeoutMs) {
    last = await readPool(lb).catch(() => undefined)
    if (last !== undefined && match(last)) return performance.now() - started
    await new Promise(r => setTimeout(r, 50))
  }
  throw new Error(
    `${lb.name}: ${what} not seen within ${timeoutMs} ms; last: ${JSON.stringify(last)}`,
  )
}

/** An admin API call on `lb`: status and body text. */
export async function adminCall(
  lb: CorralProcess,
  method: string,
  path: string,
): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${lb.adminPort}${path}`, {
    method,
    signal: AbortSignal.timeout(5_000),
  })
  return { status: res.status, body: await res.text() }
}

/** Samples every LB's pool until stop() (or maxMs); an LB that does not answer is skipped. */
export class PoolWatch {
  readonly samples: PoolSample[] = []
  #running = true
  readonly #loop: Promise<void>

  constructor(lbs: readonly CorralProcess[], intervalMs = 100, maxMs = 300_000) {
    this.#loop = (async () => {
      const started = performance.now()
      while (this.#running && performance.now() - started < maxMs) {
        for (const lb of lbs) {
          const s = await readPool(lb).catch(() => undefined)
          if (s !== undefined) this.samples.push(s)
        }
        await new Promise(r => setTimeout(r, intervalMs))
      }
    })()
  }

  async stop(): Promise<void> {
    this.#running = false
    await this.#loop
  }

  /** The fewest members up in any sample of `lb` (or any LB), within [fromMs, toMs). */
  minUp(lb?: string, fromMs = 0, toMs = Number.POSITIVE_INFINITY): number {
    let min = Number.POSITIVE_INFINITY
    for (const s of this.samples)
      if ((lb === undefined || s.lb === lb) && s.atMs >= fromMs && s.atMs < toMs)
        min = Math.min(min, upCount(s))
    return min
  }
}
