// The fleet simulation's reference model (chaos/sim/model.ts), its seeded plans
// (chaos/sim/ops.ts) and its pure invariants (chaos/sim/invariants.ts).
import t from 'tap'
import {
  adoptObserved,
  applyAdmin,
  budgetFor,
  concurrentEffect,
  drainOutcomePossible,
  drainRoom,
  fileReloaded,
  initialModel,
  leasesLost,
  markUncertain,
  settledOut,
  sidecarKilled,
  sidecarStarted,
  sidecarStopped,
  type AdminVerb,
  type ModelState,
} from '../../chaos/sim/model.js'
import { describeOp, planFor } from '../../chaos/sim/ops.js'
import {
  agreedUncertain,
  dataPathViolations,
  leaseViolations,
  membershipViolations,
  storeViolations,
} from '../../chaos/sim/invariants.js'
import type { PoolView, SeenMember } from '../../chaos/sim/observe.js'
import { seededRng } from '../../chaos/sim/rng.js'

/** id → admin, for compact expectations. */
function admins(s: ModelState): Record<string, string> {
  return Object.fromEntries([...s.members].map(([id, m]) => [id, m.admin]))
}

function run(s: ModelState, ops: readonly [AdminVerb, string][]): ModelState {
  return ops.reduce((m, [verb, id]) => applyAdmin(m, verb, id), s)
}

const start = initialModel(['r1', 'r2', 'r3'], ['r4'])

void t.test('admin calls that succeeded move the model as the coordinator does', t => {
  const cases: {
    name: string
    ops: [AdminVerb, string][]
    want: Record<string, string>
  }[] = [
    {
      name: 'drain',
      ops: [['drain', 'r1']],
      want: { r1: 'draining', r2: 'enabled', r3: 'enabled', r4: 'enabled' },
    },
    {
      name: 'drain then enable',
      ops: [
        ['drain', 'r1'],
        ['enable', 'r1'],
      ],
      want: { r1: 'enabled', r2: 'enabled', r3: 'enabled', r4: 'enabled' },
    },
    {
      name: 'put keeps an admin state',
      ops: [
        ['disable', 'r2'],
        ['put', 'r2'],
      ],
      want: { r1: 'enabled', r2: 'disabled', r3: 'enabled', r4: 'enabled' },
    },
    {
      name: 'put adds enabled',
      ops: [['put', 'r9']],
      want: { r1: 'enabled', r2: 'enabled', r3: 'enabled', r4: 'enabled', r9: 'enabled' },
    },
    {
      name: 'delete removes',
      ops: [['delete', 'r3']],
      want: { r1: 'enabled', r2: 'enabled', r4: 'enabled' },
    },
    {
      name: 'delete of a sidecar member: registered again',
      ops: [
        ['disable', 'r4'],
        ['delete', 'r4'],
      ],
      want: { r1: 'enabled', r2: 'enabled', r3: 'enabled', r4: 'enabled' },
    },
    {
      name: 'calls on an absent member change nothing',
      ops: [
        ['drain', 'r9'],
        ['enable', 'r9'],
        ['delete', 'r9'],
      ],
      want: { r1: 'enabled', r2: 'enabled', r3: 'enabled', r4: 'enabled' },
    },
  ]
  t.plan(cases.length)
  for (const c of cases) t.strictSame(admins(run(start, c.ops)), c.want, c.name)
})

void t.test(
  'sidecars: registration keeps an operator state, drains keep the lease',
  t => {
    const killed = sidecarKilled(applyAdmin(start, 'disable', 'r4'), 'r4')
    t.strictSame(
      admins(sidecarStarted(killed, 'r4')).r4,
      'disabled',
      'operator disable survives',
    )
    const stopped = sidecarStopped(start, 'r4', true)
    t.notOk(stopped.members.has('r4'), 'drained: deregistered')
    t.ok(stopped.keptLeases.has('r4'), 'drained: lease kept')
    t.notOk(stopped.sidecars.has('r4'), 'not running')
    const refused = sidecarStopped(start, 'r4', false)
    t.strictSame(admins(refused).r4, 'enabled', 'refused: left registered')
    const again = sidecarStarted(stopped, 'r4')
    t.strictSame(admins(again).r4, 'enabled', 'back: registered enabled')
    t.notOk(again.keptLeases.has('r4'), 'back: lease no longer certain')
    t.ok(again.maybeOut.has('r4'), 'back: may count as out until seen up')
    t.notOk(settledOut(again, new Set(['r4'])).maybeOut.has('r4'), 'seen up: forgotten')
    // A drain left behind by the sidecar itself is undone by its registration.
    const leftover = {
      ...start,
      members: new Map([
        ...start.members,
        ['r4', { admin: 'draining' as const, bySidecar: true }],
      ]),
    }
    t.strictSame(
      admins(sidecarStarted(sidecarKilled(leftover, 'r4'), 'r4')).r4,
      'enabled',
    )
    t.end()
  },
)

void t.test('a reload applies the file diff as puts and deletes', t => {
  const s = fileReloaded(start, ['r1', 'r2', 'r3'], ['r1', 'r3', 'r7'])
  t.strictSame(Object.keys(admins(s)).sort(), ['r1', 'r3', 'r4', 'r7'])
  t.end()
})

void t.test('lost leases make kept leases uncertain', t => {
  const s = leasesLost(sidecarStopped(start, 'r4', true))
  t.equal(s.keptLeases.size, 0)
  t.ok(s.maybeOut.has('r4'))
  t.end()
})

void t.test('uncertain members adopt what every instance agrees on', t => {
  const s = markUncertain(start, 'r1')
  t.strictSame(admins(adoptObserved(s, new Map([['r1', 'disabled']]))).r1, 'disabled')
  t.notOk(adoptObserved(s, new Map([['r1', 'absent']])).members.has('r1'))
  t.equal(adoptObserved(s, new Map()).uncertain.size, 0)
  t.end()
})

void t.test('budget: floor((N-1)/2), less members really out', t => {
  t.strictSame([1, 2, 3, 4, 5, 6, 7].map(budgetFor), [0, 0, 1, 1, 2, 2, 3])
  // 4 members, none out: room for 1 drain, whatever the target.
  t.strictSame(drainRoom(start, 'r1', new Set()), { least: 1, most: 1 })
  // One disabled: full.
  t.strictSame(drainRoom(applyAdmin(start, 'disable', 'r2'), 'r1', new Set()), {
    least: 0,
    most: 0,
  })
  // The target's own drain does not count against it (drain again elsewhere).
  t.strictSame(drainRoom(applyAdmin(start, 'drain', 'r1'), 'r1', new Set()), {
    least: 1,
    most: 1,
  })
  // A member possibly down everywhere: a refusal is possible, a grant too.
  t.strictSame(drainRoom(start, 'r1', new Set(['r3'])), { least: 0, most: 1 })
  // Gone with a kept lease: N still counts it, and it is out.
  const gone = sidecarStopped(start, 'r4', true)
  t.strictSame(drainRoom(gone, 'r1', new Set()), { least: 0, most: 0 })
  t.end()
})

void t.test('which drain outcomes are possible', t => {
  const cases = [
    { bounds: { least: 1, most: 1 }, outcome: 'granted', concurrent: 0, ok: true },
    { bounds: { least: 1, most: 1 }, outcome: 'refused', concurrent: 0, ok: false },
    { bounds: { least: 1, most: 1 }, outcome: 'refused', concurrent: 1, ok: true },
    { bounds: { least: 1, most: 1 }, outcome: 'granted', concurrent: 1, ok: false },
    { bounds: { least: 0, most: 0 }, outcome: 'granted', concurrent: 0, ok: false },
    { bounds: { least: 0, most: 2 }, outcome: 'granted', concurrent: 1, ok: true },
    { bounds: { least: 0, most: 2 }, outcome: 'refused', concurrent: 0, ok: true },
  ] as const
  t.plan(cases.length)
  for (const c of cases)
    t.equal(
      drainOutcomePossible(c.bounds, c.outcome, c.concurrent),
      c.ok,
      JSON.stringify(c),
    )
})

function view(lb: string, members: Record<string, Partial<SeenMember>>): PoolView {
  return {
    lb,
    connected: true,
    instances: 3,
    members: new Map(
      Object.entries(members).map(([id, m]) => [
        id,
        { state: 'up', health: 'up', admin: 'enabled', removing: false, ...m },
      ]),
    ),
  }
}

void t.test('membership invariants name both sides', t => {
  const model = initialModel(['r1', 'r2'], [])
  t.strictSame(membershipViolations(model, view('lb1', { r1: {}, r2: {} })), [])
  const lost = membershipViolations(model, view('lb1', { r1: {} }))
  t.equal(lost[0]?.invariant, '2 nothing lost')
  t.match(lost[0]?.actual, /r2 absent/)
  const admin = membershipViolations(
    model,
    view('lb1', { r1: { admin: 'draining' }, r2: {} }),
  )
  t.equal(admin[0]?.invariant, '1 convergence')
  const extra = membershipViolations(model, view('lb1', { r1: {}, r2: {}, r3: {} }))
  t.match(extra[0]?.actual, /r3 listed/)
  t.end()
})

void t.test('uncertain members must agree across instances', t => {
  const model = markUncertain(initialModel(['r1'], []), 'r1')
  t.strictSame(
    agreedUncertain(model, [view('a', { r1: {} }), view('b', { r1: {} })]),
    new Map([['r1', 'enabled']]),
  )
  t.equal(agreedUncertain(model, [view('a', { r1: {} }), view('b', {})]), undefined)
  t.end()
})

void t.test(
  'a readable lease on an up, enabled member is a violation; garbage is not',
  t => {
    const model = initialModel(['r1', 'r2'], [])
    const views = [view('a', { r1: {}, r2: { admin: 'draining', state: 'draining' } })]
    const lease = JSON.stringify({
      v: 1,
      holder: 'api@lb2',
      token: 't',
      reason: 'x',
      at: 1,
      expiresAt: 2,
    })
    t.equal(leaseViolations(model, new Map([['r1', lease]]), views).length, 1)
    t.equal(leaseViolations(model, new Map([['r1', 'garbage']]), views).length, 0)
    const draining = applyAdmin(model, 'drain', 'r2')
    t.equal(leaseViolations(draining, new Map([['r2', lease]]), views).length, 0)
    t.end()
  },
)

void t.test('the data path may reach only members the API shows up', t => {
  const v = view('lb1', { r1: {}, r2: { state: 'down', health: 'down' } })
  t.strictSame(dataPathViolations(v, ['r1', 'r1']), [])
  t.match(dataPathViolations(v, ['r1', 'r2'])[0]?.actual, /r2/)
  t.end()
})

void t.test('a seed draws the same plan every time, and a prefix for fewer steps', t => {
  const a = planFor(42, 30)
  t.strictSame(planFor(42, 30), a)
  t.strictSame(planFor(42, 10).steps, a.steps.slice(0, 10))
  t.ok(a.universe.replicas.length >= 5 && a.universe.replicas.length <= 7)
  t.notSame(planFor(43, 30).steps, a.steps)
  for (const op of a.steps) t.type(describeOp(op), 'string')
  const r = seededRng(1)
  const draws = Array.from({ length: 1000 }, () => r.int(6))
  t.ok(new Set(draws).size === 6, 'every value of a small range drawn')
  t.end()
})

void t.test('the store must hold a readable record per member, damage repaired', t => {
  const model = applyAdmin(initialModel(['r1', 'r2'], []), 'drain', 'r2')
  const rec = (id: string, admin: string): string =>
    JSON.stringify({ v: 1, member: { id }, admin, removing: false })
  const good = new Map([
    ['r1', rec('r1', 'enabled')],
    ['r2', rec('r2', 'draining')],
  ])
  t.strictSame(storeViolations(model, good), [])
  const damaged = storeViolations(model, new Map([...good, ['r1', 'garbage']]))
  t.equal(damaged[0]?.invariant, '2 nothing lost')
  t.match(damaged[0]?.actual, /unreadable/)
  t.equal(storeViolations(model, undefined)[0]?.invariant, '2 nothing lost')
  const stale = storeViolations(model, new Map([...good, ['r2', rec('r2', 'enabled')]]))
  t.equal(stale[0]?.invariant, '1 convergence')
  t.equal(
    storeViolations(model, new Map([...good, ['r9', rec('r9', 'enabled')]])).length,
    1,
  )
  t.end()
})

void t.test('calls at the same time as a drain count toward its room both ways', t => {
  const s = applyAdmin(start, 'disable', 'r3')
  const call = (verb: AdminVerb, member: string, ok = true) => ({
    verb,
    member,
    force: false,
    ok,
  })
  const cases = [
    {
      name: 'a granted drain uses room',
      others: [call('drain', 'r2')],
      grant: 1,
      refuse: 1,
    },
    {
      name: 'a failed call counts for nothing',
      others: [call('drain', 'r2', false)],
      grant: 0,
      refuse: 0,
    },
    {
      name: 'a disable may have gone first',
      others: [call('disable', 'r2')],
      grant: 0,
      refuse: 1,
    },
    {
      name: 'a delete may have gone first',
      others: [call('delete', 'r2')],
      grant: 0,
      refuse: 1,
    },
    {
      name: 'enabling a member out frees room',
      others: [call('enable', 'r3')],
      grant: -1,
      refuse: 0,
    },
    {
      name: 'a new member raises N, or starts down',
      others: [call('put', 'r9')],
      grant: -1,
      refuse: 1,
    },
  ]
  t.plan(cases.length)
  for (const c of cases)
    t.strictSame(
      [
        concurrentEffect(s, c.others, 'granted'),
        concurrentEffect(s, c.others, 'refused'),
      ],
      [c.grant, c.refuse],
      c.name,
    )
})
