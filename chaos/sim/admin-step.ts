// One admin step of the simulation: the calls (at once, or one of a burst), the model
// updated from what succeeded, and invariant 3's budget checks on every budgeted drain.
import type { Fleet } from './fleet.js'
import type { Violation } from './invariants.js'
import {
  applyAdmin,
  concurrentEffect,
  drainOutcomePossible,
  drainRoom,
  markUncertain,
  type ModelState,
} from './model.js'
import { adminCall, type AdminAnswer } from './observe.js'
import type { AdminCall } from './ops.js'

/**
 * One or two admin calls at once (on different members and instances): the model after
 * what succeeded, each answer, and the budget checks of every budgeted drain.
 * `removals` holds the members deleted earlier in the same step (updated in place).
 */
export async function adminCalls(
  fleet: Fleet,
  before: ModelState,
  removals: Set<string>,
  down: ReadonlySet<string>,
  calls: readonly AdminCall[],
): Promise<{ model: ModelState; outcome: string; found: Violation[] }> {
  let model = before
  const answers = await Promise.all(calls.map(c => callAdmin(fleet, c)))
  const found: Violation[] = []
  const ok = (status: number): boolean => status >= 200 && status < 300
  for (const [i, c] of calls.entries()) {
    const a = answers[i] ?? { status: 0, body: '' }
    const others = calls
      .map((o, j) => ({ ...o, ok: ok(answers[j]?.status ?? 0) }))
      .filter((_, j) => j !== i)
    if (c.verb === 'drain' && !c.force && before.members.has(c.member)) {
      const bounds = drainRoom(before, c.member, down)
      const granted = a.status === 200
      if (granted || a.status === 409) {
        const concurrent = concurrentEffect(
          before,
          others,
          granted ? 'granted' : 'refused',
        )
        const outcome = granted ? 'granted' : 'refused'
        if (!drainOutcomePossible(bounds, outcome, concurrent))
          found.push(
            budgetViolation(`${c.lb}: drain ${c.member}`, outcome, bounds, a.body),
          )
      }
    }
    if (ok(a.status)) {
      model = applyAdmin(model, c.verb, c.member)
      // An enable cancels a removal still in progress (Coordinator.setAdmin), which
      // ends as soon as the member is idle: after a delete in the same step, either.
      if (c.verb === 'delete') removals.add(c.member)
      else if (c.verb === 'put') removals.delete(c.member)
      else if (c.verb === 'enable' && removals.delete(c.member))
        model = markUncertain(model, c.member)
    } else if (a.status === 0) model = markUncertain(model, c.member)
    else if (a.status >= 500 && a.status !== 503)
      found.push({
        invariant: '5 liveness',
        where: `${c.lb}: ${c.verb} ${c.member}`,
        expected: 'an answer (2xx, 404, 409 or 503)',
        actual: `${a.status} ${a.body.slice(0, 300)}`,
      })
  }
  return { model, outcome: answers.map(a => String(a.status)).join(' ∥ '), found }
}

/** Sends one admin call to its instance; status 0 when no answer came. */
export async function callAdmin(fleet: Fleet, c: AdminCall): Promise<AdminAnswer> {
  const lb = fleet.lb(c.lb)
  const path = `/api/v1/members/${c.member}`
  switch (c.verb) {
    case 'put': {
      const p = fleet.memberPorts(c.member)
      return adminCall(lb, 'PUT', path, {
        address: '127.0.0.1',
        ports: { http: p.http, https: p.https, health: p.health },
      })
    }
    case 'delete':
      return adminCall(lb, 'DELETE', path)
    case 'drain':
      return adminCall(lb, 'POST', `${path}/drain${c.force ? '?force=true' : ''}`)
    case 'enable':
    case 'disable':
      return adminCall(lb, 'POST', `${path}/${c.verb}`)
  }
}

/** A budget check that failed: what the budget allowed and what happened. */
export function budgetViolation(
  where: string,
  outcome: 'granted' | 'refused',
  bounds: { least: number; most: number },
  body = '',
): Violation {
  return {
    invariant: '3 leases',
    where,
    expected:
      outcome === 'granted'
        ? `refused: the budget had no room (at most ${bounds.most} more drains)`
        : `granted: the budget had room for at least ${bounds.least} more drain(s) (members really out do not fill it)`,
    actual: `${outcome}${body === '' ? '' : `: ${body.slice(0, 300)}`}`,
  }
}
