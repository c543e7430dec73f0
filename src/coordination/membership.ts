// PURE. What this instance must do to its pool so that its membership and admin states
// match the shared records. Redis wins once the pool is seeded (docs/coordination.md).
import type { InstanceRecord, MemberRecord } from './codec.js'
import type { AdminState, Health, MemberEndpoint, MemberView } from '../pool/types.js'

/** One change to apply to the local pool. */
export type MembershipOp =
  | {
      readonly op: 'upsert'
      readonly endpoint: MemberEndpoint
      readonly initial?: Health
    }
  | {
      readonly op: 'admin'
      readonly id: string
      readonly admin: AdminState
      readonly reason: string
    }
  | { readonly op: 'request-removal'; readonly id: string }

/** A pool view's endpoint, as a member record carries it (source kept when known). */
export function endpointOfView(v: MemberView): MemberEndpoint {
  return {
    id: v.id,
    address: v.address,
    ports: v.ports,
    weight: v.weight,
    ...(v.source !== undefined ? { source: v.source } : {}),
    ...(v.proxyProtocol !== undefined ? { proxyProtocol: v.proxyProtocol } : {}),
  }
}

function sameEndpoint(a: MemberEndpoint, b: MemberEndpoint): boolean {
  const ports = (m: MemberEndpoint): string =>
    JSON.stringify(Object.entries(m.ports).sort())
  return (
    a.address === b.address &&
    a.weight === b.weight &&
    a.source === b.source &&
    a.proxyProtocol === b.proxyProtocol &&
    ports(a) === ports(b)
  )
}

/**
 * The ops that bring `views` in line with `records`. `warm(id)` gives a shared verdict to
 * start a newly added member with (warm start), or undefined for the configured default.
 * Members absent from the records are drained, then removed once idle (never cut).
 */
export function membershipOps(
  records: ReadonlyMap<string, MemberRecord>,
  views: readonly MemberView[],
  warm: (id: string) => Health | undefined,
): MembershipOp[] {
  const ops: MembershipOp[] = []
  const byId = new Map(views.map(v => [v.id, v]))
  for (const [id, r] of records) {
    const v = byId.get(id)
    // Removed here already, the record waits for the other instances: never re-add it.
    if (r.removing && v === undefined) continue
    const endpoint: MemberEndpoint = {
      id,
      address: r.member.address,
      ports: r.member.ports,
      weight: r.member.weight,
      ...(r.member.source !== undefined ? { source: r.member.source } : {}),
      ...(r.member.proxyProtocol !== undefined
        ? { proxyProtocol: r.member.proxyProtocol }
        : {}),
    }
    const initial = warm(id)
    const reason = `${r.reason} (via ${r.by})`
    if (v === undefined || !sameEndpoint(v, endpoint) || (v.removing && !r.removing)) {
      ops.push({ op: 'upsert', endpoint, ...(initial !== undefined ? { initial } : {}) })
    } else if (initial !== undefined && v.recent.length === 0) {
      // Not checked yet (just started): take the shared verdict instead of the default.
      ops.push({ op: 'upsert', endpoint, initial })
    }
    if (r.removing) {
      if (v?.removing !== true) ops.push({ op: 'request-removal', id })
    } else if (v?.admin !== r.admin || v.removing) {
      // A new member starts enabled: only a different admin state needs an op.
      if (r.admin !== 'enabled' || (v?.admin ?? 'enabled') !== 'enabled') {
        ops.push({ op: 'admin', id, admin: r.admin, reason })
      }
    }
  }
  for (const v of views) {
    if (!records.has(v.id) && !v.removing) ops.push({ op: 'request-removal', id: v.id })
  }
  return ops
}

/**
 * Members being removed whose record may go now: every live instance applied the removal
 * (appliedVersion ≥ its rev) and none, this one included (`localLoad`), has a connection
 * left to them.
 */
export function removalsDone(
  records: ReadonlyMap<string, MemberRecord>,
  instances: ReadonlyMap<string, InstanceRecord>,
  localLoad: (id: string) => number,
): string[] {
  const done: string[] = []
  for (const [id, r] of records) {
    if (!r.removing || localLoad(id) > 0) continue
    let idle = true
    for (const inst of instances.values()) {
      if (inst.appliedVersion < r.rev || (inst.loads[id] ?? 0) > 0) idle = false
    }
    if (idle) done.push(id)
  }
  return done
}
