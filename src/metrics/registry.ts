// Every corral metric, declared once on an injected prom-client Registry (never the
// global default), the way Envoy lists a component's stats in one macro. The names and
// labels are a contract: grafana/dashboards and grafana/alerts query them verbatim.
//
// Hot path: handles are plain prom-client objects typed down to their label sets, and
// byte counts are added once per connection close, not per chunk. Values that are cheap
// to compute only on demand (down time, pool gauges, bytes of still-open connections)
// are refreshed by collect hooks that run once per scrape.

import type { ConnectionOutcome } from '../proxy/stats.js'
import { Counter, Gauge, Histogram, collectDefaultMetrics } from 'prom-client'
import type { Registry } from 'prom-client'
import { MEMBER_STATES } from '../pool/types.js'
import type { MemberState } from '../pool/types.js'
import { quorumStatus } from './quorum.js'

/** How one health check ended: a closed set, the `result` label. */
export type HealthCheckResult = 'success' | 'failure' | 'timeout' | 'error'

/** How one client connection ended up: the `outcome` label of corral_connections_total. */
export type { ConnectionOutcome } from '../proxy/stats.js'

/** Which way bytes flowed through a relay: the `direction` label. */
export type ByteDirection = 'to_member' | 'to_client'

/** Whether a config reload was applied: the `result` label. */
export type ReloadResult = 'success' | 'failure'

/** Health-check latency buckets in seconds: 1 ms to 5 s (a probe timeout is seconds). */
export const HEALTH_CHECK_BUCKETS_SECONDS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
]

/** Upstream connect-time buckets in seconds: 0.5 ms (same rack) to 5 s (connect timeout). */
export const CONNECT_BUCKETS_SECONDS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
]

/** Client connection lifetime buckets in seconds: 10 ms (one request) to 1 h (long-lived). */
export const CONNECTION_DURATION_BUCKETS_SECONDS: readonly number[] = [
  0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600,
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
/** Labels of per-listener series. */
export interface ListenerLabels {
  readonly listener: string
}
/** Labels of corral_connections_active. */
export interface ConnectionLabels extends ListenerLabels, MemberLabels {}
/** Labels of corral_connections_total; `member` is "" when no member was picked. */
export interface ConnectionOutcomeLabels extends ConnectionLabels {
  readonly outcome: ConnectionOutcome
}
/** Labels of corral_bytes_total. */
export interface BytesLabels extends ConnectionLabels {
  readonly direction: ByteDirection
}
/** Labels of corral_pool_members. */
export interface AccessLogDropLabels {
  /** "backlog" (the writer is behind) or "rate" (maxLinesPerSecond). */
  readonly reason: 'backlog' | 'rate'
}

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

/** A prom-client counter narrowed to one label set, so typos fail to compile. */
export interface CounterHandle<L> {
  inc(labels: L, value?: number): void
  remove(labels: L): void
}
/** A prom-client counter without labels. */
export interface ScalarCounter {
  inc(value?: number): void
}
/** A prom-client gauge narrowed to one label set. */
export interface GaugeHandle<L> {
  set(labels: L, value: number): void
  inc(labels: L, value?: number): void
  dec(labels: L, value?: number): void
  remove(labels: L): void
}
/** A prom-client histogram narrowed to one label set; values are seconds. */
export interface HistogramHandle<L> {
  observe(labels: L, seconds: number): void
  remove(labels: L): void
}
/** A gauge without labels. */
export interface ScalarGauge {
  set(value: number): void
}

/** Runs at scrape time, before any corral metric is read; synchronous and cheap. */
export type CollectHook = () => void

/** Options for createMetrics. */
export interface MetricsOptions {
  /** corral's version for corral_build_info; no build_info series when absent. */
  readonly version?: string
}

/** Runs `hook` once per scrape before values are read; returns a function removing it. */
export type AddCollectHook = (hook: CollectHook) => () => void

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

/**
 * The data path's families: whichever process relays registers them, and with workers
 * the primary sums the workers' series (each worker counts its own connections).
 */
export interface DataPathMetrics {
  /** corral_connections_active: relays open now. */
  readonly connectionsActive: GaugeHandle<ConnectionLabels>
  /** corral_connections_total: client connections by outcome. */
  readonly connections: CounterHandle<ConnectionOutcomeLabels>
  /** corral_connection_duration_seconds: client connection lifetime, observed at close. */
  readonly connectionDuration: HistogramHandle<ListenerLabels>
  /** corral_connect_duration_seconds: time to establish the member leg. */
  readonly connectDuration: HistogramHandle<MemberLabels>
  /** corral_bytes_total: add a relay's bytes at close, and open relays' deltas in a hook. */
  readonly bytes: CounterHandle<BytesLabels>
  /** corral_access_log_lines_total: access-log lines queued for writing. */
  readonly accessLogLines: ScalarCounter
  /** corral_access_log_dropped_total: lines meant to be written but dropped, by reason. */
  readonly accessLogDropped: CounterHandle<AccessLogDropLabels>
  /** Runs `hook` once per scrape before values are read; returns a function removing it. */
  readonly addCollectHook: AddCollectHook
}

/** Handles for every corral metric, all on one Registry (a single process, or the primary). */
export type Metrics = ControlPlaneMetrics & DataPathMetrics

/** Names of the data-path families: the only corral_* families a worker exports. */
export const DATA_PATH_FAMILIES: ReadonlySet<string> = new Set([
  'corral_connections_active',
  'corral_connections_total',
  'corral_connection_duration_seconds',
  'corral_connect_duration_seconds',
  'corral_bytes_total',
  'corral_access_log_lines_total',
  'corral_access_log_dropped_total',
])

/** The label a worker puts on its Node default metrics: its slot, "1" to "N". */
export const WORKER_LABEL = 'worker'

interface Hooks {
  readonly on: { readonly registers: Registry[]; readonly collect: () => void }
  readonly addCollectHook: AddCollectHook
}

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

function controlPlaneFamilies(
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

function dataPathFamilies({ on, addCollectHook }: Hooks): DataPathMetrics {
  return {
    connectionsActive: new Gauge({
      name: 'corral_connections_active',
      help: 'Client connections currently relayed, by listener and member.',
      labelNames: ['listener', 'member'] as const,
      ...on,
    }),
    connections: new Counter({
      name: 'corral_connections_total',
      help: 'Client connections by outcome; member is empty when none was picked.',
      labelNames: ['listener', 'member', 'outcome'] as const,
      ...on,
    }),
    connectionDuration: new Histogram({
      name: 'corral_connection_duration_seconds',
      help: 'Lifetime of a client connection, from accept to close, in seconds.',
      labelNames: ['listener'] as const,
      buckets: [...CONNECTION_DURATION_BUCKETS_SECONDS],
      ...on,
    }),
    connectDuration: new Histogram({
      name: 'corral_connect_duration_seconds',
      help: 'Time to establish the connection to the member, in seconds.',
      labelNames: ['member'] as const,
      buckets: [...CONNECT_BUCKETS_SECONDS],
      ...on,
    }),
    bytes: new Counter({
      name: 'corral_bytes_total',
      help: 'Bytes relayed, by direction (to_member, to_client).',
      labelNames: ['listener', 'member', 'direction'] as const,
      ...on,
    }),
    accessLogLines: new Counter({
      name: 'corral_access_log_lines_total',
      help: 'Access-log lines queued for writing (docs/access-log.md).',
      ...on,
    }),
    accessLogDropped: zeroed(
      new Counter({
        name: 'corral_access_log_dropped_total',
        help: 'Access-log lines dropped instead of slowing the data path: backlog (writer behind), rate (maxLinesPerSecond).',
        labelNames: ['reason'] as const,
        ...on,
      }),
    ),
    addCollectHook,
  }
}

/** The drop counter with both reasons at 0, so a dashboard's rate() has a series to start from. */
function zeroed<C extends CounterHandle<AccessLogDropLabels>>(counter: C): C {
  counter.inc({ reason: 'backlog' }, 0)
  counter.inc({ reason: 'rate' }, 0)
  return counter
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

/** Drops a removed member's gauges and histograms so no stale state lingers; counters stay. */
export function forgetMember(metrics: Metrics, member: string): void {
  for (const state of MEMBER_STATES) metrics.memberState.remove({ member, state })
  metrics.memberUp.remove({ member })
  metrics.memberDownSeconds.remove({ member })
  metrics.healthCheckDuration.remove({ member })
  metrics.connectDuration.remove({ member })
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
