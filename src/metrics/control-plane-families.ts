// The control plane's metric families: the pool, its members, checks, reloads, the store
// and the build, and the functions that set them from pool state. One control plane
// (the primary process) registers them; a worker never does (issue #9). The names and
// labels are a contract: grafana/dashboards and grafana/alerts query them verbatim.
import { Counter, Gauge, Histogram } from 'prom-client'
import { MEMBER_STATES } from '../pool/types.js'
import type { MemberState } from '../pool/types.js'
import type {
  AddCollectHook,
  CounterHandle,
  GaugeHandle,
  HistogramHandle,
  Hooks,
  ScalarGauge,
} from './handles.js'
import { quorumStatus } from '../pool/quorum.js'

/** How one health check ended: a closed set, the `result` label. */
export type HealthCheckResult = 'success' | 'failure' | 'timeout' | 'error'

/** Whether a config reload was applied: the `result` label. */
export type ReloadResult = 'success' | 'failure'

/** Health-check latency buckets in seconds: 1 ms to 5 s (a probe timeout is seconds). */
export const HEALTH_CHECK_BUCKETS_SECONDS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
]

/** Labels of per-member series. */
export interface MemberLabels {
  readonly member: string
}
/** Labels of corral_member_state. */
export interface MemberStateLabels extends MemberLabels {
  readonly state: MemberState
}
/** Labels of corral_member_health_checks_total. */
export interface HealthCheckLabels extends MemberLabels {
  readonly result: HealthCheckResult
}
/** Labels of corral_member_transitions_total; joining or leaving the pool is not a transition. */
export interface TransitionLabels extends MemberLabels {
  readonly from: MemberState
  readonly to: MemberState
}
/** Labels of corral_pool_members. */
export interface PoolStateLabels {
  readonly state: MemberState
}
/** Labels of corral_build_info. */
export interface BuildInfoLabels {
  readonly version: string
}
/** Labels of corral_data_path_info. */
export interface DataPathLabels {
  readonly path: 'native' | 'js'
}
/** Labels of corral_config_reloads_total. */
export interface ReloadLabels {
  readonly result: ReloadResult
}

/** Options for createMetrics. */
export interface MetricsOptions {
  /** corral's version for corral_build_info; no build_info series when absent. */
  readonly version?: string
}

/**
 * The control plane's families: the pool, its members, checks, reloads, the store and
 * the build. There is one control plane (the primary process), so they are registered
 * only there; a worker's copy would be summed into the primary's (issue #9).
 */
export interface ControlPlaneMetrics {
  /** corral_member_up: 1 while the member takes new connections (state up), else 0. */
  readonly memberUp: GaugeHandle<MemberLabels>
  /** corral_member_state: 1 for the member's current state, 0 for the others. */
  readonly memberState: GaugeHandle<MemberStateLabels>
  /** corral_member_health_check_duration_seconds: one observation per probe. */
  readonly healthCheckDuration: HistogramHandle<MemberLabels>
  /** corral_member_health_checks_total: probes by result. */
  readonly healthChecks: CounterHandle<HealthCheckLabels>
  /** corral_member_transitions_total: visible-state changes. */
  readonly transitions: CounterHandle<TransitionLabels>
  /** corral_member_down_seconds: seconds since the member left up, 0 while up. */
  readonly memberDownSeconds: GaugeHandle<MemberLabels>
  /** corral_pool_members: members per visible state. */
  readonly poolMembers: GaugeHandle<PoolStateLabels>
  /** corral_pool_size: members in the pool, whatever their state. */
  readonly poolSize: ScalarGauge
  /** corral_pool_members_live: members passing their checks, whatever their admin state. */
  readonly poolLive: ScalarGauge
  /** corral_pool_members_routable: members taking new connections (state up). */
  readonly poolRoutable: ScalarGauge
  /** corral_pool_failures_tolerated: see quorum.ts failuresTolerated (live-based, >= 0). */
  readonly poolFailuresTolerated: ScalarGauge
  /** corral_pool_quorum_shortfall: live members missing for quorum, 0 while it holds. */
  readonly poolQuorumShortfall: ScalarGauge
  /** corral_pool_quorum: 1 while a strict majority of the pool is live. */
  readonly poolQuorum: ScalarGauge
  /** corral_coordination_store_up: 1 while the pool store answers (always 1 in memory). */
  readonly coordinationStoreUp: ScalarGauge
  /** corral_build_info: 1, labelled with the running version. */
  readonly buildInfo: GaugeHandle<BuildInfoLabels>
  /** corral_data_path_info: 1 for the data path that moves relayed bytes. */
  readonly dataPathInfo: GaugeHandle<DataPathLabels>
  /** corral_config_reloads_total: reload attempts by result. */
  readonly configReloads: CounterHandle<ReloadLabels>
  /** Runs `hook` once per scrape before values are read; returns a function removing it. */
  readonly addCollectHook: AddCollectHook
}

/** Declares the control-plane families on the Registry of `hooks`. */
export function controlPlaneFamilies(
  { on, addCollectHook }: Hooks,
  options: MetricsOptions,
): ControlPlaneMetrics {
  const metrics: ControlPlaneMetrics = {
    memberUp: new Gauge({
      name: 'corral_member_up',
      help: '1 when the member takes new connections (state up), else 0.',
      labelNames: ['member'] as const,
      ...on,
    }),
    memberState: new Gauge({
      name: 'corral_member_state',
      help: "1 for the member's current state (up, down, draining, disabled), 0 for the others.",
      labelNames: ['member', 'state'] as const,
      ...on,
    }),
    healthCheckDuration: new Histogram({
      name: 'corral_member_health_check_duration_seconds',
      help: 'Duration of one health-check probe, in seconds.',
      labelNames: ['member'] as const,
      buckets: [...HEALTH_CHECK_BUCKETS_SECONDS],
      ...on,
    }),
    healthChecks: new Counter({
      name: 'corral_member_health_checks_total',
      help: 'Health-check probes by result (success, failure, timeout, error).',
      labelNames: ['member', 'result'] as const,
      ...on,
    }),
    transitions: new Counter({
      name: 'corral_member_transitions_total',
      help: 'Member state changes, by previous and new state.',
      labelNames: ['member', 'from', 'to'] as const,
      ...on,
    }),
    memberDownSeconds: new Gauge({
      name: 'corral_member_down_seconds',
      help: 'Seconds since the member left state up; 0 while it is up.',
      labelNames: ['member'] as const,
      ...on,
    }),
    poolMembers: new Gauge({
      name: 'corral_pool_members',
      help: 'Members of the pool in each state.',
      labelNames: ['state'] as const,
      ...on,
    }),
    poolSize: new Gauge({
      name: 'corral_pool_size',
      help: 'Members in the pool, whatever their state.',
      ...on,
    }),
    poolLive: new Gauge({
      name: 'corral_pool_members_live',
      help: 'Members passing their health checks, whatever their admin state (draining and disabled included).',
      ...on,
    }),
    poolRoutable: new Gauge({
      name: 'corral_pool_members_routable',
      help: 'Members taking new connections (state up).',
      ...on,
    }),
    poolFailuresTolerated: new Gauge({
      name: 'corral_pool_failures_tolerated',
      help: 'More live members that may fail before the pool loses its majority; 0 when none, or when already lost.',
      ...on,
    }),
    poolQuorumShortfall: new Gauge({
      name: 'corral_pool_quorum_shortfall',
      help: 'Live members missing for a majority of the pool; 0 while quorum holds.',
      ...on,
    }),
    poolQuorum: new Gauge({
      name: 'corral_pool_quorum',
      help: '1 while a strict majority of the pool is live (passing health checks), else 0.',
      ...on,
    }),
    coordinationStoreUp: new Gauge({
      name: 'corral_coordination_store_up',
      help: '1 when the pool store is reachable (always 1 for the in-memory store).',
      ...on,
    }),
    buildInfo: new Gauge({
      name: 'corral_build_info',
      help: 'Always 1; the version label says which corral is running.',
      labelNames: ['version'] as const,
      ...on,
    }),
    dataPathInfo: new Gauge({
      name: 'corral_data_path_info',
      help: 'Always 1; the path label says who moves relayed bytes (native splice thread or js).',
      labelNames: ['path'] as const,
      ...on,
    }),
    configReloads: new Counter({
      name: 'corral_config_reloads_total',
      help: 'Config reload attempts by result (success, failure).',
      labelNames: ['result'] as const,
      ...on,
    }),
    addCollectHook,
  }
  // Known label values start at 0 so rate() and increase() see the first event.
  for (const result of ['success', 'failure'] as const)
    metrics.configReloads.inc({ result }, 0)
  recordPool(metrics, { up: 0, down: 0, draining: 0, disabled: 0 }, 0)
  if (options.version !== undefined)
    metrics.buildInfo.set({ version: options.version }, 1)
  return metrics
}

/** Sets corral_member_state (1 for `state`, 0 for the rest) and corral_member_up together. */
export function recordMemberState(
  metrics: ControlPlaneMetrics,
  member: string,
  state: MemberState,
): void {
  for (const s of MEMBER_STATES)
    metrics.memberState.set({ member, state: s }, s === state ? 1 : 0)
  // Same rule as pool/member-state.ts isRoutable: only `up` takes new connections.
  metrics.memberUp.set({ member }, state === 'up' ? 1 : 0)
}

/**
 * Sets every corral_pool_* gauge from the number of members in each visible state and
 * the number of live members (effective verdict up, whatever the admin state). Routable
 * is the `up` state count: only `up` takes new connections.
 */
export function recordPool(
  metrics: ControlPlaneMetrics,
  counts: Readonly<Record<MemberState, number>>,
  live: number,
): void {
  let size = 0
  for (const state of MEMBER_STATES) {
    metrics.poolMembers.set({ state }, counts[state])
    size += counts[state]
  }
  const q = quorumStatus({ size, live, routable: counts.up })
  metrics.poolSize.set(size)
  metrics.poolLive.set(q.live)
  metrics.poolRoutable.set(q.routable)
  metrics.poolFailuresTolerated.set(q.failuresTolerated)
  metrics.poolQuorumShortfall.set(q.quorumShortfall)
  metrics.poolQuorum.set(q.quorum ? 1 : 0)
}
