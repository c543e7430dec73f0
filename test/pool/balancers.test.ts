// The balancing algorithms over fixed candidate lists: exact pick sequences for
// round-robin and least-connections, distribution and minimal disruption for the ring.
import t from 'tap'
import type { BalanceRequest } from '../../src/pool/balancers/balancer.js'
import {
  ConsistentHashBalancer,
  VNODES_PER_WEIGHT,
} from '../../src/pool/balancers/consistent-hash.js'
import { hash32 } from '../../src/pool/balancers/hash.js'
import { LeastConnectionsBalancer } from '../../src/pool/balancers/least-connections.js'
import { RoundRobinBalancer } from '../../src/pool/balancers/round-robin.js'

const NAMES = 'abcdefghij'
const name = (i: number): string => (i < 0 ? '-' : (NAMES[i] ?? '?'))

/** A request over candidates named a, b, c, ...: `ineligible` by name, loads by index. */
function request(
  key = '',
  ineligible = '',
  loads: readonly number[] = [],
): BalanceRequest {
  return {
    key,
    eligible: i => !ineligible.includes(name(i)),
    load: i => loads[i] ?? 0,
  }
}

/** `n` picks as a string of names: 'aabacaa'. */
function sequence(pick: () => number, n: number): string {
  let s = ''
  for (let k = 0; k < n; k++) s += name(pick())
  return s
}

const count = (s: string, c: string): number => s.split(c).length - 1

void t.test('round-robin yields the exact smooth weighted sequence', t => {
  const cases: { name: string; weights: number[]; picks: number; expect: string }[] = [
    {
      name: 'equal weights rotate a b c',
      weights: [1, 1, 1],
      picks: 9,
      expect: 'abcabcabc',
    },
    {
      name: 'weights 5:1:1 interleave (nginx smooth WRR), twice',
      weights: [5, 1, 1],
      picks: 14,
      expect: 'aabacaaaabacaa',
    },
    { name: 'weights 2:1', weights: [2, 1], picks: 6, expect: 'abaaba' },
    { name: 'weights 3:2:1', weights: [3, 2, 1], picks: 6, expect: 'abacba' },
    { name: 'a single member', weights: [4], picks: 3, expect: 'aaa' },
  ]
  t.plan(cases.length)
  for (const c of cases) {
    const rr = new RoundRobinBalancer(c.weights.length)
    t.strictSame(
      sequence(() => rr.pick(request(), c.weights), c.picks),
      c.expect,
      c.name,
    )
  }
})

void t.test('round-robin gives exactly weight picks per cycle of total weight', t => {
  const cases: { name: string; weights: number[] }[] = [
    { name: '5:1:1', weights: [5, 1, 1] },
    { name: '3:2:1', weights: [3, 2, 1] },
    { name: '1:1:1:1', weights: [1, 1, 1, 1] },
    { name: '7:3', weights: [7, 3] },
  ]
  t.plan(cases.length)
  for (const c of cases) {
    const rr = new RoundRobinBalancer(c.weights.length)
    const total = c.weights.reduce((a, b) => a + b, 0)
    const cycles: number[][] = []
    for (let cycle = 0; cycle < 10; cycle++) {
      const s = sequence(() => rr.pick(request(), c.weights), total)
      cycles.push(c.weights.map((_, i) => count(s, name(i))))
    }
    t.strictSame(
      cycles,
      Array.from({ length: 10 }, () => c.weights),
      c.name,
    )
  }
})

void t.test(
  'round-robin skips ineligible members and returns -1 when none is left',
  t => {
    const cases: {
      name: string
      weights: number[]
      ineligible: string
      picks: number
      expect: string
    }[] = [
      {
        name: 'b skipped',
        weights: [1, 1, 1],
        ineligible: 'b',
        picks: 6,
        expect: 'acacac',
      },
      {
        name: 'a (the heavy one) skipped',
        weights: [5, 1, 1],
        ineligible: 'a',
        picks: 4,
        expect: 'bcbc',
      },
      { name: 'all skipped', weights: [1, 1], ineligible: 'ab', picks: 2, expect: '--' },
    ]
    t.plan(cases.length + 1)
    for (const c of cases) {
      const rr = new RoundRobinBalancer(c.weights.length)
      t.strictSame(
        sequence(() => rr.pick(request('', c.ineligible), c.weights), c.picks),
        c.expect,
        c.name,
      )
    }
    t.equal(new RoundRobinBalancer(0).pick(request(), []), -1, 'empty candidate list')
  },
)

void t.test('round-robin resumes its rotation when a skipped member returns', t => {
  const rr = new RoundRobinBalancer(3)
  const w = [1, 1, 1]
  const s =
    sequence(() => rr.pick(request(), w), 2) +
    sequence(() => rr.pick(request('', 'c'), w), 2) +
    sequence(() => rr.pick(request(), w), 6)
  // Every member still gets its share of the 10 picks; c comes back first, being owed one.
  t.strictSame([s, count(s, 'a'), count(s, 'b'), count(s, 'c')], ['ababcabcab', 4, 4, 2])
  t.end()
})

void t.test('least-connections picks the minimum (load + 1) / weight', t => {
  const cases: {
    name: string
    loads: number[]
    weights: number[]
    expect: string
  }[] = [
    {
      name: 'fewest connections wins',
      loads: [3, 1, 2],
      weights: [1, 1, 1],
      expect: 'b',
    },
    {
      name: 'weight 4 with 3 conns (1.0) beats weight 1 with 1 (2.0)',
      loads: [3, 1],
      weights: [4, 1],
      expect: 'a',
    },
    {
      name: 'weight 4 with 7 conns (2.0) ties weight 1 with 1; rotation starts at a',
      loads: [7, 1],
      weights: [4, 1],
      expect: 'a',
    },
    {
      name: 'weight 4 with 8 conns (2.25) loses to weight 1 with 1 (2.0)',
      loads: [8, 1],
      weights: [4, 1],
      expect: 'b',
    },
    {
      name: 'an idle light member beats a busy heavy one',
      loads: [10, 0],
      weights: [4, 1],
      expect: 'b',
    },
    {
      name: 'fractional (slow start) weight counts',
      loads: [0, 0],
      weights: [0.05, 1],
      expect: 'b',
    },
  ]
  t.plan(cases.length)
  for (const c of cases) {
    const lc = new LeastConnectionsBalancer(c.loads.length)
    t.strictSame(name(lc.pick(request('', '', c.loads), c.weights)), c.expect, c.name)
  }
})

void t.test('least-connections rotates evenly among ties', t => {
  const cases: {
    name: string
    loads: number[]
    weights: number[]
    ineligible: string
    expect: string
  }[] = [
    {
      name: 'all idle',
      loads: [0, 0, 0],
      weights: [1, 1, 1],
      ineligible: '',
      expect: 'abcabc',
    },
    {
      name: 'two tied, one busier in the middle',
      loads: [0, 5, 0],
      weights: [1, 1, 1],
      ineligible: '',
      expect: 'acacac',
    },
    {
      name: 'two tied, one busier at the end',
      loads: [2, 2, 9, 9],
      weights: [1, 1, 1, 1],
      ineligible: '',
      expect: 'ababab',
    },
    {
      name: 'two tied, one full (ineligible)',
      loads: [1, 1, 1],
      weights: [1, 1, 1],
      ineligible: 'a',
      expect: 'bcbcbc',
    },
    {
      name: 'tied by weight: (1+1)/2 = (0+1)/1',
      loads: [1, 0],
      weights: [2, 1],
      ineligible: '',
      expect: 'ababab',
    },
  ]
  t.plan(cases.length)
  for (const c of cases) {
    const lc = new LeastConnectionsBalancer(c.loads.length)
    t.strictSame(
      sequence(() => lc.pick(request('', c.ineligible, c.loads), c.weights), 6),
      c.expect,
      c.name,
    )
  }
})

void t.test('least-connections follows load as connections open', t => {
  const loads = [0, 0, 0]
  const weights = [2, 1, 1]
  const lc = new LeastConnectionsBalancer(3)
  const s = sequence(() => {
    const i = lc.pick(request('', '', loads), weights)
    loads[i] = (loads[i] ?? 0) + 1
    return i
  }, 8)
  // Connections stay open, so after 8 picks loads follow the weights 2:1:1.
  t.strictSame(loads, [4, 2, 2])
  t.equal(s.length, 8)
  t.end()
})

void t.test('least-connections returns -1 when nothing is eligible', t => {
  t.equal(new LeastConnectionsBalancer(0).pick(request(), []), -1, 'empty')
  t.equal(
    new LeastConnectionsBalancer(2).pick(request('', 'ab'), [1, 1]),
    -1,
    'all skipped',
  )
  t.end()
})

// Deterministic client addresses for the ring tests.
const KEYS = Array.from({ length: 10_000 }, (_, i) => `10.0.${i >> 8}.${i & 255}`)
const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => `m${i}`)

/** The member id each key maps to, over a ring built from `memberIds`. */
function owners(
  memberIds: readonly string[],
  weights: readonly number[] = memberIds.map(() => 1),
  ineligible: ReadonlySet<string> = new Set(),
): string[] {
  const ring = new ConsistentHashBalancer(memberIds, weights)
  return KEYS.map(key => {
    const i = ring.pick({
      key,
      eligible: k => !ineligible.has(memberIds[k] ?? ''),
      load: () => 0,
    })
    return memberIds[i] ?? '-'
  })
}

void t.test(
  'consistent hash maps the same key to the same member, on every instance',
  t => {
    const members = ids(5)
    const first = owners(members)
    t.strictSame(owners(members), first, 'a second ring built the same way agrees')
    t.strictSame(
      owners([...members].reverse()),
      first,
      'candidate order does not matter: the ring is built from ids',
    )
    const ring = new ConsistentHashBalancer(members, [1, 1, 1, 1, 1])
    const again = KEYS.slice(0, 100).map(key => members[ring.pick(request(key))] ?? '-')
    t.strictSame(again, first.slice(0, 100), 'repeated picks on one ring agree')
    t.end()
  },
)

void t.test('consistent hash spreads 10,000 keys within ±30% of the fair share', t => {
  const cases: { name: string; weights: number[] }[] = [
    { name: '3 members', weights: [1, 1, 1] },
    { name: '5 members', weights: [1, 1, 1, 1, 1] },
    { name: '7 members', weights: [1, 1, 1, 1, 1, 1, 1] },
    { name: '3 members weighted 2:1:1', weights: [2, 1, 1] },
  ]
  t.plan(cases.length)
  for (const c of cases) {
    const members = ids(c.weights.length)
    const got = owners(members, c.weights)
    const total = c.weights.reduce((a, b) => a + b, 0)
    const outOfRange = members.flatMap((id, i) => {
      const fair = (KEYS.length * (c.weights[i] ?? 0)) / total
      const n = got.filter(o => o === id).length
      return Math.abs(n - fair) <= 0.3 * fair ? [] : [`${id}: ${n} keys, fair ${fair}`]
    })
    t.strictSame(outOfRange, [], c.name)
  }
})

void t.test(
  'consistent hash: removing a member moves only the keys that were on it',
  t => {
    const cases = [
      { name: 'remove m2 of 5', members: ids(5), removed: 'm2' },
      { name: 'remove m0 of 3', members: ids(3), removed: 'm0' },
      { name: 'remove m6 of 7', members: ids(7), removed: 'm6' },
    ]
    t.plan(cases.length)
    for (const c of cases) {
      const before = owners(c.members)
      const after = owners(c.members.filter(id => id !== c.removed))
      const moved = KEYS.filter((_, i) => before[i] !== after[i])
      const wereOnIt = KEYS.filter((_, i) => before[i] === c.removed)
      t.strictSame(
        { moved, movedTo: after.some(o => o === c.removed) },
        { moved: wereOnIt, movedTo: false },
        c.name,
      )
    }
  },
)

void t.test('consistent hash: adding a member moves keys only to the new member', t => {
  const cases = [
    { name: 'add m4 to 4', members: ids(4), added: 'm4' },
    { name: 'add x to 3', members: ids(3), added: 'x' },
  ]
  t.plan(cases.length)
  for (const c of cases) {
    const before = owners(c.members)
    const after = owners([...c.members, c.added])
    const movedTo = new Set(after.filter((o, i) => o !== before[i]))
    const onNew = after.filter(o => o === c.added).length
    t.strictSame(
      { movedTo: [...movedTo], someMoved: onNew > 0 },
      { movedTo: [c.added], someMoved: true },
      c.name,
    )
  }
})

void t.test(
  'consistent hash: an excluded or full member’s keys go elsewhere, others stay',
  t => {
    const members = ids(5)
    const before = owners(members)
    const skipped = owners(members, undefined, new Set(['m1']))
    t.equal(
      skipped.filter((o, i) => o !== before[i] && before[i] !== 'm1').length,
      0,
      'keys of other members stay put',
    )
    t.equal(
      skipped.filter(o => o === 'm1').length,
      0,
      'no key lands on the skipped member',
    )
    t.strictSame(
      skipped,
      owners(members.filter(id => id !== 'm1')),
      'the fallback is where the key would go if the member were removed',
    )
    const none = new ConsistentHashBalancer(members, [1, 1, 1, 1, 1])
    t.equal(none.pick(request('10.0.0.1', 'abcde')), -1, 'nobody eligible')
    t.equal(
      new ConsistentHashBalancer([], []).pick(request('10.0.0.1')),
      -1,
      'empty ring',
    )
    t.end()
  },
)

void t.test('consistent hash places 160 points per unit of weight', t => {
  // Indirectly: a weight-3 member next to a weight-1 member holds about 3/4 of the keys,
  // and a fractional weight still gets one unit (it must be reachable).
  const cases: { name: string; weights: number[]; share: [number, number] }[] = [
    { name: 'weight 3 vs 1', weights: [3, 1], share: [0.65, 0.85] },
    {
      name: 'weight 0.05 rounds up to one unit',
      weights: [0.05, 1],
      share: [0.35, 0.65],
    },
  ]
  t.plan(cases.length + 1)
  t.equal(VNODES_PER_WEIGHT, 160)
  for (const c of cases) {
    const got = owners(['m0', 'm1'], c.weights)
    const share = got.filter(o => o === 'm0').length / KEYS.length
    t.ok(share >= c.share[0] && share <= c.share[1], `${c.name}: m0 share ${share}`)
  }
})

void t.test('hash32 is a stable uint32 (all instances and versions must agree)', t => {
  // Pinned values: changing the hash would move every client of every ring on upgrade.
  const cases: { text: string; seed: number; expect: number }[] = [
    { text: '', seed: 0, expect: 2_872_998_923 },
    { text: '10.0.0.1', seed: 0, expect: 2_931_590_574 },
    { text: 'm0#0', seed: 0, expect: 4_269_324_660 },
  ]
  t.plan(cases.length + 3)
  for (const c of cases) t.equal(hash32(c.text, c.seed), c.expect, JSON.stringify(c.text))
  const values = KEYS.slice(0, 1000).map(k => hash32(k))
  t.ok(
    values.every(v => Number.isInteger(v) && v >= 0 && v < 2 ** 32),
    'every value is a uint32',
  )
  t.equal(new Set(values).size, values.length, 'no collision among 1,000 addresses')
  t.not(hash32('10.0.0.1', 1), hash32('10.0.0.1', 0), 'the seed changes the hash')
})
