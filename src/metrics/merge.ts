// Merges the primary's registry with its workers' into the one /metrics exposition.
// Each family has one merge rule, decided where it is declared
// (control-plane-families.ts, data-path-families.ts):
//
// 1. Control-plane families (pool, members, checks, reloads, store, build): the primary's
//    value only. Workers do not register them; a worker family named corral_* that is not
//    a data-path family is dropped here too, so a stray copy can never be summed in.
// 2. Data-path families (connections, bytes, connect/connection histograms): summed
//    series by series (histogram buckets included) over every process that relays.
// 3. Node default metrics (process_*, nodejs_*): per process, never summed. The primary's
//    keep their plain names and labels, as with `workers: 0`; each worker's carry
//    worker="<slot>", so every series is unique and passes through unchanged.
//
// prom-client's per-family aggregators do not fit rule 3 ('omit' drops
// process_start_time_seconds of every process, the primary's too), so every family is
// merged with 'sum', which leaves a series that only one process exports as it is.
import { AggregatorRegistry } from 'prom-client'
import type { MetricObjectWithValues, MetricValue, Registry } from 'prom-client'
import { DATA_PATH_FAMILIES } from './data-path-families.js'
import { WORKER_LABEL } from './registry.js'

/** One process's metrics, as Registry.getMetricsAsJSON returns them. */
export type ProcessMetrics = readonly MetricObjectWithValues<MetricValue<string>>[]

/** Whether a worker family belongs in the merged exposition (see the file comment). */
function fromWorker(family: MetricObjectWithValues<MetricValue<string>>): boolean {
  if (DATA_PATH_FAMILIES.has(family.name)) return true
  if (family.name.startsWith('corral_')) return false
  return family.values.every(v => WORKER_LABEL in v.labels)
}

/** A registry holding the primary's metrics with every worker's merged in. */
export function mergeProcessMetrics(
  primary: ProcessMetrics,
  workers: readonly ProcessMetrics[],
): Registry {
  const all = [primary, ...workers.map(w => w.filter(fromWorker))]
  return AggregatorRegistry.aggregate(
    all.map(families => families.map(f => ({ ...f, aggregator: 'sum' as const }))),
  )
}
