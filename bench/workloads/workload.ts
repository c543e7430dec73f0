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

/**
 * Proxy CPU seconds and minor page faults per GB (10^9 bytes) relayed: stable across runs
 * when throughput is not (a slow round costs more per byte, and shows it).
 */
export function perGigabyte(
  bytes: number,
  cpuSeconds: number | undefined,
  minorFaults: number | undefined,
): { cpuSPerGB: number; faultsPerGB: number } {
  const gb = bytes / 1e9
  const per = (x: number | undefined) => (x === undefined || gb <= 0 ? NaN : x / gb)
  return { cpuSPerGB: per(cpuSeconds), faultsPerGB: per(minorFaults) }
}
