// Redis down is not an outage: under steady client load both instances keep serving on
// their last known pool (0 failed connections), refuse membership writes with 503, stay
// ready, and reconcile when Redis returns, here empty (no persistence): nothing is lost.
import t from 'tap'
import { startReplica } from '../../src/demo/replica.js'
import { startClientLoad } from '../helpers/client-load.js'
import { startRedis } from '../helpers/redis-server.js'
import { admin, startSharedLb, waitForPool } from '../helpers/shared-pool.js'

void t.test(
  'a Redis outage under load fails no client connection and loses no change',
  async t => {
    const redis = await startRedis()
    t.teardown(() => redis.kill())
    const replicas = await Promise.all(
      ['r1', 'r2', 'r3', 'r4'].map(id => startReplica(id)),
    )
    t.teardown(() => Promise.all(replicas.map(r => r.kill())))
    const [r1, r2, r3, r4] = replicas
    if (r1 === undefined || r2 === undefined || r3 === undefined || r4 === undefined)
      throw new Error('replicas')
    const lb1 = await startSharedLb(t.testdir(), [r1, r2, r3], {
      redisUrl: redis.url,
      instanceId: 'lb1',
    })
    t.teardown(() => lb1.stop())
    const lb2 = await startSharedLb(t.testdir(), [], {
      redisUrl: redis.url,
      instanceId: 'lb2',
    })
    t.teardown(() => lb2.stop())
    const add = await admin(lb1, 'PUT', '/api/v1/members/r4', {
      address: '127.0.0.1',
      ports: { http: r4.port },
    })
    t.equal(add.status, 201, 'r4 added through lb1 before the outage')
    for (const lb of [lb1, lb2]) {
      await waitForPool(
        lb,
        ms => ms.length === 4 && ms.every(m => m.state === 'up'),
        15_000,
        'four members up',
      )
    }

    const load = startClientLoad([lb1.ports.http ?? 0, lb2.ports.http ?? 0], 40)
    await redis.kill()
    for (const lb of [lb1, lb2]) {
      await waitForPool(
        lb,
        (_m, s) => !(s.coordination as { connected: boolean }).connected,
        10_000,
        'store unreachable',
      )
    }
    t.pass('both instances say the store is unreachable')
    const refused = await admin(lb2, 'POST', '/api/v1/members/r1/drain')
    t.equal(refused.status, 503, 'a drain while Redis is down answers 503')
    t.match(
      JSON.stringify(refused.json),
      /unreachable/,
      'and says the store is unreachable',
    )
    const refusedPut = await admin(lb1, 'PUT', '/api/v1/members/r5', {
      address: '127.0.0.1',
      ports: { http: r4.port },
    })
    t.equal(refusedPut.status, 503, 'an add while Redis is down answers 503')
    for (const lb of [lb1, lb2]) {
      const ready = await fetch(`${lb.adminUrl}/readyz`)
      t.equal(ready.status, 200, 'still ready (fail-static)')
    }
    const metrics = await (await fetch(`${lb1.adminUrl}/metrics`)).text()
    t.match(
      metrics,
      /^corral_coordination_store_up 0$/m,
      'corral_coordination_store_up 0',
    )
    // Members keep being checked meanwhile: r3 failing is still noticed on own checks.
    r3.setHealthStatus(503)
    for (const lb of [lb1, lb2]) {
      await waitForPool(
        lb,
        ms => ms.some(m => m.id === 'r3' && m.state === 'down'),
        10_000,
        'r3 evicted on own checks',
      )
    }
    r3.setHealthStatus(200)
    // Keep Redis down for at least 100 more client connections (bounded wait).
    const mark = load.attempts()
    const waitStarted = performance.now()
    while (load.attempts() < mark + 100 && performance.now() - waitStarted < 30_000) {
      await new Promise(r => setTimeout(r, 50))
    }
    const duringOutage = load.attempts()

    await redis.restart()
    for (const lb of [lb1, lb2]) {
      await waitForPool(
        lb,
        (_m, s) => (s.coordination as { connected: boolean }).connected,
        15_000,
        'reconnected',
      )
    }
    t.pass('both instances reconnect')
    // Redis came back empty: the pool is re-seeded from the instances' last known state.
    const drain = await admin(lb2, 'POST', '/api/v1/members/r2/drain?force=true')
    t.equal(drain.status, 200, 'writes work again')
    await waitForPool(
      lb1,
      ms =>
        ms.length === 4 &&
        ms.some(m => m.id === 'r2' && m.admin === 'draining') &&
        ms.some(m => m.id === 'r4'),
      5_000,
      'reconciled: r4 kept, r2 draining on lb1',
    )
    t.pass(
      'nothing lost: the API-added member survives an empty Redis and new writes propagate',
    )

    const result = await load.stop()
    t.ok(
      duringOutage >= 100,
      `${duringOutage} client connections started by the end of the outage`,
    )
    t.same(result.failures, [], `0 failed client connections (of ${result.attempts})`)
  },
)

void t.test(
  'a Redis that stops answering (SIGSTOP) counts as down, and reconnects after',
  async t => {
    const redis = await startRedis()
    t.teardown(() => redis.kill())
    const r1 = await startReplica('r1')
    t.teardown(() => r1.kill())
    const lb = await startSharedLb(t.testdir(), [r1], {
      redisUrl: redis.url,
      instanceId: 'lb1',
    })
    t.teardown(() => lb.stop())
    await waitForPool(lb, ms => ms.some(m => m.state === 'up'), 15_000, 'r1 up')
    const since = lb.logs.length
    // The TCP connection stays open: only timed-out commands tell.
    redis.pause()
    t.teardown(() => {
      redis.resume()
    })
    const stalled = await waitForPool(
      lb,
      (_m, s) => !(s.coordination as { connected: boolean }).connected,
      15_000,
      'store reported down',
    )
    t.comment(`a hung Redis reported down after ${Math.round(stalled)} ms`)
    const line = lb.logs
      .slice(since)
      .find(
        l =>
          typeof l.msg === 'string' && l.msg.startsWith('shared pool store unreachable'),
      )
    t.match(String(line?.error), /no reply within/, 'the log line says why')
    const metrics = await (await fetch(`${lb.adminUrl}/metrics`)).text()
    t.match(metrics, /corral_coordination_store_up 0/, 'corral_coordination_store_up 0')
    redis.resume()
    await waitForPool(
      lb,
      (_m, s) => (s.coordination as { connected: boolean }).connected,
      15_000,
      'store connected again',
    )
    const ok = await admin(lb, 'POST', '/api/v1/members/r1/disable')
    t.equal(ok.status, 200, 'changes are accepted again')
  },
)
