// The coordinator every member write goes through, over the pool store: Redis when
// `redis` is configured (a fleet shares the pool), else the embedded memory store (one
// instance runs the fleet's code path with a store that never fails). Its hooks into the
// app (routing, checker, data path, metrics), and self-fencing with the drain-budget
// gauges (issue #11). What is genuinely "is there a shared store" is decided here once:
// fencing, peers' facts and the coordination policy need other instances.
import { hostname } from 'node:os'
import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import type { Config } from '../config/types.js'
import { Coordinator, type CoordinationStatus } from '../coordination/coordinator.js'
import { FencingMonitor } from '../coordination/fencing-monitor.js'
import { MemoryStore, wallClock } from '../coordination/memory-store.js'
import { RedisStore } from '../coordination/redis-store.js'
import type { PoolStore } from '../coordination/store.js'
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

/** The coordinator, and what only a shared store has. */
export interface Coordination {
  readonly coordinator: Coordinator
  /** Self-fencing needs peers: undefined on the embedded store. */
  readonly fencing: FencingMonitor | undefined
  /** Whether other instances share the pool (Redis): peers' verdicts are worth showing. */
  readonly shared: boolean
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
  const cm = w.coordinationMetrics
  const shared = config.redis !== undefined
  let store: PoolStore
  if (config.redis !== undefined) {
    cm.info.reset()
    cm.info.set({ store: 'redis' }, 1)
    w.metrics.coordinationStoreUp.set(0)
    store = new RedisStore(config.redis)
  } else {
    // The store's clock stamps records and expires heartbeats, leases and observations.
    store = new MemoryStore(w.wallNow !== undefined ? { now: w.wallNow } : wallClock)
  }
  const coordinator: Coordinator = new Coordinator(
    {
      instanceId: instanceIdOf(config),
      version: w.version,
      host: hostname(),
      // Alone, this instance's own checks are the verdict and it probes every member:
      // the pool API says so rather than a policy no peer takes part in.
      coordination: shared
        ? config.coordination
        : { ...config.coordination, policy: 'local', probes: 'all' },
      seed: config.members,
      ...(shared ? {} : { sharedFacts: false }),
    },
    {
      store,
      pool: w.pool,
      clock: w.clock,
      log: coordinationLog(w.log, shared),
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
        fenced: () => fencing?.check().fenced ?? false,
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
  const fencing: FencingMonitor | undefined = shared
    ? new FencingMonitor({
        views: () => w.pool.views(),
        coordinator,
        log: w.log.child({ component: 'fencing' }),
        gauge: cm.fenced,
      })
    : undefined
  return { coordinator, fencing, shared }
}

/**
 * The coordinator's log. On the embedded store its bookkeeping ("store connected",
 * "seeded", "record removed after draining") is no news to the operator of one
 * instance: at the default level it keeps warnings and errors only.
 */
function coordinationLog(log: Logger, shared: boolean): Logger {
  const child = log.child({ component: 'coordination' })
  if (!shared && log.level === 'info') child.level = 'warn'
  return child
}

/** Sets the drain and fencing gauges at scrape time. */
export function recordDrains(
  metrics: CoordinationMetrics,
  status: CoordinationStatus,
  fencing: FencingMonitor | undefined,
  coordinator: Coordinator,
): void {
  metrics.drainLeases.reset()
  for (const d of status.drains)
    metrics.drainLeases.set({ member: d.member, holder: d.holder }, 1)
  metrics.drainBudget.set(coordinator.drainBudget())
  fencing?.check()
}
