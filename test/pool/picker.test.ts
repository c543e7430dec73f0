// The Picker over pool snapshots: who is a candidate, the all-down policy, per-member
// limits, retries (exclude) and slow start, for every balancing algorithm.
import t from 'tap'
import type { BalanceAlgorithm } from '../../src/config/types.js'
import { visibleState } from '../../src/pool/member-state.js'
import { buildPicker, type Picker, type PickerOptions } from '../../src/pool/picker.js'
import type { AdminState, Health, MemberView } from '../../src/pool/types.js'

const ALGORITHMS: readonly BalanceAlgorithm[] = [
  'round-robin',
  'least-connections',
  'consistent-hash',
]

/** A member view; `state` is derived exactly as the pool derives it. */
function member(
  id: string,
  health: Health,
  admin: AdminState = 'enabled',
  extra: { weight?: number; upSince?: number } = {},
): MemberView {
  return {
    id,
    address: `10.0.0.${id.charCodeAt(0) - 96}`,
    ports: {},
    weight: extra.weight ?? 1,
    state: visibleState(health, admin),
    health,
    admin,
    stateSince: 0,
    ...(extra.upSince !== undefined ? { upSince: extra.upSince } : {}),
    reason: '',
    recent: [],
    removing: false,
  }
}

function options(extra: Partial<PickerOptions> = {}): PickerOptions {
  return {
    balance: 'round-robin',
    allDown: 'reject',
    slowStartMs: 0,
    maxConnectionsPerMember: 0,
    load: () => 0,
    ...extra,
  }
}

/** Which ids `n` picks returned (with distinct client addresses), and how often. */
function tally(
  picker: Picker,
  n: number,
  now = 0,
  exclude?: ReadonlySet<string>,
): Record<string, number> {
  const counts: Record<string, number> = {}
  for (let i = 0; i < n; i++) {
    const r = picker.pick({
      clientAddress: `10.1.${i >> 8}.${i & 255}`,
      now,
      ...(exclude !== undefined ? { exclude } : {}),
    })
    const key = typeof r === 'string' ? r : r.id
    counts[key] = (counts[key] ?? 0) + 1
  }
  return counts
}

const sortedKeys = (counts: Record<string, number>): string[] =>
  Object.keys(counts).sort()

/** Every visible state once, plus draining and disabled members that are healthy. */
const MIXED: readonly MemberView[] = [
  member('a', 'up'),
  member('b', 'down'),
  member('c', 'up', 'draining'),
  member('d', 'up', 'disabled'),
  member('e', 'down', 'draining'),
  member('f', 'up'),
]

void t.test(
  'only up members are candidates; draining, disabled and down are never picked',
  t => {
    t.plan(ALGORITHMS.length)
    for (const balance of ALGORITHMS) {
      const picker = buildPicker(MIXED, options({ balance, allDown: 'fail-open' }))
      t.strictSame(
        {
          candidates: picker.candidates.map(m => m.id),
          failingOpen: picker.failingOpen,
          picked: sortedKeys(tally(picker, 500)),
        },
        { candidates: ['a', 'f'], failingOpen: false, picked: ['a', 'f'] },
        balance,
      )
    }
  },
)

void t.test('all down with allDown reject: every pick is no-member', t => {
  const cases: { name: string; members: MemberView[] }[] = [
    { name: 'empty pool', members: [] },
    { name: 'all down', members: [member('a', 'down'), member('b', 'down')] },
    {
      name: 'healthy members are all drained or disabled',
      members: [
        member('a', 'up', 'draining'),
        member('b', 'up', 'disabled'),
        member('c', 'down'),
      ],
    },
  ]
  t.plan(cases.length * ALGORITHMS.length)
  for (const c of cases) {
    for (const balance of ALGORITHMS) {
      const picker = buildPicker(c.members, options({ balance }))
      t.strictSame(
        {
          candidates: picker.candidates,
          failingOpen: picker.failingOpen,
          picks: tally(picker, 20),
        },
        { candidates: [], failingOpen: false, picks: { 'no-member': 20 } },
        `${c.name} (${balance})`,
      )
    }
  }
})

void t.test('all down with allDown fail-open: picks among enabled members only', t => {
  const members = [
    member('a', 'down'),
    member('b', 'down', 'draining'),
    member('c', 'down', 'disabled'),
    member('d', 'down'),
    member('e', 'up', 'draining'),
  ]
  t.plan(ALGORITHMS.length + 2)
  for (const balance of ALGORITHMS) {
    const picker = buildPicker(members, options({ balance, allDown: 'fail-open' }))
    t.strictSame(
      {
        candidates: picker.candidates.map(m => m.id),
        failingOpen: picker.failingOpen,
        picked: sortedKeys(tally(picker, 500)),
      },
      { candidates: ['a', 'd'], failingOpen: true, picked: ['a', 'd'] },
      balance,
    )
  }
  const allOut = buildPicker(
    [member('a', 'down', 'disabled'), member('b', 'down', 'draining')],
    options({ allDown: 'fail-open' }),
  )
  t.strictSame(
    { failingOpen: allOut.failingOpen, picks: tally(allOut, 5) },
    { failingOpen: true, picks: { 'no-member': 5 } },
    'nothing enabled: still no-member',
  )
  const recovered = buildPicker(
    [member('a', 'down'), member('b', 'up')],
    options({ allDown: 'fail-open' }),
  )
  t.strictSame(
    { failingOpen: recovered.failingOpen, picks: tally(recovered, 5) },
    { failingOpen: false, picks: { b: 5 } },
    'one member up: no failing open, only the up member',
  )
})

void t.test(
  'the per-member limit skips full members and says limit when all are full',
  t => {
    const members = [member('a', 'up'), member('b', 'up'), member('c', 'up')]
    // Members with room have equal loads, so least-connections shares among them too.
    const cases: {
      name: string
      limit: number
      loads: Record<string, number>
      expect: string[]
    }[] = [
      {
        name: 'a at the limit is skipped',
        limit: 2,
        loads: { a: 2, b: 1, c: 1 },
        expect: ['b', 'c'],
      },
      {
        name: 'a over the limit is skipped',
        limit: 2,
        loads: { a: 9, b: 0, c: 0 },
        expect: ['b', 'c'],
      },
      { name: 'only c has room', limit: 2, loads: { a: 2, b: 2, c: 1 }, expect: ['c'] },
      { name: 'all full', limit: 2, loads: { a: 2, b: 3, c: 2 }, expect: ['limit'] },
      {
        name: '0 means unlimited',
        limit: 0,
        loads: { a: 1e6, b: 1e6, c: 1e6 },
        expect: ['a', 'b', 'c'],
      },
    ]
    t.plan(cases.length * ALGORITHMS.length)
    for (const c of cases) {
      for (const balance of ALGORITHMS) {
        const picker = buildPicker(
          members,
          options({
            balance,
            maxConnectionsPerMember: c.limit,
            load: id => c.loads[id] ?? 0,
          }),
        )
        t.strictSame(sortedKeys(tally(picker, 600)), c.expect, `${c.name} (${balance})`)
      }
    }
  },
)

void t.test('exclude (members already tried) is honoured', t => {
  const members = [member('a', 'up'), member('b', 'up'), member('c', 'up')]
  const cases: {
    name: string
    exclude: string[]
    limit: number
    loads: Record<string, number>
    expect: string[]
  }[] = [
    { name: 'a tried', exclude: ['a'], limit: 0, loads: {}, expect: ['b', 'c'] },
    { name: 'a and b tried', exclude: ['a', 'b'], limit: 0, loads: {}, expect: ['c'] },
    {
      name: 'all tried',
      exclude: ['a', 'b', 'c'],
      limit: 0,
      loads: {},
      expect: ['no-member'],
    },
    {
      name: 'all tried, some full: nobody left to try',
      exclude: ['a', 'b', 'c'],
      limit: 1,
      loads: { a: 1 },
      expect: ['no-member'],
    },
    {
      name: 'the untried one is full: limit',
      exclude: ['a', 'b'],
      limit: 1,
      loads: { c: 1 },
      expect: ['limit'],
    },
    {
      name: 'an unknown id changes nothing',
      exclude: ['zz'],
      limit: 0,
      loads: {},
      expect: ['a', 'b', 'c'],
    },
  ]
  t.plan(cases.length * ALGORITHMS.length)
  for (const c of cases) {
    for (const balance of ALGORITHMS) {
      const picker = buildPicker(
        members,
        options({
          balance,
          maxConnectionsPerMember: c.limit,
          load: id => c.loads[id] ?? 0,
        }),
      )
      t.strictSame(
        sortedKeys(tally(picker, 600, 0, new Set(c.exclude))),
        c.expect,
        `${c.name} (${balance})`,
      )
    }
  }
})

void t.test(
  'consistent hash keeps a client on its member and moves only a tried one',
  t => {
    const members = [member('a', 'up'), member('b', 'up'), member('c', 'up')]
    const picker = buildPicker(members, options({ balance: 'consistent-hash' }))
    const clients = Array.from({ length: 300 }, (_, i) => `192.168.${i >> 8}.${i & 255}`)
    const idOf = (clientAddress: string, exclude?: ReadonlySet<string>): string => {
      const r = picker.pick({ clientAddress, now: 0, ...(exclude ? { exclude } : {}) })
      return typeof r === 'string' ? r : r.id
    }
    const first = clients.map(c => idOf(c))
    t.strictSame(
      clients.map(c => idOf(c)),
      first,
      'the same client goes to the same member',
    )
    const retried = clients.map(c => idOf(c, new Set(['b'])))
    t.strictSame(
      retried.filter((id, i) => id !== first[i] && first[i] !== 'b'),
      [],
      'excluding b moves only the clients of b',
    )
    t.notOk(retried.includes('b'), 'no client of b stays on b')
    t.end()
  },
)

void t.test('least-connections reads load at pick time', t => {
  const loads: Record<string, number> = { a: 3, b: 0, c: 1 }
  const picker = buildPicker(
    [member('a', 'up'), member('b', 'up'), member('c', 'up')],
    options({ balance: 'least-connections', load: id => loads[id] ?? 0 }),
  )
  const got: string[] = []
  for (let i = 0; i < 5; i++) {
    const r = picker.pick({ clientAddress: '10.1.0.1', now: 0 })
    const id = typeof r === 'string' ? r : r.id
    loads[id] = (loads[id] ?? 0) + 1
    got.push(id)
  }
  // b (0) first; then b and c tie and alternate until both reach a's 3.
  t.strictSame(got, ['b', 'c', 'b', 'c', 'b'])
  t.strictSame(loads, { a: 3, b: 3, c: 3 })
  t.end()
})

void t.test(
  'slow start: a readmitted member gets a small share, then its full share',
  t => {
    const SLOW_START_MS = 10_000
    const READMITTED_AT = 50_000
    const cases: {
      name: string
      now: number
      slowStartMs: number
      share: number
    }[] = [
      // Weight 1 × 5% against a member at weight 1: 0.05 / 1.05 of the picks.
      {
        name: 'at t+1ms: the minimum share',
        now: READMITTED_AT + 1,
        slowStartMs: SLOW_START_MS,
        share: 0.05 / 1.05,
      },
      {
        name: 'halfway: half its weight',
        now: READMITTED_AT + 5_000,
        slowStartMs: SLOW_START_MS,
        share: 0.5 / 1.5,
      },
      {
        name: 'after slowStartMs: full share',
        now: READMITTED_AT + SLOW_START_MS,
        slowStartMs: SLOW_START_MS,
        share: 0.5,
      },
      {
        name: 'long after: full share',
        now: READMITTED_AT + 1e6,
        slowStartMs: SLOW_START_MS,
        share: 0.5,
      },
      {
        name: 'slow start off: full share at once',
        now: READMITTED_AT + 1,
        slowStartMs: 0,
        share: 0.5,
      },
    ]
    t.plan(cases.length + 1)
    const PICKS = 4_200
    for (const c of cases) {
      const picker = buildPicker(
        [member('a', 'up'), member('b', 'up', 'enabled', { upSince: READMITTED_AT })],
        options({ balance: 'round-robin', slowStartMs: c.slowStartMs }),
      )
      const b = tally(picker, PICKS, c.now).b ?? 0
      const share = b / PICKS
      t.ok(
        Math.abs(share - c.share) < 0.005,
        `${c.name}: b got ${share}, want ${c.share}`,
      )
    }
    // The first admission (no upSince) is not slow-started.
    const fresh = buildPicker(
      [member('a', 'up'), member('b', 'up')],
      options({ slowStartMs: SLOW_START_MS }),
    )
    t.strictSame(tally(fresh, 1_000, 1), { a: 500, b: 500 }, 'no upSince: full share')
  },
)

void t.test('slow start ramps within one picker as time passes', t => {
  // The data path keeps one picker until the pool changes, so the ramp must follow `now`.
  const picker = buildPicker(
    [member('a', 'up'), member('b', 'up', 'enabled', { upSince: 0 })],
    options({ slowStartMs: 1_000 }),
  )
  const shares = [1, 500, 1_000].map(now => (tally(picker, 2_100, now).b ?? 0) / 2_100)
  t.ok(shares[0] !== undefined && shares[0] < 0.06, `t+1ms: ${shares[0]}`)
  t.ok(
    shares[1] !== undefined && Math.abs(shares[1] - 1 / 3) < 0.01,
    `t+500ms: ${shares[1]}`,
  )
  t.ok(
    shares[2] !== undefined && Math.abs(shares[2] - 0.5) < 0.01,
    `t+1000ms: ${shares[2]}`,
  )
  t.end()
})
