// PURE. The invariants the simulation checks on every live instance after a step settles,
// as differences between the reference model and what the instances show. Each violation
// names the invariant, the instance and both sides of the difference.
import type { Admin, ModelState } from './model.js'
import type { PoolView } from './observe.js'

/** The invariants, numbered as in issue #18. */
export type InvariantName =
  | '1 convergence'
  | '2 nothing lost'
  | '3 leases'
  | '4 data path agrees with the API'
  | '5 liveness'

/** One broken invariant: both sides of the difference. */
export interface Violation {
  readonly invariant: InvariantName
  readonly where: string
  readonly expected: string
  readonly actual: string
}

/**
 * Invariants 1 and 2 on one view: every model member listed (a missing one is lost), with
 * the model's admin state and not stuck removing; no member the model does not have.
 * Uncertain members are checked for agreement between instances elsewhere (adopt).
 */
export function membershipViolations(model: ModelState, view: PoolView): Violation[] {
  const out: Violation[] = []
  const where = view.lb
  for (const [id, m] of model.members) {
    if (model.uncertain.has(id)) continue
    const seen = view.members.get(id)
    if (seen === undefined) {
      out.push({
        invariant: '2 nothing lost',
        where,
        expected: `${id} listed (${m.admin})`,
        actual: `${id} absent`,
      })
    } else if (seen.admin !== m.admin || seen.removing) {
      out.push({
        invariant: '1 convergence',
        where,
        expected: `${id} admin ${m.admin}`,
        actual: `${id} admin ${seen.admin}${seen.removing ? ' (removing)' : ''}`,
      })
    }
  }
  for (const id of view.members.keys()) {
    if (model.members.has(id) || model.uncertain.has(id)) continue
    out.push({
      invariant: '1 convergence',
      where,
      expected: `${id} absent`,
      actual: `${id} listed (${view.members.get(id)?.admin ?? '?'})`,
    })
  }
  if (!view.connected)
    out.push({
      invariant: '1 convergence',
      where,
      expected: 'store connected',
      actual: 'store disconnected',
    })
  return out
}

/**
 * What every view agrees on for each uncertain member (absent, or its admin state);
 * undefined if the views disagree on any of them (not settled yet).
 */
export function agreedUncertain(
  model: ModelState,
  views: readonly PoolView[],
): ReadonlyMap<string, Admin | 'absent'> | undefined {
  const out = new Map<string, Admin | 'absent'>()
  for (const id of model.uncertain) {
    const seen = new Set(views.map(v => v.members.get(id)?.admin ?? 'absent'))
    const only = [...seen][0]
    if (seen.size !== 1 || only === undefined) return undefined
    out.set(id, only)
  }
  return out
}

function isLease(v: string): boolean {
  try {
    const parsed: unknown = JSON.parse(v)
    return typeof parsed === 'object' && parsed !== null && 'holder' in parsed
  } catch {
    return false
  }
}

/**
 * Invariant 3, in the store: no readable lease on a member the model has enabled that
 * every live instance shows up (an enable, put or registration releases it at once).
 */
export function leaseViolations(
  model: ModelState,
  leases: ReadonlyMap<string, string>,
  views: readonly PoolView[],
): Violation[] {
  const out: Violation[] = []
  for (const [id, value] of leases) {
    if (!isLease(value)) continue // damage: ignored, never acted on
    const m = model.members.get(id)
    if (m?.admin !== 'enabled' || model.uncertain.has(id)) continue
    if (!views.every(v => v.members.get(id)?.state === 'up')) continue
    out.push({
      invariant: '3 leases',
      where: 'store (drains hash)',
      expected: `no lease on ${id} (up and enabled everywhere)`,
      actual: `lease ${value}`,
    })
  }
  return out
}

/** Members whose state is identical in two reads of one instance (stable while probed). */
export function sameStates(a: PoolView, b: PoolView): boolean {
  if (a.members.size !== b.members.size) return false
  for (const [id, m] of a.members) if (b.members.get(id)?.state !== m.state) return false
  return true
}

/**
 * Invariant 4 on one instance: connections made while its pool API stood still reached
 * only members it shows up (routable); with none up, none was answered.
 */
export function dataPathViolations(
  view: PoolView,
  answeredBy: readonly string[],
): Violation[] {
  const routable = [...view.members].filter(([, m]) => m.state === 'up').map(([id]) => id)
  const stray = [...new Set(answeredBy.filter(r => !routable.includes(r)))]
  if (stray.length === 0) return []
  return [
    {
      invariant: '4 data path agrees with the API',
      where: view.lb,
      expected: `connections only to [${routable.join(', ')}]`,
      actual: `connections reached ${stray
        .map(id => {
          const m = view.members.get(id)
          return `${id} (API: ${m === undefined ? 'absent' : `${m.state}, health ${m.health}, ${m.admin}`})`
        })
        .join(', ')}`,
    },
  ]
}

/** The admin state in a stored member record, or why it is unreadable. */
function storedAdmin(value: string | undefined, id: string): string {
  if (value === undefined) return 'absent'
  try {
    const parsed: unknown = JSON.parse(value)
    if (typeof parsed !== 'object' || parsed === null) return 'unreadable'
    const r = parsed as Record<string, unknown>
    const member = r.member
    const memberId =
      typeof member === 'object' && member !== null && 'id' in member
        ? member.id
        : undefined
    if (memberId !== id || typeof r.admin !== 'string') return 'unreadable'
    return r.removing === true ? `${r.admin} (removing)` : r.admin
  } catch {
    return 'unreadable'
  }
}

/**
 * Invariants 1 and 2 in the store itself: every model member has a readable record with
 * the model's admin state (damage is repaired by an instance holding a good copy), and
 * no record exists for a member the model does not have.
 */
export function storeViolations(
  model: ModelState,
  members: ReadonlyMap<string, string> | undefined,
): Violation[] {
  const where = 'store (members hash)'
  if (members === undefined)
    return [
      {
        invariant: '2 nothing lost',
        where,
        expected: 'a hash of member records',
        actual: 'a key of another type (not repaired)',
      },
    ]
  const out: Violation[] = []
  for (const [id, m] of model.members) {
    if (model.uncertain.has(id)) continue
    const seen = storedAdmin(members.get(id), id)
    if (seen === m.admin) continue
    out.push({
      invariant:
        seen === 'absent' || seen === 'unreadable' ? '2 nothing lost' : '1 convergence',
      where,
      expected: `${id}: a readable record, admin ${m.admin}`,
      actual: `${id}: ${seen === 'unreadable' ? `unreadable ${JSON.stringify((members.get(id) ?? '').slice(0, 80))}` : seen}`,
    })
  }
  for (const id of members.keys())
    if (!model.members.has(id) && !model.uncertain.has(id))
      out.push({
        invariant: '1 convergence',
        where,
        expected: `no record for ${id}`,
        actual: `${id}: ${storedAdmin(members.get(id), id)}`,
      })
  return out
}
