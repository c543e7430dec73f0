// Runs `corral sidecar` as a child process beside a test replica (see corral-process.ts).
import { startCorral, type CorralProcess } from './corral-process.js'

/** Options of startSidecar. */
export interface SidecarProcessOptions {
  readonly redisUrl: string
  readonly prefix?: string
  readonly member: { readonly id: string; readonly port: number }
  /** The `health:` mapping; default a fast check of the member's http port. */
  readonly health?: string
  /** The `drain:` mapping. */
  readonly drain?: string
  readonly heartbeat?: string
}

/** A fast check for tests: 300 ms interval, rise 1, fall 2. */
export const SIDECAR_HEALTH =
  '{ port: http, interval: 300ms, timeout: 1s, rise: 1, fall: 2, jitter: 0 }'

/** Starts a sidecar and resolves once it logged "sidecar started". */
export function startSidecar(
  dir: string,
  o: SidecarProcessOptions,
  args: readonly string[] = [],
): Promise<CorralProcess> {
  const yaml = `redis: { url: "${o.redisUrl}", prefix: "${o.prefix ?? 'test'}" }
member: { id: ${o.member.id}, address: 127.0.0.1, ports: { http: ${o.member.port} } }
health: ${o.health ?? SIDECAR_HEALTH}
heartbeat: ${o.heartbeat ?? '{ interval: 200ms, ttl: 1s }'}
drain: ${o.drain ?? '{ timeout: 20s, waitForConnections: true, connectionsTimeout: 10s }'}
`
  return startCorral(dir, yaml, {
    command: 'sidecar',
    readyMsg: 'sidecar started',
    configName: `sidecar-${o.member.id}.yaml`,
    readyTimeoutMs: 30_000,
    args,
  })
}
