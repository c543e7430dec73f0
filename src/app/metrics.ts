// Metrics at scrape time: the pool gauges refreshed from the pool, the coordination
// gauges from the coordinator, data-path counters moved into prom-client, and the
// exposition with the worker processes' own metrics merged in (metrics/merge.ts).
import type { Registry } from 'prom-client'
import type { Clock } from '../clock.js'
import type { Coordinator } from '../coordination/coordinator.js'
import type { FencingMonitor } from '../coordination/fencing-monitor.js'
import { recordStoreFault, type CoordinationMetrics } from '../metrics/coordination.js'
import { mergeProcessMetrics } from '../metrics/merge.js'
import { recordPool } from '../metrics/control-plane-families.js'
import type { Metrics } from '../metrics/registry.js'
import type { RelayStatsExporter } from '../metrics/relay-export.js'
import type { Pool } from '../pool/pool.js'
import type { MemberState } from '../pool/types.js'
import type { DataPath } from '../proxy/data-path.js'
import { recordDrains } from './coordination.js'
import type { Discovery } from './discovery.js'

/** Everything a scrape reads. */
export interface ScrapeSources {
  readonly pool: Pool
  readonly clock: Clock
  readonly metrics: Metrics
  readonly coordinationMetrics: CoordinationMetrics
  readonly coordinator: Coordinator
  readonly fencing: FencingMonitor | undefined
  readonly relayExporter: RelayStatsExporter
  readonly dataPath: DataPath
  readonly discovery: Discovery
}

/** Refreshes gauges and moves data-path counters into prom-client (a collect hook). */
export function collectMetrics(s: ScrapeSources): void {
  const now = s.clock.now()
  const counts: Record<MemberState, number> = {
    up: 0,
    down: 0,
    draining: 0,
    disabled: 0,
  }
  let live = 0
  for (const v of s.pool.views()) {
    counts[v.state]++
    if (v.health === 'up') live++
    s.metrics.memberDownSeconds.set(
      { member: v.id },
      v.state === 'up' ? 0 : Math.max(0, (now - v.stateSince) / 1000),
    )
  }
  recordPool(s.metrics, counts, live)
  const cm = s.coordinationMetrics
  const status = s.coordinator.status()
  cm.instances.set(status.instances.length)
  recordStoreFault(cm, status.fault)
  recordDrains(cm, status, s.fencing, s.coordinator)
  cm.probedMembers.set(status.probing)
  s.relayExporter.export(s.dataPath.stats())
  s.discovery.collect()
}

/** The exposition: this process's registry, plus the workers' merged in. */
export async function metricsText(
  register: Registry,
  dataPath: DataPath,
): Promise<{ contentType: string; body: string }> {
  const contentType = register.contentType
  const workers = (await dataPath.workerMetrics?.()) ?? []
  if (workers.length === 0) return { contentType, body: await register.metrics() }
  const own = await register.getMetricsAsJSON()
  const merged = mergeProcessMetrics(own, workers)
  return { contentType, body: await merged.metrics() }
}
