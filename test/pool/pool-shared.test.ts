// Pool with shared facts: setSharedFacts changes the acted-on verdict; upsert(initial) is
// the warm start of a member never checked.
import t from 'tap'
import { Pool, type PoolOptions } from '../../src/pool/pool.js'
import type { MemberChange, MemberEndpoint } from '../../src/pool/types.js'
import type { SharedFacts, VerdictPolicy } from '../../src/pool/verdict.js'

const OK = { ok: true, latencyMs: 1 } as const
const THRESHOLDS = { rise: 2, fall: 3 }
const ep = (id: string, address = '10.0.0.1'): MemberEndpoint => ({
  id,
  address,
  ports: {},
  weight: 1,
})

function upPool(policy: VerdictPolicy): { pool: Pool; changes: MemberChange[] } {
  const options: PoolOptions = { thresholds: THRESHOLDS, initialHealth: 'up', policy }
  const pool = new Pool(options)
  pool.upsert(ep('a'), 0)
  const changes: MemberChange[] = []
  pool.onChange(c => changes.push(c))
  return { pool, changes }
}

const PEERS_DOWN: SharedFacts = { peers: ['down', 'down'], authorities: [] }
const SIDECAR_DOWN: SharedFacts = {
  peers: [],
  authorities: [
    { kind: 'sidecar', source: 'sc', health: 'down', reason: 'draining itself' },
  ],
}

void t.test('setSharedFacts moves the acted-on verdict, own health kept apart', t => {
  const cases: {
    name: string
    policy: VerdictPolicy
    facts: SharedFacts | undefined
    want: { state: string; health: string; ownHealth?: string; reason: string }
    changes: { from: string; to: string; reason: string }[]
  }[] = [
    {
      name: 'quorum: a majority of peers down takes it down here',
      policy: 'quorum',
      facts: PEERS_DOWN,
      want: {
        state: 'down',
        health: 'down',
        ownHealth: 'up',
        reason: '2 of 3 live instances see it down (quorum)',
      },
      changes: [
        { from: 'up', to: 'down', reason: '2 of 3 live instances see it down (quorum)' },
      ],
    },
    {
      name: 'local: peers are shown but do not count',
      policy: 'local',
      facts: PEERS_DOWN,
      want: { state: 'up', health: 'up', ownHealth: 'up', reason: 'initial state up' },
      changes: [],
    },
    {
      name: 'local: the sidecar counts',
      policy: 'local',
      facts: SIDECAR_DOWN,
      want: {
        state: 'down',
        health: 'down',
        ownHealth: 'up',
        reason: 'sidecar sc reports it down: draining itself',
      },
      changes: [
        { from: 'up', to: 'down', reason: 'sidecar sc reports it down: draining itself' },
      ],
    },
    {
      name: 'undefined facts: own verdict alone, no ownHealth field',
      policy: 'quorum',
      facts: undefined,
      want: { state: 'up', health: 'up', reason: 'initial state up' },
      changes: [],
    },
  ]
  t.plan(cases.length)
  for (const c of cases) {
    const { pool, changes } = upPool(c.policy)
    pool.setSharedFacts('a', c.facts, 5)
    const v = pool.get('a')
    const got = {
      state: v?.state,
      health: v?.health,
      ...(v?.ownHealth !== undefined ? { ownHealth: v.ownHealth } : {}),
      reason: v?.reason,
    }
    t.strictSame(
      {
        view: got,
        changes: changes.map(({ from, to, reason }) => ({ from, to, reason })),
      },
      { view: c.want, changes: c.changes },
      c.name,
    )
  }
})

void t.test('clearing the facts (store unreachable) restores the own verdict', t => {
  t.plan(2)
  const { pool, changes } = upPool('quorum')
  pool.setSharedFacts('a', PEERS_DOWN, 5)
  const before = pool.version
  pool.setSharedFacts('a', undefined, 6)
  t.strictSame(
    changes.map(c => `${c.from}→${c.to}@${c.at}`),
    ['up→down@5', 'down→up@6'],
    'down by quorum, then up again without facts',
  )
  t.ok(pool.version > before, 'the routing version moved')
})

void t.test('facts that change nothing visible do not bump the routing version', t => {
  t.plan(2)
  const { pool, changes } = upPool('quorum')
  const before = pool.version
  pool.setSharedFacts('a', { peers: ['up', 'down'], authorities: [] }, 5)
  t.equal(pool.version, before)
  t.strictSame(changes, [])
})

void t.test('setSharedFacts on an unknown member is ignored', t => {
  t.plan(2)
  const { pool, changes } = upPool('quorum')
  pool.setSharedFacts('nope', PEERS_DOWN, 5)
  t.equal(pool.get('nope'), undefined)
  t.strictSame(changes, [])
})

void t.test('own checks still drive the member under shared facts', t => {
  t.plan(1)
  const options: PoolOptions = {
    thresholds: THRESHOLDS,
    initialHealth: 'down',
    policy: 'quorum',
  }
  const pool = new Pool(options)
  pool.upsert(ep('a'), 0)
  pool.setSharedFacts('a', { peers: ['up'], authorities: [] }, 1)
  pool.observe('a', OK, 2)
  pool.observe('a', OK, 3)
  t.strictSame(
    { health: pool.get('a')?.health, ownHealth: pool.get('a')?.ownHealth },
    { health: 'up', ownHealth: 'up' },
  )
})

void t.test('upsert with initial: warm start of members never checked', t => {
  const options: PoolOptions = { thresholds: THRESHOLDS, initialHealth: 'down' }
  const cases: {
    name: string
    steps: (pool: Pool) => void
    want: { health: string | undefined; reason: string | undefined }
  }[] = [
    {
      name: 'a new member starts with the shared verdict',
      steps: p => p.upsert(ep('a'), 0, 'up'),
      want: { health: 'up', reason: 'initial state up' },
    },
    {
      name: 'a new member without initial takes the configured default',
      steps: p => p.upsert(ep('a'), 0),
      want: { health: 'down', reason: 'awaiting first check' },
    },
    {
      name: 'an unchecked member is reset to the shared verdict',
      steps: p => {
        p.upsert(ep('a'), 0)
        p.upsert(ep('a'), 1, 'up')
      },
      want: { health: 'up', reason: 'initial state up' },
    },
    {
      name: 'a checked member keeps its own verdict',
      steps: p => {
        p.upsert(ep('a'), 0)
        p.observe('a', OK, 1)
        p.observe('a', OK, 2)
        p.upsert(ep('a'), 3, 'down')
      },
      want: { health: 'up', reason: 'first check passed' },
    },
    {
      name: 'a new address starts over with initial even if checked',
      steps: p => {
        p.upsert(ep('a'), 0)
        p.observe('a', OK, 1)
        p.observe('a', OK, 2)
        p.upsert(ep('a', '10.0.0.2'), 3, 'down')
      },
      want: { health: 'down', reason: 'awaiting first check' },
    },
  ]
  t.plan(cases.length)
  for (const c of cases) {
    const pool = new Pool(options)
    c.steps(pool)
    const v = pool.get('a')
    t.strictSame({ health: v?.health, reason: v?.reason }, c.want, c.name)
  }
})

void t.test('a warm start reports its reason in the change', t => {
  t.plan(1)
  const pool = new Pool({ thresholds: THRESHOLDS, initialHealth: 'down' })
  pool.upsert(ep('a'), 0)
  const changes: MemberChange[] = []
  pool.onChange(c => changes.push(c))
  pool.upsert(ep('a'), 1, 'up')
  t.strictSame(
    changes.map(c => [c.from, c.to, c.reason]),
    [['down', 'up', 'warm start: up as last seen by the shared pool']],
  )
})
