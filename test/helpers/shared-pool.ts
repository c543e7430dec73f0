// Several `corral lb` processes sharing one pool through a real redis-server: config
// builder and small admin-API helpers for the shared-pool end-to-end tests.
import type { Replica } from '../../src/demo/replica.js'
import { startCorral, type CorralProcess } from './corral-process.js'
import { lbYaml } from './lb-config.js'

/** Options of startSharedLb. */
export interface SharedLbOptions {
  readonly redisUrl: string
  readonly prefix?: string
  readonly instanceId: string
  /** Extra keys inside `coordination: { … }`. */
  readonly coordination?: string
  readonly health?: string
  /** Top-level YAML appended verbatim. */
  readonly extra?: string
  /** Default "auto" (the default mode users run). */
  readonly workers?: string
  /** The whole `redis:` mapping instead of the url one (e.g. sentinels). */
  readonly redis?: string
}

/** Health timings loose enough for a loaded 2-core machine, still fast for tests. */
export const RELAXED_HEALTH =
  '{ interval: 300ms, timeout: 1s, rise: 1, fall: 2, jitter: 0 }'

/** Fast timings so tests see heartbeats, expiry and resyncs within seconds. */
export const FAST_COORDINATION = 'heartbeat: 200ms, ttl: 1s, resync: 1s'

/** Starts one corral instance of a shared pool (members seed only an unseeded pool). */
export function startSharedLb(
  dir: string,
  replicas: readonly Pick<Replica, 'id' | 'port'>[],
  o: SharedLbOptions,
  env: NodeJS.ProcessEnv = {},
): Promise<CorralProcess> {
  const coordination = [
    `instanceId: ${o.instanceId}`,
    FAST_COORDINATION,
    ...(o.coordination !== undefined ? [o.coordination] : []),
  ].join(', ')
  return startCorral(
    dir,
    lbYaml(replicas, {
      health: o.health ?? RELAXED_HEALTH,
      extra: `redis: ${o.redis ?? `{ url: "${o.redisUrl}", prefix: "${o.prefix ?? 'test'}" }`}
coordination: { ${coordination} }
workers: ${o.workers ?? 'auto'}
${o.extra ?? ''}`,
    }),
    // Startup on a busy 2-core machine (module load, worker forks) can take seconds.
    { env, readyTimeoutMs: 30_000 },
  )
}

/** One member as GET /api/v1/pool shows it (the fields tests read). */
export interface PoolMember {
  readonly id: string
  readonly state: string
  readonly health: string
  readonly ownHealth?: string
  readonly admin: string
  readonly reason: string
  readonly removing: boolean
  readonly address: string
  /** Who added it: config, api, sidecar or dns:<name>. */
  readonly source: string
}

/** GET /api/v1/pool, parsed. */
export async function getPool(lb: CorralProcess): Promise<{
  summary: Record<string, unknown> & { coordination: Record<string, unknown> }
  members: PoolMember[]
}> {
  const res = await fetch(`${lb.adminUrl}/api/v1/pool`, {
    signal: AbortSignal.timeout(5_000),
  })
  return (await res.json()) as {
    summary: Record<string, unknown> & { coordination: Record<string, unknown> }
    members: PoolMember[]
  }
}

/** Polls the pool API every 20 ms until `match` holds; resolves with the ms it took. */
export async function waitForPool(
  lb: CorralProcess,
  match: (members: readonly PoolMember[], summary: Record<string, unknown>) => boolean,
  timeoutMs = 5_000,
  what = 'pool condition',
): Promise<number> {
  const started = performance.now()
  let last: unknown
  while (performance.now() - started < timeoutMs) {
    const pool = await getPool(lb)
    last = pool
    if (match(pool.members, pool.summary)) return performance.now() - started
    await new Promise(r => setTimeout(r, 20))
  }
  throw new Error(
    `timed out after ${timeoutMs}ms waiting for ${what}; last: ${JSON.stringify(last).slice(0, 2000)}`,
  )
}

/** An admin API call; resolves status and parsed JSON. */
export async function admin(
  lb: CorralProcess,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${lb.adminUrl}${path}`, {
    method,
    signal: AbortSignal.timeout(5_000),
    ...(body !== undefined
      ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }
      : {}),
  })
  const text = await res.text()
  let json: Record<string, unknown>
  try {
    json = JSON.parse(text) as Record<string, unknown>
  } catch {
    json = { text }
  }
  return { status: res.status, json }
}

/**
 * Asserts that `match` holds on every poll for `windowMs` (a negative property: something
 * must NOT happen during the window); rejects at the first poll where it fails.
 */
export async function holdsFor(
  lb: CorralProcess,
  match: (members: readonly PoolMember[], summary: Record<string, unknown>) => boolean,
  windowMs: number,
  what: string,
): Promise<void> {
  const started = performance.now()
  while (performance.now() - started < windowMs) {
    const pool = await getPool(lb)
    if (!match(pool.members, pool.summary)) {
      throw new Error(
        `${what} stopped holding after ${Math.round(performance.now() - started)}ms: ${JSON.stringify(pool).slice(0, 1500)}`,
      )
    }
    await new Promise(r => setTimeout(r, 50))
  }
}
