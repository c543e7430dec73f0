// The shape every workload module exports.

import type { WorkloadId } from '../catalog.js'
import type { Env, RunContext } from '../context.js'

/** Metric id → value, for one system in one round. */
export type Metrics = Readonly<Record<string, number>>

/** A workload: runs one system once and reports its metrics. */
export interface Workload {
  readonly id: WorkloadId
  /** Most time one run may take, setup included; the harness enforces it. */
  timeoutMs(durationS: number): number
  /** Why the workload cannot run on this machine (a missing tool), or undefined. */
  unavailable(env: Env): string | undefined
  run(ctx: RunContext): Promise<Metrics>
}

/** Share of one core, in percent, for `cpuSeconds` used over `wallSeconds`. */
export function corePercent(cpuSeconds: number | undefined, wallSeconds: number): number {
  return cpuSeconds === undefined || wallSeconds <= 0
    ? NaN
    : (cpuSeconds / wallSeconds) * 100
}
