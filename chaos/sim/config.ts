// The configs the simulation's processes run: the chaos suite's LB config (default workers
// mode, its health timing) with a shared pool under the prefix `sim`, and a sidecar config
// with a short drain bound so a refused drain costs seconds, not a minute.
import { CHAOS_HEALTH, lbConfigYaml, type MemberPorts } from '../corral/config.js'

/** The shared-pool prefix of every simulated process. */
export const SIM_PREFIX = 'sim'

/** Shared-pool timing: short, so a step settles in a few seconds. */
export const SIM_COORDINATION = { heartbeatMs: 500, ttlMs: 3_000, resyncMs: 1_000 }

/** A sidecar's drain bound (ms): how long a SIGTERMed sidecar may wait for the budget. */
export const SIM_SIDECAR_DRAIN_MS = 4_000

/** The YAML of one simulated LB. */
export function simLbYaml(o: {
  readonly lb: string
  readonly redisUrl: string
  readonly members: readonly MemberPorts[]
  readonly binds?: {
    readonly listeners: Readonly<Record<string, number>>
    readonly admin: number
  }
}): string {
  const c = SIM_COORDINATION
  return lbConfigYaml({
    members: o.members,
    coordinationYaml: `redis: { url: "${o.redisUrl}", prefix: ${SIM_PREFIX} }
coordination: { instanceId: ${o.lb}, heartbeat: ${c.heartbeatMs}ms, ttl: ${c.ttlMs}ms, resync: ${c.resyncMs}ms }
`,
    ...(o.binds === undefined ? {} : { binds: o.binds }),
  })
}

/** The YAML of the `corral sidecar` beside one replica (it checks the replica's own port). */
export function simSidecarYaml(o: {
  readonly redisUrl: string
  readonly member: MemberPorts
}): string {
  const h = CHAOS_HEALTH
  const m = o.member
  return `# written by chaos/sim/config.ts
redis: { url: "${o.redisUrl}", prefix: ${SIM_PREFIX} }
member: { id: ${m.id}, address: 127.0.0.1, ports: { http: ${m.http}, https: ${m.https}, health: ${m.health} } }
health:
  port: ${m.health}
  path: /health
  interval: ${h.intervalMs}ms
  timeout: ${h.timeoutMs}ms
  rise: ${h.rise}
  fall: ${h.fall}
  jitter: ${h.jitter}
heartbeat: { interval: 200ms, ttl: 1s }
drain: { timeout: ${SIM_SIDECAR_DRAIN_MS}ms, waitForConnections: true, connectionsTimeout: 2s }
`
}
