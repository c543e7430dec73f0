// Wiring of self-fencing and the drain-budget metrics (issue #11), kept out of app.ts.
import type { Logger } from 'pino'
import type { Coordinator, CoordinationStatus } from './coordination/coordinator.js'
import { FencingMonitor } from './coordination/fencing-monitor.js'
import type { CoordinationMetrics } from './metrics/coordination.js'
import type { Pool } from './pool/pool.js'

/** The fencing monitor of a shared-pool instance; undefined without a coordinator. */
export function fencingFor(
  coordinator: Coordinator | undefined,
  pool: Pool,
  log: Logger,
  metrics: CoordinationMetrics,
): FencingMonitor | undefined {
  if (coordinator === undefined) return undefined
  return new FencingMonitor({
    views: () => pool.views(),
    coordinator,
    log: log.child({ component: 'fencing' }),
    gauge: metrics.fenced,
  })
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
