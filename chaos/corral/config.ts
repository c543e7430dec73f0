// The corral config each chaos load balancer runs: three listeners (http, https and a
// health listener whose member ports go through their own Toxiproxy proxies, so toxics
// can hit the health path alone), every member reached through Toxiproxy, and the
// default workers mode (no `workers:` key).

/** The ports one LB uses to reach one member (each a Toxiproxy proxy, or the replica). */
export interface MemberPorts {
  readonly id: string
  readonly http: number
  readonly https: number
  readonly health: number
}

/** Health-check timing every chaos LB uses; budgets are derived from it. */
export interface HealthTiming {
  readonly intervalMs: number
  readonly timeoutMs: number
  readonly rise: number
  readonly fall: number
  /** Fraction of the interval (config `health.jitter`). */
  readonly jitter: number
}

/**
 * Short intervals keep scenarios quick. The timeout is long on purpose: on a shared 2-core
 * machine (load average 20 measured while other test suites ran) probes answered in
 * 250-300 ms and a 250 ms timeout evicted healthy members.
 */
export const CHAOS_HEALTH: HealthTiming = {
  intervalMs: 500,
  timeoutMs: 1_000,
  rise: 2,
  fall: 2,
  jitter: 0.1,
}

/** Connect timeout of the chaos LBs (ms). */
export const CHAOS_CONNECT_TIMEOUT_MS = 1_000

/** Options for lbConfigYaml. */
export interface LbConfigOptions {
  readonly members: readonly MemberPorts[]
  readonly health?: HealthTiming
  /** `allDown` policy (default reject). */
  readonly allDown?: 'reject' | 'fail-open'
  /**
   * YAML appended at the top level for the shared pool: `redis: {…}` and `coordination:
   * {…}` (docs/config.md); absent: an independent pool.
   */
  readonly coordinationYaml?: string
  /** Fixed ports for the listeners and the admin API (a restarted LB keeps its ports). */
  readonly binds?: {
    readonly listeners: Readonly<Record<string, number>>
    readonly admin: number
  }
}

/** Builds the YAML for one chaos LB. */
export function lbConfigYaml(options: LbConfigOptions): string {
  const h = options.health ?? CHAOS_HEALTH
  const members = options.members
    .map(
      m =>
        `  - { id: ${m.id}, address: 127.0.0.1, ports: { http: ${m.http}, https: ${m.https}, health: ${m.health} } }`,
    )
    .join('\n')
  const port = (name: string): number => options.binds?.listeners[name] ?? 0
  return `# written by chaos/corral/config.ts
listeners:
  - { name: http, bind: "127.0.0.1:${port('http')}" }
  - { name: https, bind: "127.0.0.1:${port('https')}" }
  - { name: health, bind: "127.0.0.1:${port('health')}" }
members:${members === '' ? ' []' : `\n${members}`}
${healthYaml(h, 'health')}
balance: round-robin
allDown: ${options.allDown ?? 'reject'}
timeouts: { connect: ${CHAOS_CONNECT_TIMEOUT_MS}ms, shutdown: 2s }
admin: { bind: "127.0.0.1:${options.binds?.admin ?? 0}" }
dataPath: ${chaosDataPath()}
${options.coordinationYaml ?? ''}
`
}

/** CORRAL_DATA_PATH=js|native picks the LBs' data path (CI runs the suite on both); default auto. */
export function chaosDataPath(): 'auto' | 'js' | 'native' {
  const v = process.env.CORRAL_DATA_PATH
  return v === 'js' || v === 'native' ? v : 'auto'
}

/** The `health:` block of an LB (port: a listener name) or a sidecar (a port number). */
export function healthYaml(h: HealthTiming, port: string | number): string {
  return `health:
  port: ${port}
  path: /health
  interval: ${h.intervalMs}ms
  timeout: ${h.timeoutMs}ms
  rise: ${h.rise}
  fall: ${h.fall}
  jitter: ${h.jitter}`
}

/** Shared-pool timing of every chaos LB: fast heartbeats so scenarios stay short. */
export const CHAOS_COORDINATION = { heartbeatMs: 200, ttlMs: 1_000, resyncMs: 1_000 }

/** The shared-pool keys every chaos LB uses (CHAOS_COORDINATION). */
export function coordinationYaml(redisUrl: string, instanceId: string): string {
  const c = CHAOS_COORDINATION
  return `redis: { url: "${redisUrl}", prefix: chaos }
coordination: { instanceId: ${instanceId}, heartbeat: ${c.heartbeatMs}ms, ttl: ${c.ttlMs}ms, resync: ${c.resyncMs}ms }
`
}

/** Options for sidecarConfigYaml. */
export interface SidecarConfigOptions {
  readonly redisUrl: string
  /** The member as the load balancers reach it (through Toxiproxy). */
  readonly member: MemberPorts
  /** The replica's own HTTP port: the sidecar checks it locally, not through Toxiproxy. */
  readonly localHealthPort: number
  readonly health?: HealthTiming
}

/** Builds the YAML for the `corral sidecar` beside one chaos replica. */
export function sidecarConfigYaml(o: SidecarConfigOptions): string {
  const h = o.health ?? CHAOS_HEALTH
  const m = o.member
  return `# written by chaos/corral/config.ts
redis: { url: "${o.redisUrl}", prefix: chaos }
member: { id: ${m.id}, address: 127.0.0.1, ports: { http: ${m.http}, https: ${m.https}, health: ${m.health} } }
${healthYaml(h, o.localHealthPort)}
heartbeat: { interval: 200ms, ttl: 1s }
drain: { timeout: 60s, waitForConnections: true, connectionsTimeout: 10s }
`
}
