// PURE. The reference model of the fleet simulation: what the shared pool must be after the
// operations that succeeded (a refused or failed operation changes nothing), and the drain
// budget's bounds, as docs/coordination.md states them. No I/O, no clock, no randomness.

/** An operator's admin state, as the pool API shows it. */
export type Admin = 'enabled' | 'draining' | 'disabled'

/** One member as the model knows it. */
export interface ModelMember {
  readonly admin: Admin
  /** Its record was last written by its own sidecar (registration or its drain). */
  readonly bySidecar: boolean
}

/** The shared pool the live instances must converge on. */
export interface ModelState {
  readonly members: ReadonlyMap<string, ModelMember>
  /** Replicas whose sidecar runs (it re-registers its member if the member goes). */
  readonly sidecars: ReadonlySet<string>
  /** Members that left the pool through their sidecar's drain, which keeps the lease. */
  readonly keptLeases: ReadonlySet<string>
  /**
   * Members that may or may not be out for the budget: a kept lease that a restarted
   * sidecar releases once its replica is up, or leases lost to store damage.
   */
  readonly maybeOut: ReadonlySet<string>
  /** Members whose state an indeterminate operation left unknown: adopt what is observed. */
  readonly uncertain: ReadonlySet<string>
}

/** The admin API's member operations. */
export type AdminVerb = 'put' | 'delete' | 'drain' | 'enable' | 'disable'

/** A model with these members, all enabled and written by operators (or the config file). */
export function initialModel(
  fileMembers: readonly string[],
  sidecars: readonly string[],
): ModelState {
  const members = new Map<string, ModelMember>()
  for (const id of fileMembers) members.set(id, { admin: 'enabled', bySidecar: false })
  for (const id of sidecars) members.set(id, { admin: 'enabled', bySidecar: true })
  return {
    members,
    sidecars: new Set(sidecars),
    keptLeases: new Set(),
    maybeOut: new Set(),
    uncertain: new Set(),
  }
}

function withMembers(
  s: ModelState,
  edit: (m: Map<string, ModelMember>) => void,
  more: Partial<ModelState> = {},
): ModelState {
  const members = new Map(s.members)
  edit(members)
  return { ...s, ...more, members }
}

function without(set: ReadonlySet<string>, id: string): ReadonlySet<string> {
  const out = new Set(set)
  out.delete(id)
  return out
}

function plus(set: ReadonlySet<string>, id: string): ReadonlySet<string> {
  return new Set([...set, id])
}

/**
 * Applies an admin call that succeeded (2xx) to the model:
 * - put: a new member is enabled; an existing one keeps its admin state (coordinator.upsert);
 * - delete: the member goes, unless its sidecar runs and registers it again (enabled);
 * - drain, enable, disable: the admin state, written by an operator.
 * An enabled member holds no lease, so a kept lease on it is gone.
 */
export function applyAdmin(s: ModelState, verb: AdminVerb, id: string): ModelState {
  const old = s.members.get(id)
  switch (verb) {
    case 'put':
      return withMembers(
        s,
        m => m.set(id, { admin: old?.admin ?? 'enabled', bySidecar: false }),
        old === undefined || old.admin === 'enabled'
          ? { keptLeases: without(s.keptLeases, id) }
          : {},
      )
    case 'delete':
      if (old === undefined) return s
      return withMembers(s, m => {
        if (s.sidecars.has(id)) m.set(id, { admin: 'enabled', bySidecar: true })
        else m.delete(id)
      })
    case 'drain':
    case 'enable':
    case 'disable': {
      if (old === undefined) return s
      const admin: Admin =
        verb === 'drain' ? 'draining' : verb === 'enable' ? 'enabled' : 'disabled'
      return withMembers(s, m => m.set(id, { admin, bySidecar: false }))
    }
  }
}

/**
 * A sidecar started: it registers its member enabled, unless the member is there with an
 * operator's admin state (Registration.register keeps that); a lease it kept from its last
 * run is released once its replica passes its checks, so until then it may count as out.
 */
export function sidecarStarted(s: ModelState, id: string): ModelState {
  const old = s.members.get(id)
  const keep = old !== undefined && (old.admin === 'enabled' || !old.bySidecar)
  const maybeOut = s.keptLeases.has(id) ? plus(s.maybeOut, id) : s.maybeOut
  return withMembers(
    s,
    m => {
      if (!keep) m.set(id, { admin: 'enabled', bySidecar: true })
    },
    { sidecars: plus(s.sidecars, id), keptLeases: without(s.keptLeases, id), maybeOut },
  )
}

/**
 * A sidecar exited after SIGTERM: with exit 0 it drained and deregistered its member,
 * keeping the lease; otherwise (the budget stayed full) the member was left registered.
 */
export function sidecarStopped(s: ModelState, id: string, drained: boolean): ModelState {
  const sidecars = without(s.sidecars, id)
  if (!drained) return { ...s, sidecars }
  return withMembers(s, m => m.delete(id), {
    sidecars,
    keptLeases: plus(s.keptLeases, id),
  })
}

/** A sidecar was SIGKILLed: its member stays registered as it was. */
export function sidecarKilled(s: ModelState, id: string): ModelState {
  return { ...s, sidecars: without(s.sidecars, id) }
}

/**
 * The store lost its leases (Redis restarted empty, or the leases key was damaged): kept
 * leases may be gone (the budget may count those members or not).
 */
export function leasesLost(s: ModelState): ModelState {
  return {
    ...s,
    keptLeases: new Set(),
    maybeOut: new Set([...s.maybeOut, ...s.keptLeases]),
  }
}

/** A SIGHUP applied the file's member changes: added ids are put, dropped ids deleted. */
export function fileReloaded(
  s: ModelState,
  before: readonly string[],
  after: readonly string[],
): ModelState {
  let next = s
  for (const id of after) if (!before.includes(id)) next = applyAdmin(next, 'put', id)
  for (const id of before) if (!after.includes(id)) next = applyAdmin(next, 'delete', id)
  return next
}

/** The member's state is unknown after an indeterminate call (no answer, a timeout). */
export function markUncertain(s: ModelState, id: string): ModelState {
  return { ...s, uncertain: plus(s.uncertain, id) }
}

/**
 * Adopts what every live instance agrees on for the uncertain members (present with an
 * admin state, or absent), then forgets the uncertainty.
 */
export function adoptObserved(
  s: ModelState,
  observed: ReadonlyMap<string, Admin | 'absent'>,
): ModelState {
  if (s.uncertain.size === 0) return s
  return withMembers(
    s,
    m => {
      for (const id of s.uncertain) {
        const seen = observed.get(id)
        if (seen === undefined) continue
        if (seen === 'absent') m.delete(id)
        else m.set(id, { admin: seen, bySidecar: m.get(id)?.bySidecar ?? false })
      }
    },
    { uncertain: new Set() },
  )
}

/** Forgets possible-out marks once the members are seen routable again. */
export function settledOut(
  s: ModelState,
  routableEverywhere: ReadonlySet<string>,
): ModelState {
  const maybeOut = new Set([...s.maybeOut].filter(id => !routableEverywhere.has(id)))
  return maybeOut.size === s.maybeOut.size ? s : { ...s, maybeOut }
}

/** floor((N-1)/2): drains that may run at once with N members (3 → 1, 5 → 2, 7 → 3). */
export function budgetFor(n: number): number {
  return Math.max(0, Math.floor((n - 1) / 2))
}

/** What the drain budget can be at one moment: the fewest and most drains it allows. */
export interface BudgetBounds {
  /** N as small as it can be, every possibly-out member out. */
  readonly least: number
  /** N as large as it can be, only the certainly-out members out. */
  readonly most: number
}

/**
 * The room the budget leaves for a drain of `target`: members out (admin draining or
 * disabled, gone with a kept lease) use it. `downNow` are members that may be down
 * everywhere (health is observed, not modelled), counted as out only for `least`.
 */
export function drainRoom(
  s: ModelState,
  target: string,
  downNow: ReadonlySet<string>,
): BudgetBounds {
  let certainOut = 0
  let possibleOut = 0
  for (const [id, m] of s.members) {
    if (id === target) continue
    if (m.admin !== 'enabled') certainOut++
    else if (downNow.has(id) || s.maybeOut.has(id) || s.uncertain.has(id)) possibleOut++
  }
  let nLeast = s.members.size + (s.members.has(target) ? 0 : 1)
  let nMost = nLeast
  for (const id of s.keptLeases) {
    if (s.members.has(id) || id === target) continue
    nLeast++
    nMost++
    certainOut++
  }
  for (const id of s.maybeOut) {
    if (s.members.has(id) || s.keptLeases.has(id) || id === target) continue
    nMost++
    possibleOut++
  }
  return {
    least: Math.max(0, budgetFor(nLeast) - certainOut - possibleOut),
    most: Math.max(0, budgetFor(nMost) - certainOut),
  }
}

/** How a budgeted (not forced) drain ended. */
export type DrainOutcome = 'granted' | 'refused'

/**
 * Whether a budgeted drain's outcome is possible: a grant needs room in the most generous
 * reading (`most - concurrent > 0`), a refusal needs the budget full in the strictest one
 * (`least - concurrent <= 0`). `concurrent` counts calls that ran at the same time on
 * other enabled members and took them out (granted drains; for a refusal also disables):
 * either order is possible, so each may have gone first.
 */
export function drainOutcomePossible(
  bounds: BudgetBounds,
  outcome: DrainOutcome,
  concurrent: number,
): boolean {
  return outcome === 'granted'
    ? bounds.most - concurrent > 0
    : bounds.least - concurrent <= 0
}

/** A call that ran at the same time as a budgeted drain, and whether it succeeded (2xx). */
export interface ConcurrentCall {
  readonly verb: AdminVerb
  readonly member: string
  readonly force: boolean
  readonly ok: boolean
}

/**
 * How much the calls that ran at the same time as a drain may have changed its room, in
 * the `concurrent` unit of drainOutcomePossible (either order is possible):
 * - for a grant, only what certainly used room counts (budgeted drains of enabled
 *   members), less what may have freed some (an enable or delete of a member out, a new
 *   member raising N);
 * - for a refusal, everything that may have used room: drains and disables of enabled
 *   members, a delete (the member is draining while it goes, then N shrinks), a new member
 *   (it may start down everywhere).
 */
export function concurrentEffect(
  s: ModelState,
  others: readonly ConcurrentCall[],
  outcome: DrainOutcome,
): number {
  let n = 0
  for (const o of others) {
    if (!o.ok) continue
    const m = s.members.get(o.member)
    const enabled = m?.admin === 'enabled'
    if (outcome === 'granted') {
      if (o.verb === 'drain' && !o.force && enabled) n++
      if ((o.verb === 'enable' || o.verb === 'delete') && m !== undefined && !enabled) n--
      if (o.verb === 'put' && m === undefined) n--
    } else {
      if ((o.verb === 'drain' || o.verb === 'disable') && enabled) n++
      if (o.verb === 'delete' && m !== undefined) n++
      if (o.verb === 'put' && m === undefined) n++
    }
  }
  return n
}
