// The member health state machine: PURE (no I/O, no clock; `now` is an argument).
// Drawn in docs/state-machine.md; test/pool/member-state.test.ts covers every arrow.
import type {
  AdminState,
  CheckRecord,
  CheckResult,
  Health,
  MemberState,
} from './types.js'

/** Rise/fall thresholds (HAProxy `rise`/`fall`). */
export interface Thresholds {
  readonly rise: number
  readonly fall: number
}

/** Results kept per member for the pool API ("why is it out?"). */
export const RECENT_RESULTS = 5

/**
 * A member's health. `counter` is HAProxy's single bounded counter
 * (include/haproxy/check-t.h): 0..rise-1 means down, rise..rise+fall-1 means up. Each
 * result steps it by one; a crossing snaps it to the far end, so `fall` consecutive
 * failures take a fully-up member down and `rise` successes bring a down member up.
 */
export interface MemberHealth {
  readonly health: Health
  readonly counter: number
  /** Monotonic ms of the last health change (or of creation). */
  readonly since: number
  /** Monotonic ms of the last readmission (down → up after having been up): slow start. */
  readonly upSince?: number
  /** Whether the member was ever up; its first pass is admission, not readmission. */
  readonly wasUp: boolean
  /** Why the member is in its health state: set by transitions, not by every result. */
  readonly reason: string
  /** The last RECENT_RESULTS results, newest last: the latest check is the last entry. */
  readonly recent: readonly CheckRecord[]
}

/** What one observation did: nothing, moved the counter toward a transition, or transitioned. */
export type StepChange = 'unchanged' | 'pending' | 'changed'

/** The result of `observe`: the new health, what changed, and why. */
export interface Step {
  readonly health: MemberHealth
  readonly change: StepChange
  readonly reason: string
}

const top = (t: Thresholds): number => t.rise + t.fall - 1

/**
 * Health of a new member. "down" starts one success short of up (counter rise-1): a dead
 * replica is never routable, yet the first passing probe admits it at once, as Envoy does
 * for new hosts ("This makes startup faster with a small reduction in overall reliability").
 */
export function initialHealth(initial: Health, t: Thresholds, now: number): MemberHealth {
  return initial === 'up'
    ? {
        health: 'up',
        counter: top(t),
        since: now,
        wasUp: true,
        reason: 'initial state up',
        recent: [],
      }
    : {
        health: 'down',
        counter: t.rise - 1,
        since: now,
        wasUp: false,
        reason: 'awaiting first check',
        recent: [],
      }
}

/** Describes a result briefly for logs and the API: "ok 3ms" or "refused: connect ECONNREFUSED". */
export function describeResult(r: CheckResult): string {
  return r.ok
    ? `ok${r.status !== undefined ? ` ${r.status}` : ''}`
    : `${r.reason}: ${r.detail}`
}

/** Clamps a counter into range after thresholds changed on reload, keeping the verdict. */
export function rethreshold(h: MemberHealth, t: Thresholds): MemberHealth {
  const counter = h.health === 'up' ? top(t) : Math.min(h.counter, t.rise - 1)
  return { ...h, counter }
}

/** Applies one check result at time `now`; never mutates `h`. */
export function observe(
  h: MemberHealth,
  r: CheckResult,
  now: number,
  t: Thresholds,
): Step {
  const recent = [...h.recent, { at: now, result: r }].slice(-RECENT_RESULTS)
  const max = top(t)
  if (r.ok) {
    const counter = Math.min(h.counter + 1, max)
    if (h.health === 'down' && counter >= t.rise) {
      const first = !h.wasUp
      const reason = first
        ? 'first check passed'
        : `${t.rise} consecutive successful check${t.rise > 1 ? 's' : ''}`
      // Slow start ramps readmitted members only: a member's first pass is not a recovery
      // (HAProxy likewise skips slowstart at startup).
      return {
        health: {
          health: 'up',
          counter: max,
          since: now,
          wasUp: true,
          ...(first ? {} : { upSince: now }),
          reason,
          recent,
        },
        change: 'changed',
        reason,
      }
    }
    // Toward a crossing is 'pending'; a success while up only restores the margin.
    const change: StepChange = h.health === 'down' ? 'pending' : 'unchanged'
    return { health: { ...h, counter, recent }, change, reason: describeResult(r) }
  }
  const counter = Math.max(h.counter - 1, 0)
  if (h.health === 'up' && counter < t.rise) {
    const reason = `${t.fall} failed check${t.fall > 1 ? 's' : ''} (last ${describeResult(r)})`
    return {
      health: {
        health: 'down',
        counter: 0,
        since: now,
        wasUp: true,
        reason,
        recent,
      },
      change: 'changed',
      reason,
    }
  }
  // `reason` says why the member is in its state, so later failures leave it alone (the
  // latest result is recent's last entry). A member's very first failure replaces
  // "awaiting first check", which would otherwise claim it was never checked.
  const firstFailure = !h.wasUp && h.recent.length === 0
  const change: StepChange = h.health === 'up' ? 'pending' : 'unchanged'
  return {
    health: {
      ...h,
      counter,
      recent,
      reason: firstFailure ? `first check failed: ${describeResult(r)}` : h.reason,
    },
    change,
    reason: describeResult(r),
  }
}

/** Whether a step left a transition in progress (the checker then probes at fastInterval). */
export function isPending(h: MemberHealth, t: Thresholds): boolean {
  return h.health === 'up' ? h.counter < top(t) : h.counter > 0
}

/** The one state users see: admin intent wins over health. */
export function visibleState(health: Health, admin: AdminState): MemberState {
  switch (admin) {
    case 'disabled':
      return 'disabled'
    case 'draining':
      return 'draining'
    case 'enabled':
      return health
  }
}

/** Whether a member in this state takes new connections. */
export function isRoutable(state: MemberState): boolean {
  return state === 'up'
}
