// PURE. Damage in the shared store is "unknown", never "absent" (docs/coordination.md):
// before an instance adopts the shared membership, each unreadable record is replaced by
// the good copy it holds, and each record missing without a readable delete (a tombstone
// at or after the held copy's rev) is put back; both are rewritten in the store from
// those copies. A member leaves the pool only through a readable delete.
import type { MemberRecord } from './codec.js'
import { endpointOfView } from './membership.js'
import type { MemberRepair, SharedSnapshot } from './store.js'
import type { MemberView } from '../pool/types.js'

/** What to adopt, and which records to rewrite in the store. */
export interface Healed {
  readonly members: ReadonlyMap<string, MemberRecord>
  readonly repairs: readonly MemberRepair[]
}

/**
 * Heals `read` (the readable records of `snap`) with `held` (the records this instance
 * adopted before). An unreadable record this instance never held keeps what its pool has
 * (`pooled`: on a fresh start, the config file's member) for this instance alone: such a
 * stand-in is not a good copy and is never written back (rev 0).
 */
export function healMembers(
  snap: Pick<SharedSnapshot, 'unreadableMembers' | 'removed'>,
  read: ReadonlyMap<string, MemberRecord>,
  held: ReadonlyMap<string, MemberRecord>,
  pooled: (id: string) => MemberView | undefined,
): Healed {
  const members = new Map(read)
  const repairs: MemberRepair[] = []
  const restore = (good: MemberRecord, found: string | undefined): void => {
    members.set(good.member.id, good)
    if (good.rev > 0) repairs.push({ write: writeOf(good), found, rev: good.rev })
  }
  for (const [id, raw] of snap.unreadableMembers) {
    const good = held.get(id)
    if (good !== undefined) {
      restore(good, raw)
      continue
    }
    const view = pooled(id)
    if (view !== undefined) members.set(id, standIn(view))
  }
  for (const [id, good] of held) {
    if (members.has(id) || snap.unreadableMembers.has(id)) continue
    const tomb = snap.removed.get(id)
    // Deleted for real, or on its way out anyway (its delete is the removal finishing).
    if ((tomb !== undefined && tomb >= good.rev) || good.removing) continue
    restore(good, undefined)
  }
  return { members, repairs }
}

function writeOf(r: MemberRecord): MemberRepair['write'] {
  return {
    member: r.member,
    admin: r.admin,
    removing: r.removing,
    reason: `restored after damage (was: ${r.reason})`.slice(0, 500),
  }
}

/** This instance's own member, standing in for an unreadable record it never held. */
function standIn(v: MemberView): MemberRecord {
  return {
    v: 1,
    member: endpointOfView(v),
    admin: v.admin,
    removing: v.removing,
    rev: 0,
    by: 'local',
    reason: 'the shared record is unreadable: kept as this instance had it',
    at: 0,
  }
}
