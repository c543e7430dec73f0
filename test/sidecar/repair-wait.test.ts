// A sidecar whose member record vanishes without a delete (the members hash lost, a
// tombstone-less gap: damage) waits for the load balancers to put back their held copy,
// which carries an operator's drain or disable, instead of winning that race with
// "enabled" (found by `npm run simulate`, seed 769340954: r6 disabled, members hash
// deleted, r6 came back enabled). With no load balancer to repair it, it registers the
// member itself after REPAIR_GRACE_MS.
import { Redis } from 'ioredis'
import t from 'tap'
import { poolKeys } from '../../src/coordination/keys.js'
import { startReplica } from '../../src/demo/replica.js'
import { REPAIR_GRACE_MS } from '../../src/sidecar/sidecar.js'
import { startRedis } from '../helpers/redis-server.js'
import { startSidecar } from '../helpers/sidecar-process.js'

t.setTimeout(120_000)

void t.test(
  'a vanished record: the sidecar waits for repair, then re-registers',
  async t => {
    const dir = t.testdir()
    const redis = await startRedis()
    t.teardown(() => redis.kill())
    const replica = await startReplica('r1')
    t.teardown(() => replica.kill())
    const sc = await startSidecar(dir, { redisUrl: redis.url, member: replica })
    t.teardown(() => sc.stop('SIGKILL'))
    const REGISTERED = 'member registered in the shared pool'
    await sc.waitForLog(l => l.msg === REGISTERED, 15_000)
    const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 })
    await client.connect()
    t.teardown(() => {
      client.disconnect()
    })
    const members = poolKeys('test').members
    t.ok(await client.hexists(members, 'r1'), 'registered')

    const deletedAt = performance.now()
    await client.del(members)
    await sc.waitForLog(
      l =>
        l.msg ===
        'member record vanished without a delete: waiting for the load balancers to repair it',
      10_000,
    )
    t.equal(await client.hexists(members, 'r1'), 0, 'not re-registered while it waits')

    await sc.waitForLog(
      l => l.msg === REGISTERED && sc.logs.filter(x => x.msg === REGISTERED).length === 2,
      REPAIR_GRACE_MS + 15_000,
    )
    const waited = performance.now() - deletedAt
    t.ok(
      waited >= REPAIR_GRACE_MS,
      `registered again after the grace (${Math.round(waited)} ms)`,
    )
    t.ok(await client.hexists(members, 'r1'), 'registered again')
  },
)
