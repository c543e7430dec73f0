// PURE. The fleet-wide drain budget. A lease is a consequence of state, never a cache: the
// budget counts members that are really out, whatever leases say, and a lease only
// matters for a member that left the pool holding it (a replica stopped by its sidecar
// for an upgrade). The stores run the same rule inside their atomic drain step
// (memory-store.ts calls drainDecision; redis-scripts.ts DRAIN mirrors it in Lua).
import type { DrainLease, InstanceRecord, MemberRecord } from './codec.js'

/**
 * A member's standing as the budget sees it: `enabled` (in rotation unless down),
 * `draining`/`disabled` (out by an operator or a sidecar), `removing` (leaving: counts
 * neither in N nor as out), `unreadable` (a damaged record: unknown, so counted as out).
 */
export type BudgetStanding =
  'enabled' | 'draining' | 'disabled' | 'removing' | 'unreadable'

/** Why a member uses a unit of the budget. */
export type OutReason = 'draining' | 'disabled' | 'down' | 'unreadable' | 'left'

/** One member that is out, for the 409 answer and the sidecar's log. */
export interface OutMember {
  readonly member: string
  readonly why: OutReason
  /** Who holds its lease, when it has one. */
  readonly holder?: string
}

/** The budget's verdict for one drain request. */
export interface DrainDecision {
  /** floor((N-1)/2) for N members: 3 → 1, 5 → 2, 7 → 3. */
  readonly budget: number
  /** The other members out now, sorted by id. */
  readonly out: readonly OutMember[]
  /** Whether the drain fits: fewer than `budget` others are out. */
  readonly fits: boolean
}

/** A record's standing (see BudgetStanding). */
export function standingOf(record: MemberRecord): BudgetStanding {
  return record.removing ? 'removing' : record.admin
}

/**
 * Whether a lease on a member with this standing is void: the member is back in rotation
 * (enabled) or leaving (removing), so the lease describes nothing and is reaped. A lease on
 * an absent member is kept (a sidecar's replica out for an upgrade) until it expires.
 */
export function leaseIsVoid(standing: BudgetStanding | undefined): boolean {
  return standing === 'enabled' || standing === 'removing'
}

/** Whether writing this record releases any lease on the member (see leaseIsVoid). */
export function releasesLease(write: {
  readonly admin: MemberRecord['admin']
  readonly removing: boolean
}): boolean {
  return write.removing || write.admin === 'enabled'
}

/**
 * The budget for draining `asker`: N counts every member that is not leaving, plus
 * members that left holding an unexpired lease (otherwise each stopped replica would
 * shrink N, 5 → 3 after two, and let a third drain leave 2 of 5); each other member counts
 * as out once, for its admin state, a damaged record, being `down` (not routable on any
 * live load balancer, as the caller sees it) or having left with a lease. Without an
 * `asker`, the budget of the pool as it stands (the corral_drain_budget gauge).
 */
export function drainDecision(
  standings: ReadonlyMap<string, BudgetStanding>,
  leases: ReadonlyMap<string, Pick<DrainLease, 'holder'>>,
  down: ReadonlySet<string>,
  asker: string | undefined,
): DrainDecision {
  let n = 0
  const out: OutMember[] = []
  const holder = (id: string): { holder?: string } => {
    const h = leases.get(id)?.holder
    return h === undefined ? {} : { holder: h }
  }
  for (const [id, s] of standings) {
    if (s === 'removing') continue
    n++
    if (id === asker) continue
    if (s === 'draining' || s === 'disabled' || s === 'unreadable') {
      out.push({ member: id, why: s, ...holder(id) })
    } else if (down.has(id)) {
      out.push({ member: id, why: 'down', ...holder(id) })
    }
  }
  for (const [id, lease] of leases) {
    if (standings.has(id)) continue
    n++
    if (id !== asker) out.push({ member: id, why: 'left', holder: lease.holder })
  }
  if (asker !== undefined && !standings.has(asker) && !leases.has(asker)) n++
  out.sort((a, b) => (a.member < b.member ? -1 : a.member > b.member ? 1 : 0))
  const budget = Math.floor((n - 1) / 2)
  return { budget, out, fits: out.length < budget }
}

/** Members not routable on any live load balancer (none when no instance is live). */
export function downEverywhere(
  members: Iterable<string>,
  instances: ReadonlyMap<string, InstanceRecord>,
): Set<string> {
  const down = new Set<string>()
  if (instances.size === 0) return down
  const routable = new Set<string>()
  for (const i of instances.values()) for (const id of i.routable) routable.add(id)
  for (const id of members) if (!routable.has(id)) down.add(id)
  return down
}

/** "r1 (draining, lease held by api@lb2), r2 (down)": who uses the budget, for people. */
export function describeOut(out: readonly OutMember[]): string {
  if (out.length === 0) return 'no member (the pool is too small to drain any)'
  return out
    .map(
      o =>
        `${o.member} (${o.why}${o.holder !== undefined ? `, lease held by ${o.holder}` : ''})`,
    )
    .join(', ')
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
