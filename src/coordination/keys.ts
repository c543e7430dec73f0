// Every Redis key and channel corral uses, derived from the configured prefix in one place,
// so that several pools can share one Redis and an operator can list what belongs to one.

/** The keys of one shared pool (prefix `corral:dtr` → `corral:dtr:members`, …). */
export interface PoolKeys {
  /** HASH member id → MemberRecord JSON: membership and admin intent. */
  readonly members: string
  /** STRING integer: bumped by every membership write (the resync's version). */
  readonly version: string
  /** STRING: present once some instance seeded the pool from its config file. */
  readonly seeded: string
  /** ZSET instance id → last heartbeat (Redis TIME, ms): lists live instances in one call. */
  readonly instances: string
  /** STRING InstanceRecord JSON with a TTL: what one instance reports about itself. */
  instance(id: string): string
  /** HASH member id → Observation JSON with a TTL: one instance's verdicts. */
  observations(instance: string): string
  /** HASH member id → Verdict JSON: the latest verdict anyone published (warm start). */
  readonly verdicts: string
  /** HASH member id → SidecarRecord JSON: a sidecar's heartbeat and its local verdict. */
  readonly sidecars: string
  /** HASH member id → DrainLease JSON: the fleet-wide drain budget's leases. */
  readonly drains: string
  /** ZSET member id → the pool version of its readable delete: tombstones (see store.ts). */
  readonly removed: string
  /** Pub/sub channel: "something changed" notices (never the only copy of a change). */
  readonly events: string
}

/** Builds the key set for a prefix (no trailing colon). */
export function poolKeys(prefix: string): PoolKeys {
  return {
    members: `${prefix}:members`,
    version: `${prefix}:version`,
    seeded: `${prefix}:seeded`,
    instances: `${prefix}:instances`,
    instance: id => `${prefix}:instance:${id}`,
    observations: id => `${prefix}:obs:${id}`,
    verdicts: `${prefix}:verdicts`,
    sidecars: `${prefix}:sidecars`,
    drains: `${prefix}:drains`,
    removed: `${prefix}:removed`,
    events: `${prefix}:events`,
  }
}
