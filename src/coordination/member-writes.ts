// PURE. The membership writes the admin API makes through the coordinator, built from
// this instance's copy of a record. Whatever that copy may have missed (a drain or a
// DELETE made a moment ago on another instance) is kept by the store itself, read and
// written in one script step: these writes only say what to keep (docs/coordination.md).
import type { AdminState, MemberEndpoint, MemberView } from '../pool/types.js'
import type { DrainLease, MemberRecord } from './codec.js'
import { drainDecision, type BudgetStanding } from './drain-budget.js'
import type { DrainRequest, MemberWrite } from './store.js'

/** PUT: the endpoint; a stored drain or disable stays, a pending removal is cancelled. */
export function upsertWrite(endpoint: MemberEndpoint, reason: string): MemberWrite {
  return { member: endpoint, admin: 'enabled', keepAdmin: true, removing: false, reason }
}

/** enable / disable: enabling cancels a removal (as in the local pool), disabling keeps it. */
export function adminWrite(
  old: MemberRecord,
  admin: AdminState,
  reason: string,
): MemberWrite {
  return {
    member: old.member,
    admin,
    removing: false,
    ...(admin === 'enabled' ? {} : { keepRemoving: true }),
    reason,
  }
}

/** DELETE: draining everywhere, the record goes once every instance is idle. */
export function removalWrite(old: MemberRecord): MemberWrite {
  return {
    member: old.member,
    admin: 'draining',
    removing: true,
    reason: 'removal requested',
  }
}

/**
 * A drain of `old`: the store keeps a removal it holds, and judges admin states itself;
 * only health is this instance's to report (`views` whose verdict is down).
 */
export function drainRequest(
  old: MemberRecord,
  views: readonly MemberView[],
  o: { holder: string; reason: string; ttlMs: number; force: boolean },
): DrainRequest {
  const id = old.member.id
  return {
    write: { member: old.member, admin: 'draining', removing: false, reason: o.reason },
    holder: o.holder,
    ttlMs: o.ttlMs,
    down: views.filter(v => v.id !== id && v.health === 'down').map(v => v.id),
    force: o.force,
  }
}

/**
 * How many more drains may start now (the corral_drain_budget gauge): floor((N-1)/2) for
 * N members less the members out, as drain-budget.ts counts them, from this instance's
 * pool and the leases it last read.
 */
export function budgetLeft(
  views: readonly MemberView[],
  leases: ReadonlyMap<string, DrainLease>,
): number {
  const standings = new Map<string, BudgetStanding>()
  const down = new Set<string>()
  for (const v of views) {
    standings.set(v.id, v.removing ? 'removing' : v.admin)
    if (v.health === 'down') down.add(v.id)
  }
  const d = drainDecision(standings, leases, down, undefined)
  return Math.max(0, d.budget - d.out.length)
}
