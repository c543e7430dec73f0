// Every corral metric, declared once on an injected prom-client Registry (never the
// global default), the way Envoy lists a component's stats in one macro: the families
// are in control-plane-families.ts and data-path-families.ts, their handle types in
// handles.ts; this file puts them on a Registry with Node's default metrics. The names
// and labels are a contract: grafana/dashboards and grafana/alerts query them verbatim.
//
// Hot path: handles are plain prom-client objects typed down to their label sets, and
// byte counts are added once per connection close, not per chunk. Values that are cheap
// to compute only on demand (down time, pool gauges, bytes of still-open connections)
// are refreshed by collect hooks that run once per scrape.

import { collectDefaultMetrics } from 'prom-client'
import type { Registry } from 'prom-client'
import {
  controlPlaneFamilies,
  type ControlPlaneMetrics,
  type MetricsOptions,
} from './control-plane-families.js'
import { dataPathFamilies, type DataPathMetrics } from './data-path-families.js'
import type { CollectHook, Hooks } from './handles.js'
import { MEMBER_STATES } from '../pool/types.js'

/** Handles for every corral metric, all on one Registry (a single process, or the primary). */
export type Metrics = ControlPlaneMetrics & DataPathMetrics

/** The label a worker puts on its Node default metrics: its slot, "1" to "N". */
export const WORKER_LABEL = 'worker'

function collectHooks(register: Registry): Hooks {
  const hooks = new Set<CollectHook>()
  let ranThisScrape = false
  // prom-client reads a scrape by calling every metric's collect() synchronously, in one
  // loop, before the first await (Registry.metrics and getMetricsAsJSON). Giving each
  // corral metric the same collect and resetting the flag in a microtask runs the hooks
  // exactly once per scrape, whichever metric is read first. A throwing hook fails the
  // scrape: that is a bug in the hook and should be loud.
  const collect = (): void => {
    if (ranThisScrape) return
    ranThisScrape = true
    queueMicrotask(() => {
      ranThisScrape = false
    })
    for (const hook of hooks) hook()
  }
  return {
    on: { registers: [register], collect },
    addCollectHook: hook => {
      hooks.add(hook)
      return () => hooks.delete(hook)
    },
  }
}

/**
 * Declares every corral metric on `register` plus Node's default process metrics
 * (unprefixed, so stock Node.js dashboards work); call once per Registry. This is the
 * registry of a single process (`workers: 0`) and of the primary with workers, where the
 * data-path families stay empty and the workers' series are merged in (merge.ts).
 */
export function createMetrics(register: Registry, options: MetricsOptions = {}): Metrics {
  const hooks = collectHooks(register)
  const metrics: Metrics = {
    ...controlPlaneFamilies(hooks, options),
    ...dataPathFamilies(hooks),
  }
  collectDefaultMetrics({ register })
  return metrics
}

/**
 * Declares a data-path worker's metrics on `register`: the data-path families only, plus
 * Node's default metrics labelled `worker="<worker>"` so the primary can show each
 * process's CPU, memory and event loop beside its own instead of summing them.
 */
export function createWorkerMetrics(register: Registry, worker: string): DataPathMetrics {
  const metrics = dataPathFamilies(collectHooks(register))
  collectDefaultMetrics({ register, labels: { [WORKER_LABEL]: worker } })
  return metrics
}

/** Drops a removed member's gauges and histograms so no stale state lingers; counters stay. */
export function forgetMember(metrics: Metrics, member: string): void {
  for (const state of MEMBER_STATES) metrics.memberState.remove({ member, state })
  metrics.memberUp.remove({ member })
  metrics.memberDownSeconds.remove({ member })
  metrics.healthCheckDuration.remove({ member })
  metrics.connectDuration.remove({ member })
}
