// Groups a run's samples into per-(workload, metric, system) summaries. Pure.

import type { SystemName, WorkloadId } from './catalog.js'
import type { Sample } from './results.js'
import { summarize, type Summary } from './stats.js'
import type { MedianLookup } from './targets.js'

/** Summaries of a run, looked up by workload, metric and system. */
export interface Summaries {
  get(workload: WorkloadId, metric: string, system: SystemName): Summary | undefined
  /** Median lookup in the shape targets.judge() takes. */
  readonly median: MedianLookup
}

function key(workload: WorkloadId, metric: string, system: SystemName): string {
  return `${workload}\u0000${metric}\u0000${system}`
}

/** Summarises every (workload, metric, system) group of samples over its rounds. */
export function summarizeSamples(samples: readonly Sample[]): Summaries {
  const groups = new Map<string, number[]>()
  for (const s of samples) {
    const k = key(s.workload, s.metric, s.system)
    const list = groups.get(k)
    if (list === undefined) groups.set(k, [s.value])
    else list.push(s.value)
  }
  const summaries = new Map<string, Summary>()
  for (const [k, values] of groups) {
    const summary = summarize(values)
    if (summary !== undefined) summaries.set(k, summary)
  }
  const get = (workload: WorkloadId, metric: string, system: SystemName) =>
    summaries.get(key(workload, metric, system))
  return {
    get,
    median: (workload, metric, system) => get(workload, metric, system)?.median,
  }
}
