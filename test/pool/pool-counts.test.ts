// Pool.counts() and onCountsChanged (issue #24): live members (effective verdict up,
// whatever the admin state) and routable members (state up), kept incrementally.
import t from 'tap'
import { Pool, type PoolOptions } from '../../src/pool/pool.js'
import type {
  AdminState,
  CheckResult,
  MemberEndpoint,
  MemberView,
  PoolCounts,
} from '../../src/pool/types.js'
import type { SharedFacts } from '../../src/pool/verdict.js'

const OPTIONS: PoolOptions = { thresholds: { rise: 1, fall: 1 }, initialHealth: 'up' }
const OK: CheckResult = { ok: true, latencyMs: 1 }
const FAIL: CheckResult = { ok: false, reason: 'bad-status', detail: 'status 503' }
const PEERS_DOWN: SharedFacts = { peers: ['down', 'down'], authorities: [] }

const ep = (id: string): MemberEndpoint => ({
  id,
  address: '10.0.0.1',
  ports: {},
  weight: 1,
})

/** What counts() must say: recounted from the views. */
function recount(views: readonly MemberView[]): PoolCounts {
  return {
    size: views.length,
    live: views.filter(v => v.health === 'up').length,
    routable: views.filter(v => v.state === 'up').length,
  }
}

function threePool(options: PoolOptions = OPTIONS): {
  pool: Pool
  events: PoolCounts[]
} {
  const pool = new Pool(options)
  for (const id of ['a', 'b', 'c']) pool.upsert(ep(id), 0)
  const events: PoolCounts[] = []
  pool.onCountsChanged(c => events.push(c))
  return { pool, events }
}

void t.test('a drain lowers routable only; a draining member failing lowers live', t => {
  const { pool, events } = threePool()
  const changes: string[] = []
  pool.onChange(c => changes.push(`${c.id}:${c.from}→${c.to}`))
  t.strictSame(pool.counts(), { size: 3, live: 3, routable: 3 }, 'all up')
  pool.setAdmin('c', 'draining', 1, 'upgrade')
  t.strictSame(pool.counts(), { size: 3, live: 3, routable: 2 }, 'c drained, still live')
  pool.observe('b', FAIL, 2)
  t.strictSame(pool.counts(), { size: 3, live: 2, routable: 1 }, 'b down')
  pool.observe('c', FAIL, 3)
  t.strictSame(pool.counts(), { size: 3, live: 1, routable: 1 }, 'c fails while draining')
  t.strictSame(changes, ['c:up→draining', 'b:up→down'], 'no visible change for c failing')
  t.strictSame(
    events,
    [
      { size: 3, live: 3, routable: 2 },
      { size: 3, live: 2, routable: 1 },
      { size: 3, live: 1, routable: 1 },
    ],
    'yet a counts event for each move, c failing included',
  )
  t.end()
})

void t.test('a disabled member passing its checks stays live', t => {
  const { pool, events } = threePool()
  pool.setAdmin('c', 'disabled', 1, 'maintenance')
  pool.observe('c', OK, 2)
  t.strictSame(pool.counts(), { size: 3, live: 3, routable: 2 })
  t.strictSame(
    events,
    [{ size: 3, live: 3, routable: 2 }],
    'the passing check moves nothing',
  )
  t.end()
})

void t.test('shared facts count: a draining member down by quorum is not live', t => {
  const { pool, events } = threePool({ ...OPTIONS, policy: 'quorum' })
  pool.setAdmin('c', 'draining', 1, 'upgrade')
  pool.setSharedFacts('c', PEERS_DOWN, 2)
  t.strictSame(pool.counts(), { size: 3, live: 2, routable: 2 })
  t.equal(pool.get('c')?.ownHealth, 'up', 'although its own checks pass here')
  pool.setSharedFacts('c', undefined, 3)
  t.strictSame(
    pool.counts(),
    { size: 3, live: 3, routable: 2 },
    'facts gone: own verdict',
  )
  t.equal(events.length, 3)
  t.end()
})

void t.test(
  'adding and removing members moves the size, even when nothing is live',
  t => {
    const pool = new Pool({ ...OPTIONS, initialHealth: 'down' })
    const events: PoolCounts[] = []
    pool.onCountsChanged(c => events.push(c))
    pool.upsert(ep('a'), 0)
    pool.upsert(ep('b'), 0)
    pool.upsert(ep('b'), 1)
    pool.observe('a', OK, 2)
    pool.remove('a', 3)
    pool.remove('b', 4)
    t.strictSame(events, [
      { size: 1, live: 0, routable: 0 },
      { size: 2, live: 0, routable: 0 },
      { size: 2, live: 1, routable: 1 },
      { size: 1, live: 0, routable: 0 },
      { size: 0, live: 0, routable: 0 },
    ])
    t.end()
  },
)

void t.test('a policy change on reload recounts the members it moves', t => {
  const { pool } = threePool()
  pool.setSharedFacts('a', PEERS_DOWN, 1)
  t.strictSame(pool.counts(), { size: 3, live: 3, routable: 3 }, 'local: facts ignored')
  pool.setOptions({ ...OPTIONS, policy: 'quorum' }, 2)
  t.strictSame(pool.counts(), { size: 3, live: 2, routable: 2 }, 'quorum: a is down')
  t.end()
})

void t.test('counts() always equals a recount of the views', t => {
  // A fixed pseudo-random walk over every operation that moves a verdict or a state.
  let seed = 7
  const next = (n: number): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
    return seed % n
  }
  const ids = ['a', 'b', 'c', 'd', 'e']
  const admins: readonly AdminState[] = ['enabled', 'draining', 'disabled']
  const pool = new Pool({
    thresholds: { rise: 2, fall: 2 },
    initialHealth: 'down',
    policy: 'quorum',
  })
  let mismatches = 0
  for (let step = 0; step < 2_000; step++) {
    const id = ids[next(ids.length)] ?? 'a'
    switch (next(6)) {
      case 0:
        pool.upsert(ep(id), step)
        break
      case 1:
        pool.remove(id, step)
        break
      case 2:
        pool.setAdmin(id, admins[next(admins.length)] ?? 'enabled', step, 'op')
        break
      case 3:
        pool.setSharedFacts(id, next(2) === 0 ? PEERS_DOWN : undefined, step)
        break
      default:
        pool.observe(id, next(3) === 0 ? FAIL : OK, step)
    }
    const want = recount(pool.views())
    const got = pool.counts()
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      mismatches++
      t.strictSame(got, want, `step ${step}`)
    }
  }
  t.equal(mismatches, 0, '2,000 steps, no mismatch')
  t.end()
})
