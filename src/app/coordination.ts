// The coordinator that shares this instance's pool through the store, its hooks into the
// app (routing, checker, data path, metrics), and self-fencing with the drain-budget
// gauges (issue #11).
import { hostname } from 'node:os'
import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import type { Config } from '../config/load.js'
import { Coordinator, type CoordinationStatus } from '../coordination/coordinator.js'
import { FencingMonitor } from '../coordination/fencing-monitor.js'
import { RedisStore } from '../coordination/redis-store.js'
import type { ProbeKind } from '../health/checker.js'
import type { CoordinationMetrics } from '../metrics/coordination.js'
import type { Metrics } from '../metrics/registry.js'
import type { Pool } from '../pool/pool.js'

/** What the coordinator is wired to. */
export interface CoordinationWiring {
  readonly version: string
  readonly pool: Pool
  readonly clock: Clock
  readonly log: Logger
  readonly wallNow?: () => number
  readonly metrics: Metrics
  readonly coordinationMetrics: CoordinationMetrics
  /** Membership or shared verdicts changed (Routing.membershipChanged). */
  poolChanged(): void
  /** Which probe the checker runs for a member. */
  setProbeKind(member: string, kind: ProbeKind): void
  /** Open connections per member on this instance (all processes). */
  load(member: string): number
}

/** The coordinator and the fencing monitor; both undefined when the pool lives in memory. */
export interface Coordination {
  readonly coordinator: Coordinator | undefined
  readonly fencing: FencingMonitor | undefined
}

/** This instance's id in a shared pool: configured, or hostname-pid. */
export function instanceIdOf(config: Config): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9._:-]/g, '-')
      .slice(0, 40) || 'corral'
  return config.coordination.instanceId ?? `${host}-${process.pid}`
}

/** See the file comment. Nothing connects until `coordinator.start()`. */
export function createCoordination(config: Config, w: CoordinationWiring): Coordination {
  if (config.redis === undefined) return { coordinator: undefined, fencing: undefined }
  const cm = w.coordinationMetrics
  cm.info.reset()
  cm.info.set({ store: 'redis' }, 1)
  w.metrics.coordinationStoreUp.set(0)
  const coordinator: Coordinator = new Coordinator(
    {
      instanceId: instanceIdOf(config),
      version: w.version,
      host: hostname(),
      coordination: config.coordination,
      seed: config.members,
    },
    {
      store: new RedisStore(config.redis),
      pool: w.pool,
      clock: w.clock,
      log: w.log.child({ component: 'coordination' }),
      ...(w.wallNow !== undefined ? { wallNow: w.wallNow } : {}),
      hooks: {
        poolChanged: () => {
          w.poolChanged()
        },
        setProbeKind: (member, kind) => {
          w.setProbeKind(member, kind)
        },
        load: member => w.load(member),
        // Called from heartbeats, after `fencing` below exists.
        fenced: () => fencing.check().fenced,
        invalid: entry => {
          cm.invalidEntries.inc({ kind: entry.kind })
        },
        repaired: (kind, count) => {
          cm.repairs.inc({ kind }, count)
        },
        storeStatus: connected => {
          w.metrics.coordinationStoreUp.set(connected ? 1 : 0)
        },
        synced: ok => {
          cm.syncs.inc({ result: ok ? 'success' : 'failure' })
        },
      },
    },
  )
  const fencing: FencingMonitor = new FencingMonitor({
    views: () => w.pool.views(),
    coordinator,
    log: w.log.child({ component: 'fencing' }),
    gauge: cm.fenced,
  })
  return { coordinator, fencing }
}

/** Sets the drain and fencing gauges at scrape time. */
export function recordDrains(
  metrics: CoordinationMetrics,
  status: CoordinationStatus | undefined,
  fencing: FencingMonitor | undefined,
  coordinator: Coordinator | undefined,
): void {
  metrics.drainLeases.reset()
  for (const d of status?.drains ?? [])
    metrics.drainLeases.set({ member: d.member, holder: d.holder }, 1)
  metrics.drainBudget.set(coordinator?.drainBudget() ?? 0)
  fencing?.check()
}
