// The shared pool store: what several corral instances (and sidecars) exchange. It carries
// facts only (membership, admin intent, observations, heartbeats, drain leases); the pool
// decides verdicts. Implementations: redis-store.ts (production), memory-store.ts (one
// process, for tests and tools). Every method fails fast with StoreUnavailableError when
// the store cannot be reached; nothing is queued to land later.
import { CorralError } from '../errors.js'
import type { MemberEndpoint, AdminState } from '../pool/types.js'
import type { OutMember } from './drain-budget.js'
import type { StoreFault } from './store-fault.js'
import type {
  DrainLease,
  InstanceRecord,
  MemberRecord,
  Observation,
  SidecarRecord,
  Verdict,
} from './codec.js'

/** The store is unreachable (or answered with an error): the caller must not assume success. */
export class StoreUnavailableError extends CorralError {
  constructor(message: string, options?: ErrorOptions) {
    super('STORE_UNAVAILABLE', message, options)
  }
}

/** One stored value that did not parse; it was skipped. */
export interface InvalidEntry {
  /** Where: the key, and the hash field in brackets. */
  readonly key: string
  /** Which kind of record was expected (the metric's `kind` label). */
  readonly kind:
    | 'member'
    | 'instance'
    | 'observation'
    | 'sidecar'
    | 'drain'
    | 'verdict'
    | 'version'
    | 'tombstone'
  readonly error: string
}

/** Everything one instance needs to know, read in one consistent step. */
export interface SharedSnapshot {
  /** The store's clock (wall ms): one clock for every instance. */
  readonly now: number
  /** Bumped by every membership write. */
  readonly version: number
  /**
   * Undefined when the caller already had `version` (nothing to re-read) or when the
   * members hash is unreadable (`membersDamaged`).
   */
  readonly members: ReadonlyMap<string, MemberRecord> | undefined
  /** The members key is missing (deleted, or the pool is empty) or of the wrong type. */
  readonly membersMissing: boolean
  /**
   * Member ids whose record did not parse, with the raw value found (for a
   * compare-and-set repair): unknown, never absent; keep the last good record for them.
   */
  readonly unreadableMembers: ReadonlyMap<string, string>
  /**
   * Tombstones: member id → the pool version of its readable delete (the newest 1,000).
   * A member missing from `members` without a tombstone newer than the copy an instance
   * holds was not deleted: something damaged the store.
   */
  readonly removed: ReadonlyMap<string, number>
  readonly membersDamaged: boolean
  /** Whether any instance ever seeded the pool. */
  readonly seeded: boolean
  /** Instances whose heartbeat is younger than the TTL, by id. */
  readonly instances: ReadonlyMap<string, InstanceRecord>
  /** Each live instance's observations, by instance id then member id. */
  readonly observations: ReadonlyMap<string, ReadonlyMap<string, Observation>>
  /** Sidecars whose heartbeat has not expired, by member id. */
  readonly sidecars: ReadonlyMap<string, SidecarRecord>
  /** Unexpired drain leases, by member id. */
  readonly drains: ReadonlyMap<string, DrainLease>
  /** Latest published verdict per member, with its age in ms by the store's clock. */
  readonly verdicts: ReadonlyMap<string, Verdict>
  readonly invalid: readonly InvalidEntry[]
}

/** A membership write: the record minus what the store assigns (rev). */
export interface MemberWrite {
  readonly member: MemberEndpoint
  readonly admin: AdminState
  readonly removing: boolean
  readonly reason: string
  /**
   * Keep a stored `draining` or `disabled` state instead of `admin` (which must then be
   * `enabled`), read and written in one atomic step: an endpoint update (PUT, SIGHUP)
   * must not undo a drain another instance made a moment before.
   */
  readonly keepAdmin?: boolean
  /**
   * Keep a stored removal (`removing` must then be false): a disable made from a view
   * that has not seen a DELETE yet must not cancel it.
   */
  readonly keepRemoving?: boolean
  /**
   * Do not mark the pool seeded: a sidecar's write knows only its own member, so an
   * emptied store must still be re-seeded by the load balancers from their last pool.
   */
  readonly unseeded?: boolean
  /**
   * Create only: if the member has a record by now, nothing is written and that record
   * is returned (a sidecar registering from an older read).
   */
  readonly ifAbsent?: boolean
}

/** A drain: the budget check, the lease and the draining record, in one atomic step. */
export interface DrainRequest {
  /** The member's record as it must read while draining (admin `draining`). */
  readonly write: MemberWrite
  /** Who drains (the lease holder): `api@<instance>` or the sidecar's id. */
  readonly holder: string
  /** Lease lifetime, ms (`drain.lease`): bounds a lease kept by a member that left. */
  readonly ttlMs: number
  /** Members the caller sees down everywhere: they count as out. */
  readonly down: readonly string[]
  /** Skip the budget check (an operator's `?force=true`); the lease is still taken. */
  readonly force: boolean
}

/** The outcome of a drain request. */
export type DrainGrant =
  | { readonly ok: true; readonly lease: DrainLease; readonly record: MemberRecord }
  | { readonly ok: false; readonly missing: true }
  | {
      readonly ok: false
      readonly missing?: false
      /** The other members out now, which use up the budget. */
      readonly out: readonly OutMember[]
      readonly budget: number
    }

/** One damaged member record and the good copy to put back. */
export interface MemberRepair {
  readonly write: MemberWrite
  /** The raw value found in the store, or undefined if the field was missing. */
  readonly found: string | undefined
  /** The rev of the good copy (a tombstone at or after it means a real delete). */
  readonly rev: number
}

/** A "something changed" notice; never the only copy of a change. */
export interface StoreNotice {
  readonly kind: 'members' | 'observations' | 'instances' | 'sidecars' | 'drains'
  readonly from: string
}

/** What a store tells its owner about itself. */
export interface StoreEvents {
  /** Connected (true) or lost (false), with the error that lost it. */
  status(connected: boolean, error?: string): void
  /** The classified reason Redis cannot be used changed (undefined: healed). */
  fault?(fault: StoreFault | undefined): void
  notice(notice: StoreNotice): void
}

/** The shared pool store (see the file comment). */
export interface PoolStore {
  readonly kind: 'memory' | 'redis'
  /** Where it points, with any password removed (for logs and the pool API). */
  readonly target: string
  readonly connected: boolean
  /** Configuration risks to log at every start (e.g. TLS verification off). */
  readonly warnings?: readonly string[]
  /** Why the store cannot be used now, classified (Redis only); undefined while it works. */
  readonly fault?: StoreFault | undefined
  /** Starts connecting; resolves once connected or once the first attempt failed. */
  start(events: StoreEvents): Promise<void>
  /** Disconnects; idempotent. */
  close(): Promise<void>
  /** Reads everything; `knownVersion` skips re-reading unchanged membership. */
  snapshot(ttlMs: number, knownVersion?: number): Promise<SharedSnapshot>
  /**
   * Writes `members` only if nobody seeded the pool before; true if this call did. With
   * `force`, replaces the whole membership (repair of a damaged or deleted members key).
   */
  seed(members: readonly MemberWrite[], by: string, force?: boolean): Promise<boolean>
  /**
   * Creates or replaces one member's record; returns it with the new version as rev. A
   * write that leaves the member enabled (or removing) releases any drain lease on it,
   * whoever holds it, in the same atomic step: a lease is a consequence of state.
   */
  putMember(write: MemberWrite, by: string): Promise<MemberRecord>
  /**
   * Deletes a member's record and, unless `keepLease` (a sidecar stopping its replica for
   * an upgrade: the replica is out until it is back), its drain lease; the new version,
   * or undefined if absent.
   */
  deleteMember(id: string, by: string, keepLease?: boolean): Promise<number | undefined>
  /** Refreshes this instance's heartbeat and the TTL of its observations. */
  heartbeat(record: InstanceRecord, ttlMs: number): Promise<void>
  /** Removes this instance at once (clean shutdown): peers stop counting it now. */
  leave(instance: string): Promise<void>
  /** Publishes this instance's verdict on a member (and the latest verdict for warm starts). */
  putObservation(
    instance: string,
    member: string,
    observation: Observation,
    ttlMs: number,
  ): Promise<void>
  /** Publishes several verdicts at once (one round trip, one notice). */
  putObservations(
    instance: string,
    entries: readonly { readonly member: string; readonly observation: Observation }[],
    ttlMs: number,
  ): Promise<void>
  /** A sidecar's heartbeat with its member's verdict. */
  putSidecar(member: string, record: SidecarRecord): Promise<void>
  deleteSidecar(member: string): Promise<void>
  /**
   * Drains a member if the budget allows (drain-budget.ts drainDecision, evaluated on the
   * store's own state): writes its lease (taken over whoever held it) and its draining
   * record together, atomic across instances; void and expired leases are reaped first.
   * `missing` when the member has no record.
   */
  drain(request: DrainRequest, by: string): Promise<DrainGrant>
  /**
   * Rewrites damaged member records from good copies: each only if its field still holds
   * the raw value `found` (undefined: still absent, and no tombstone at or after the
   * copy's rev), so a concurrent valid write always wins. Returns how many were rewritten.
   */
  repairMembers(repairs: readonly MemberRepair[], by: string): Promise<number>
  /** Releases the member's lease if `holder` holds it. */
  releaseDrain(member: string, holder: string): Promise<void>
}
