// PURE. The fleet-wide drain budget as seen from the shared store (the sidecar's view; the
// load balancer's Coordinator.drainBudget counts the same way over its own pool).
import type { DrainLease, InstanceRecord, MemberRecord } from './codec.js'

/**
 * How many drains may run at once so that a majority of the pool stays routable:
 * floor((N-1)/2) for N members (3 → 1, 5 → 2, 7 → 3), less the members already out
 * without a lease. A member is out if an operator disabled or drained it, or if live load
 * balancers exist and none of them routes to it (down everywhere). `exclude` (the member
 * asking) never counts as out. N includes members that left the pool holding a lease (a
 * replica stopped by its sidecar keeps its lease until it is back): otherwise each
 * departure would shrink N and let the next drains eat into the majority.
 */
export function sharedDrainBudget(
  members: ReadonlyMap<string, MemberRecord>,
  instances: ReadonlyMap<string, InstanceRecord>,
  leases: ReadonlyMap<string, DrainLease>,
  exclude: string,
): number {
  const routable = new Set<string>()
  for (const i of instances.values()) for (const id of i.routable) routable.add(id)
  let n = 0
  let out = 0
  for (const [id, r] of members) {
    if (r.removing) continue
    n++
    if (id === exclude || leases.has(id)) continue
    const isOut = r.admin !== 'enabled' || (instances.size > 0 && !routable.has(id))
    if (isOut) out++
  }
  if (!members.has(exclude)) n++
  for (const id of leases.keys()) if (!members.has(id) && id !== exclude) n++
  return Math.max(0, Math.floor((n - 1) / 2) - out)
}

/**
 * Whether every live load balancer has applied membership version `rev` (or later) and
 * no longer routes new connections to `member`; vacuously true with no live instance.
 */
export function drainConfirmed(
  instances: ReadonlyMap<string, InstanceRecord>,
  member: string,
  rev: number,
): { readonly done: boolean; readonly waitingFor: readonly string[] } {
  const waitingFor: string[] = []
  for (const [id, i] of instances) {
    if (i.appliedVersion < rev || i.routable.includes(member)) waitingFor.push(id)
  }
  return { done: waitingFor.length === 0, waitingFor }
}

/** Open connections to `member` per live instance that still has some. */
export function openConnections(
  instances: ReadonlyMap<string, InstanceRecord>,
  member: string,
): ReadonlyMap<string, number> {
  const out = new Map<string, number>()
  for (const [id, i] of instances) {
    const n = i.loads[member] ?? 0
    if (n > 0) out.set(id, n)
  }
  return out
}
