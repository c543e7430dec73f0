// Warm start: a new instance starts from the verdicts the shared pool holds, if fresher
// than `coordination.warmStart`, instead of assuming every member up (or down).
import t from 'tap'
import { startReplica } from '../../src/demo/replica.js'
import { startRedis } from '../helpers/redis-server.js'
import { admin, getPool, startSharedLb, waitForPool } from '../helpers/shared-pool.js'

// initialState up: without a warm start r2 would be routable until its first failed checks.
const HEALTH =
  '{ interval: 300ms, timeout: 1s, rise: 1, fall: 3, jitter: 0, initialState: up }'

void t.test(
  'a new instance starts from the shared verdicts, not the configured default',
  async t => {
    const redis = await startRedis()
    t.teardown(() => redis.kill())
    const replicas = await Promise.all(['r1', 'r2', 'r3'].map(id => startReplica(id)))
    t.teardown(() => Promise.all(replicas.map(r => r.kill())))
    replicas[1]?.setHealthStatus(503)
    const lb1 = await startSharedLb(t.testdir(), replicas, {
      redisUrl: redis.url,
      instanceId: 'lb1',
      health: HEALTH,
    })
    t.teardown(() => lb1.stop())
    await waitForPool(
      lb1,
      ms => ms.some(m => m.id === 'r2' && m.state === 'down'),
      10_000,
      'lb1 sees r2 down',
    )

    const lb2 = await startSharedLb(t.testdir(), replicas, {
      redisUrl: redis.url,
      instanceId: 'lb2',
      health: HEALTH,
    })
    t.teardown(() => lb2.stop())
    // Read right after 'corral ready': before lb2's own checks could take r2 down (fall 3).
    const first = await getPool(lb2)
    const r2 = first.members.find(m => m.id === 'r2')
    t.equal(
      r2?.state,
      'down',
      'r2 starts down on lb2 (warm start from the shared verdict)',
    )
    t.ok(
      first.members.filter(m => m.id !== 'r2').every(m => m.state === 'up'),
      'the healthy members start up',
    )

    // A verdict older than the bound is not trusted: lb3 accepts only 1 ms old ones.
    const lb3 = await startSharedLb(t.testdir(), replicas, {
      redisUrl: redis.url,
      instanceId: 'lb3',
      health: HEALTH,
      coordination: 'warmStart: 1ms',
    })
    t.teardown(() => lb3.stop())
    const cold = await getPool(lb3)
    const r2cold = cold.members.find(m => m.id === 'r2')
    // Its own verdict starts at the configured default (up; fall 3 keeps it there for its
    // first checks); its effective state may still be down by the prober's shared verdict.
    t.equal(
      r2cold?.ownHealth ?? r2cold?.health,
      'up',
      `a stale verdict is ignored: lb3's own verdict on r2 starts at the default (${r2cold?.reason})`,
    )
  },
)

void t.test(
  'a member that leaves and rejoins does not take the verdict of its previous life',
  async t => {
    const redis = await startRedis()
    t.teardown(() => redis.kill())
    const r1 = await startReplica('r1')
    t.teardown(() => r1.kill())
    const lb = await startSharedLb(t.testdir(), [r1], {
      redisUrl: redis.url,
      instanceId: 'lb1',
      health: '{ interval: 300ms, timeout: 1s, rise: 1, fall: 3, jitter: 0 }',
    })
    t.teardown(() => lb.stop())
    await waitForPool(lb, ms => ms.some(m => m.state === 'up'), 10_000, 'r1 up')
    const removed = await admin(lb, 'DELETE', '/api/v1/members/r1')
    t.ok(removed.status < 300, `removed (${removed.status})`)
    await waitForPool(lb, ms => ms.length === 0, 10_000, 'r1 gone')
    // Its shared verdict (up, seconds old) is still in Redis: a rejoin must not use it.
    const since = lb.logs.length
    const added = await admin(lb, 'PUT', '/api/v1/members/r1', {
      address: '127.0.0.1',
      ports: { http: r1.port },
    })
    t.ok(added.status < 300, `added again (${added.status})`)
    const line = await lb.waitForLog(
      l => l.msg === 'member state changed' && l.member === 'r1' && l.from === 'absent',
      10_000,
      since,
    )
    t.equal(
      line.to,
      'down',
      `rejoined as health.initialState (down): ${String(line.reason)}`,
    )
    await waitForPool(
      lb,
      ms => ms.some(m => m.state === 'up'),
      10_000,
      'up by its own probe',
    )
  },
)
