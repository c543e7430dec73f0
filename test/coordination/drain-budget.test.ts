// The drain budget as the sidecar computes it from the shared store, and the drain
// confirmation it waits for.
import t from 'tap'
import type {
  DrainLease,
  InstanceRecord,
  MemberRecord,
} from '../../src/coordination/codec.js'
import {
  drainConfirmed,
  openConnections,
  sharedDrainBudget,
} from '../../src/coordination/drain-budget.js'

const member = (id: string, admin: MemberRecord['admin'] = 'enabled'): MemberRecord => ({
  v: 1,
  member: { id, address: '127.0.0.1', ports: {}, weight: 1 },
  admin,
  removing: false,
  rev: 1,
  by: 'x',
  reason: '',
  at: 0,
})
const members = (...ms: MemberRecord[]): Map<string, MemberRecord> =>
  new Map(ms.map(m => [m.member.id, m]))
const instance = (
  routable: string[],
  appliedVersion = 5,
  loads: Record<string, number> = {},
): InstanceRecord => ({
  v: 1,
  id: 'lb',
  host: 'h',
  pid: 1,
  version: '0',
  startedAt: 0,
  appliedVersion,
  loads,
  routable,
  fenced: false,
})
const lease: DrainLease = {
  v: 1,
  holder: 'sidecar:m1',
  token: 't',
  reason: '',
  at: 0,
  expiresAt: 1,
}

void t.test('budget: 3 → 1, 5 → 2, 7 → 3 with every member routable', t => {
  for (const [n, want] of [
    [3, 1],
    [5, 2],
    [7, 3],
  ] as const) {
    const ids = Array.from({ length: n }, (_, i) => `m${i + 1}`)
    const budget = sharedDrainBudget(
      members(...ids.map(id => member(id))),
      new Map([['lb1', instance(ids)]]),
      new Map(),
      'm1',
    )
    t.equal(budget, want, `${n} members`)
  }
  t.end()
})

void t.test(
  'budget: a member already out (down everywhere or disabled) uses it up',
  t => {
    const ms = members(member('m1'), member('m2'), member('m3', 'disabled'))
    t.equal(
      sharedDrainBudget(ms, new Map([['lb1', instance(['m1', 'm2'])]]), new Map(), 'm1'),
      0,
    )
    const all = members(member('m1'), member('m2'), member('m3'))
    t.equal(
      sharedDrainBudget(all, new Map([['lb1', instance(['m1', 'm2'])]]), new Map(), 'm1'),
      0,
      'm3 routable nowhere',
    )
    t.equal(
      sharedDrainBudget(all, new Map([['lb1', instance(['m1', 'm2'])]]), new Map(), 'm3'),
      1,
      'the asker itself never counts as out',
    )
    t.end()
  },
)

void t.test('budget: a leased member is not counted as out a second time', t => {
  const all = members(member('m1', 'draining'), member('m2'), member('m3'))
  const b = sharedDrainBudget(
    all,
    new Map([['lb1', instance(['m2', 'm3'])]]),
    new Map([['m1', lease]]),
    'm2',
  )
  t.equal(b, 1, 'the Lua script then refuses: one other lease already uses the 1')
  t.end()
})

void t.test(
  'confirmation: every live instance applied the rev and stopped routing',
  t => {
    const inst = new Map([
      ['lb1', instance(['m2'], 7)],
      ['lb2', instance(['m1', 'm2'], 7)],
      ['lb3', instance(['m2'], 6)],
    ])
    t.strictSame(drainConfirmed(inst, 'm1', 7).waitingFor, ['lb2', 'lb3'])
    t.ok(drainConfirmed(new Map([['lb1', instance(['m2'], 7)]]), 'm1', 7).done)
    t.ok(drainConfirmed(new Map(), 'm1', 7).done, 'no live instance: nothing to wait for')
    t.strictSame(
      [...openConnections(new Map([['lb1', instance([], 7, { m1: 2, m2: 1 })]]), 'm1')],
      [['lb1', 2]],
    )
    t.end()
  },
)

void t.test(
  'budget: a member that left holding its lease still counts in N (no erosion)',
  t => {
    // A 5-pool whose m1 and m2 were drained and deregistered by their sidecars, each
    // keeping its lease while its replica is out: N stays 5, the budget 2, and both
    // leases use it, so m3 must wait (without the absent ones N would be 3 and m3 could
    // drain, leaving 2 of 5 routable).
    const present = members(member('m3'), member('m4'), member('m5'))
    const leases = new Map([
      ['m1', lease],
      ['m2', { ...lease, holder: 'sidecar:m2' }],
    ])
    const budget = sharedDrainBudget(
      present,
      new Map([['lb1', instance(['m3', 'm4', 'm5'])]]),
      leases,
      'm3',
    )
    t.equal(budget, 2, 'floor((5-1)/2): the absent leased members count')
    t.ok(leases.size >= budget, 'both leases use the whole budget: m3 is refused')
    t.equal(
      sharedDrainBudget(present, new Map(), new Map([['m1', lease]]), 'm3'),
      1,
      'one absent leased member: N 4, budget 1',
    )
    t.end()
  },
)
