// PURE. The decision of a DNS discovery source: given the last answer, the members of this
// source now in the pool and the time, which members to add, update or remove. The shell
// (discovery/source.ts) applies the actions through the admin API's member operations.
//
// Rules (docs/config.md, "discovery"):
// 1. A failed query (timeout, SERVFAIL, REFUSED, NXDOMAIN, an empty answer) changes
//    nothing: the last good set stays and health checks keep deciding routing.
// 2. A target in a good answer and not in the pool is added (down until its checks pass).
//    One still draining from an earlier removal is added once that removal finishes, so a
//    reused address comes back as a new member, not as the old one's health.
// 3. A member missing from a good answer is held for `graceMs` (answers can be a subset
//    for a moment); still missing from a good answer after that, it is removed: drained,
//    then gone once idle. Failed queries never advance this.
// 4. A good answer that would start the removal of more members than the pool can lose
//    (more than floor((size - 1) / 2)) is held as suspicious and applied only when the
//    next good answer is the same.
import type { DiscoveredTarget } from './targets.js'

/** Why a query gave no usable answer: a closed set. */
export type AnswerFailure =
  'timeout' | 'servfail' | 'refused' | 'nxdomain' | 'empty' | 'error'

/** Every failure reason, in display order (metrics emit one series each). */
export const ANSWER_FAILURES: readonly AnswerFailure[] = [
  'timeout',
  'servfail',
  'refused',
  'nxdomain',
  'empty',
  'error',
]

/** One query's outcome. */
export type Answer =
  | { readonly ok: true; readonly targets: readonly DiscoveredTarget[] }
  | { readonly ok: false; readonly reason: AnswerFailure; readonly detail: string }

/** A member of this source as the pool has it now. */
export interface SourceMember {
  readonly id: string
  readonly address: string
  readonly ports: Readonly<Record<string, number>>
  /** Removal requested: draining, gone once idle. */
  readonly removing: boolean
}

/** What the reconciler remembers between answers. */
export interface ReconcileState {
  /** Member id → monotonic ms since which good answers have left it out. */
  readonly missingSince: ReadonlyMap<string, number>
  /** Ids of a held suspicious answer, sorted and joined; undefined if none is held. */
  readonly suspicious?: string
}

/** The state before the first answer. */
export const INITIAL_STATE: ReconcileState = { missingSince: new Map() }

/** One change to make to the pool. */
export type Action =
  | { readonly kind: 'add'; readonly target: DiscoveredTarget }
  | { readonly kind: 'update'; readonly target: DiscoveredTarget }
  /** Drain (no new connections, open ones finish), then remove once idle. */
  | { readonly kind: 'remove'; readonly id: string; readonly missingMs: number }

/** How an answer was taken. */
export type Outcome = 'success' | 'suspicious' | AnswerFailure

/** The reconciler's verdict on one answer. */
export interface Reconciled {
  readonly state: ReconcileState
  readonly actions: readonly Action[]
  readonly outcome: Outcome
  /** Targets in the answer whose old member is still draining (added once it is gone). */
  readonly waiting: readonly string[]
  /** Members held although missing (within their grace period). */
  readonly held: readonly string[]
}

/** What one step needs besides the state and the answer. */
export interface ReconcileContext {
  /** Monotonic ms. */
  readonly now: number
  /** Members of this source in the pool (removing ones included). */
  readonly members: readonly SourceMember[]
  /** Members in the whole pool that are not being removed, every source included. */
  readonly poolSize: number
  readonly graceMs: number
}

function samePorts(
  a: Readonly<Record<string, number>>,
  b: Readonly<Record<string, number>>,
) {
  const ka = Object.keys(a).sort()
  const kb = Object.keys(b).sort()
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k])
}

/** The most members a pool of `size` can lose and keep a majority. */
export function tolerated(size: number): number {
  return Math.max(0, Math.floor((size - 1) / 2))
}

/** Applies one answer (see the file comment for the rules). */
export function reconcile(
  state: ReconcileState,
  answer: Answer,
  ctx: ReconcileContext,
): Reconciled {
  const held = [...state.missingSince.keys()].sort()
  if (!answer.ok) {
    return { state, actions: [], outcome: answer.reason, waiting: [], held }
  }
  const wanted = new Map<string, DiscoveredTarget>()
  for (const t of answer.targets) if (!wanted.has(t.id)) wanted.set(t.id, t)
  if (wanted.size === 0) {
    return { state, actions: [], outcome: 'empty', waiting: [], held }
  }

  const newlyMissing = ctx.members.filter(
    m => !m.removing && !wanted.has(m.id) && !state.missingSince.has(m.id),
  ).length
  if (newlyMissing > 0 && newlyMissing > tolerated(ctx.poolSize)) {
    const key = [...wanted.keys()].sort().join(' ')
    if (state.suspicious !== key) {
      return {
        state: { ...state, suspicious: key },
        actions: [],
        outcome: 'suspicious',
        waiting: [],
        held,
      }
    }
  }

  const actions: Action[] = []
  const waiting: string[] = []
  const byId = new Map(ctx.members.map(m => [m.id, m]))
  for (const t of wanted.values()) {
    const m = byId.get(t.id)
    if (m === undefined) actions.push({ kind: 'add', target: t })
    else if (m.removing) waiting.push(t.id)
    else if (m.address !== t.address || !samePorts(m.ports, t.ports))
      actions.push({ kind: 'update', target: t })
  }
  const missingSince = new Map<string, number>()
  for (const m of ctx.members) {
    if (m.removing || wanted.has(m.id)) continue
    const since = state.missingSince.get(m.id) ?? ctx.now
    const missingMs = ctx.now - since
    if (missingMs >= ctx.graceMs) actions.push({ kind: 'remove', id: m.id, missingMs })
    else missingSince.set(m.id, since)
  }
  return {
    state: { missingSince },
    actions,
    outcome: 'success',
    waiting,
    held: [...missingSince.keys()].sort(),
  }
}
