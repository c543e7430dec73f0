// The data path's metric families: whichever process relays registers them, and with
// workers the primary sums the workers' series (each worker counts its own connections).
// The names and labels are a contract: grafana/dashboards and grafana/alerts query them
// verbatim.
//
// Hot path: byte counts are added once per connection close, not per chunk; bytes of
// still-open connections are added by a collect hook once per scrape (relay-export.ts).
import { Counter, Gauge, Histogram } from 'prom-client'
import type { ConnectionOutcome } from '../proxy/stats.js'
import type { MemberLabels } from './control-plane-families.js'
import type {
  AddCollectHook,
  CounterHandle,
  GaugeHandle,
  HistogramHandle,
  Hooks,
  ScalarCounter,
} from './handles.js'

/** Which way bytes flowed through a relay: the `direction` label. */
export type ByteDirection = 'to_member' | 'to_client'

/** Upstream connect-time buckets in seconds: 0.5 ms (same rack) to 5 s (connect timeout). */
export const CONNECT_BUCKETS_SECONDS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
]

/** Client connection lifetime buckets in seconds: 10 ms (one request) to 1 h (long-lived). */
export const CONNECTION_DURATION_BUCKETS_SECONDS: readonly number[] = [
  0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600,
]

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
/** Labels of corral_access_log_dropped_total. */
export interface AccessLogDropLabels {
  /** "backlog" (the writer is behind) or "rate" (maxLinesPerSecond). */
  readonly reason: 'backlog' | 'rate'
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

/** Declares the data-path families on the Registry of `hooks`. */
export function dataPathFamilies({ on, addCollectHook }: Hooks): DataPathMetrics {
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
