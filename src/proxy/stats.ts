// Plain-number counters the data path bumps per connection (never per chunk). Metrics
// read them at scrape time (metrics are pulled, so the hot path never touches prom-client
// label hashing); worker processes ship them to the primary the same way.

/** Final outcome of one client connection, or of one failed attempt to reach a member. */
export type ConnectionOutcome =
  'ok' | 'retried' | 'connect_error' | 'failed' | 'rejected_no_member' | 'rejected_limit'

/** Every outcome, in display order. */
export const CONNECTION_OUTCOMES: readonly ConnectionOutcome[] = [
  'ok',
  'retried',
  'connect_error',
  'failed',
  'rejected_no_member',
  'rejected_limit',
]

/** Counters for one (listener, member) pair; member is "" for connections no member took. */
export interface RelayStats {
  readonly listener: string
  readonly member: string
  /** Connections open now. */
  active: number
  readonly outcomes: Record<ConnectionOutcome, number>
  /** Bytes read from clients and forwarded to the member (closed connections plus accounted open ones). */
  bytesToMember: number
  /** Bytes written to clients. */
  bytesToClient: number
}

/** Creates a zeroed stats record. Kept monomorphic: every record has the same shape. */
export function newRelayStats(listener: string, member: string): RelayStats {
  return {
    listener,
    member,
    active: 0,
    outcomes: {
      ok: 0,
      retried: 0,
      connect_error: 0,
      failed: 0,
      rejected_no_member: 0,
      rejected_limit: 0,
    },
    bytesToMember: 0,
    bytesToClient: 0,
  }
}

/** Adds `from` into `into` (used by the primary to sum workers' stats). */
export function addRelayStats(into: RelayStats, from: RelayStats): void {
  into.active += from.active
  for (const o of CONNECTION_OUTCOMES) into.outcomes[o] += from.outcomes[o]
  into.bytesToMember += from.bytesToMember
  into.bytesToClient += from.bytesToClient
}
