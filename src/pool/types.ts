// Plain data shared by the pool, the health checker, the data path and the admin API.
// PURE: no I/O here (STYLE.md §1).
import type { ProxyProtocolVersion } from '../config/proxy-protocol-schema.js'

/** Health verdict from checks, with rise/fall hysteresis. */
export type Health = 'up' | 'down'

/** The operator's intent for a member, independent of its health (HAProxy ready/drain/maint). */
export type AdminState = 'enabled' | 'draining' | 'disabled'

/** The state users see, derived by `visibleState` from health and admin state; never stored. */
export type MemberState = 'up' | 'down' | 'draining' | 'disabled'

/** Every visible state, in display order (metrics emit one series per state). */
export const MEMBER_STATES: readonly MemberState[] = [
  'up',
  'down',
  'draining',
  'disabled',
]

/** Why a check (or a client connection attempt) to a member failed: a closed set. */
export type FailureReason =
  | 'refused' // TCP connection refused
  | 'timeout' // no answer within the timeout
  | 'reset' // connection reset / closed before a full answer
  | 'tls' // TLS handshake or certificate failure
  | 'bad-status' // HTTP status outside the expected set
  | 'dns' // address did not resolve
  | 'error' // anything else (detail says what)
  | 'passive-connect' // a client connection could not reach the member

/** The outcome of one probe, or of one passive observation. */
export type CheckResult =
  | { readonly ok: true; readonly latencyMs: number; readonly status?: number }
  | {
      readonly ok: false
      readonly reason: FailureReason
      /** Human-readable detail, e.g. "connect ECONNREFUSED 10.0.0.11:443" or "status 503". */
      readonly detail: string
      readonly latencyMs?: number
      readonly status?: number
    }

/** A check result with the monotonic time (ms) it was observed at. */
export interface CheckRecord {
  readonly at: number
  readonly result: CheckResult
}

/**
 * Who put a member in the pool: the config file, the admin API, a sidecar, or the DNS
 * discovery source of that name (src/discovery/). Discovery only ever changes its own.
 */
export type MemberSource = 'config' | 'api' | 'sidecar' | `dns:${string}`

/** A member's address and ports: where its replica listens. */
export interface MemberEndpoint {
  readonly id: string
  readonly address: string
  /** Per-listener port overrides, by listener name; absent = the listener's port. */
  readonly ports: Readonly<Record<string, number>>
  /** Relative share of new connections (1-256). */
  readonly weight: number
  /** Who added it; absent on records written before sources existed (see memberSource). */
  readonly source?: MemberSource
  /** Its own PROXY protocol setting; absent = the pool default (config `proxyProtocol`). */
  readonly proxyProtocol?: ProxyProtocolVersion
}

/**
 * One member as the pool publishes it: serializable (it crosses to worker processes
 * and the admin API), immutable, a snapshot at `changedAt`.
 */
export interface MemberView extends MemberEndpoint {
  readonly state: MemberState
  /** The verdict acted on: own checks combined with shared facts (pool/verdict.ts). */
  readonly health: Health
  /** This instance's own checks alone; present only while shared facts are applied. */
  readonly ownHealth?: Health
  readonly admin: AdminState
  /** Monotonic ms when `state` last changed. */
  readonly stateSince: number
  /** Monotonic ms when health last became up (drives slow start); undefined if never up. */
  readonly upSince?: number
  /** Why the member is in its state, e.g. "3 consecutive failures: refused". */
  readonly reason: string
  /** The last few results, newest last (bounded). */
  readonly recent: readonly CheckRecord[]
  /** Set when DELETE was requested: the member is draining and is removed once idle. */
  readonly removing: boolean
}

/**
 * A pool's member counts (issue #24): all members, the live ones and the routable ones.
 * Every routable member is live, so routable <= live <= size.
 */
export interface PoolCounts {
  readonly size: number
  /** Members whose effective health verdict is up, whatever their admin state. */
  readonly live: number
  /** Members taking new connections (visible state up). */
  readonly routable: number
}

/** A membership/state change, for logs and metrics. */
export interface MemberChange {
  readonly id: string
  readonly from: MemberState | 'absent'
  readonly to: MemberState | 'absent'
  readonly reason: string
  readonly at: number
}
