// The drain budget (drain-budget.ts drainDecision, which both stores evaluate inside their
// atomic drain step), and the drain confirmation a sidecar waits for.
import t from 'tap'
import type {
  DrainLease,
  InstanceRecord,
  MemberRecord,
} from '../../src/coordination/codec.js'
import {
  downEverywhere,
  drainConfirmed,
  drainDecision,
  leaseIsVoid,
  standingOf,
  type BudgetStanding,
} from '../../src/coordination/drain-budget.js'
import { openConnections } from '../../src/coordination/drain-budget.js'

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

const standings = (ms: Map<string, MemberRecord>): Map<string, BudgetStanding> =>
  new Map([...ms].map(([id, r]) => [id, standingOf(r)]))

void t.test('budget: 3 → 1, 5 → 2, 7 → 3 with every member routable', t => {
  for (const [n, want] of [
    [3, 1],
    [5, 2],
    [7, 3],
  ] as const) {
    const ids = Array.from({ length: n }, (_, i) => `m${i + 1}`)
    const all = standings(members(...ids.map(id => member(id))))
    const d = drainDecision(all, new Map(), new Set(), 'm1')
    t.strictSame(
      { budget: d.budget, fits: d.fits },
      { budget: want, fits: true },
      `${n} members`,
    )
  }
  t.end()
})

void t.test(
  'budget: a member already out (down everywhere or disabled) uses it up',
  t => {
    const ms = members(member('m1'), member('m2'), member('m3', 'disabled'))
    t.strictSame(drainDecision(standings(ms), new Map(), new Set(), 'm1').out, [
      { member: 'm3', why: 'disabled' },
    ])
    const all = members(member('m1'), member('m2'), member('m3'))
    const down = downEverywhere(all.keys(), new Map([['lb1', instance(['m1', 'm2'])]]))
    t.strictSame([...down], ['m3'], 'm3 routable nowhere')
    t.notOk(drainDecision(standings(all), new Map(), down, 'm1').fits)
    t.ok(
      drainDecision(standings(all), new Map(), down, 'm3').fits,
      'the asker never counts',
    )
    t.strictSame(
      [...downEverywhere(all.keys(), new Map())],
      [],
      'no live instance: none down',
    )
    t.end()
  },
)

void t.test(
  'budget: a lease counts nothing by itself; the member it describes does',
  t => {
    // #18: r1 drained twice and enabled again; a lease left behind (damage, or an old
    // instance) must not use the budget of a 4-pool.
    const all = members(member('m1'), member('m2'), member('m3'), member('m4'))
    const d = drainDecision(standings(all), new Map([['m1', lease]]), new Set(), 'm2')
    t.strictSame({ fits: d.fits, out: d.out }, { fits: true, out: [] })
    t.ok(leaseIsVoid(standingOf(member('m1'))), 'a lease on an enabled member is void')
    t.ok(leaseIsVoid('removing'), 'and on a leaving one')
    t.notOk(leaseIsVoid('draining'), 'a draining member keeps its lease')
    t.notOk(leaseIsVoid(undefined), 'a member that left keeps its lease (sidecar)')
    const draining = members(member('m1', 'draining'), member('m2'), member('m3'))
    const twice = drainDecision(
      standings(draining),
      new Map([['m1', lease]]),
      new Set(),
      'm2',
    )
    t.strictSame(
      twice.out,
      [{ member: 'm1', why: 'draining', holder: 'sidecar:m1' }],
      'counted once',
    )
    t.notOk(twice.fits)
    t.end()
  },
)

void t.test('budget: an unreadable record is unknown, so it counts as out', t => {
  const s = new Map<string, BudgetStanding>([
    ['m1', 'enabled'],
    ['m2', 'unreadable'],
    ['m3', 'enabled'],
  ])
  t.strictSame(drainDecision(s, new Map(), new Set(), 'm1').out, [
    { member: 'm2', why: 'unreadable' },
  ])
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
    const present = standings(members(member('m3'), member('m4'), member('m5')))
    const leases = new Map([
      ['m1', lease],
      ['m2', { ...lease, holder: 'sidecar:m2' }],
    ])
    const d = drainDecision(present, leases, new Set(), 'm3')
    t.strictSame(
      { budget: d.budget, fits: d.fits, out: d.out.map(o => `${o.member}:${o.why}`) },
      { budget: 2, fits: false, out: ['m1:left', 'm2:left'] },
    )
    const one = drainDecision(present, new Map([['m1', lease]]), new Set(), 'm3')
    t.strictSame({ budget: one.budget, fits: one.fits }, { budget: 1, fits: false })
    t.equal(drainDecision(present, leases, new Set(), undefined).budget, 2, 'the gauge')
    t.end()
  },
)
