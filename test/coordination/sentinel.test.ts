// Redis Sentinel failover: two instances configured with sentinels keep serving while the
// primary is killed, and resume coordination on the promoted replica.
import { Redis } from 'ioredis'
import t from 'tap'
import { startReplica } from '../../src/demo/replica.js'
import { startClientLoad } from '../helpers/client-load.js'
import { startRedis } from '../helpers/redis-server.js'
import { admin, startSharedLb, waitForPool } from '../helpers/shared-pool.js'

void t.test(
  'a Sentinel failover is survived and coordination resumes on the new primary',
  async t => {
    const primary = await startRedis()
    t.teardown(() => primary.kill())
    const replica = await startRedis({ conf: [`replicaof 127.0.0.1 ${primary.port}`] })
    t.teardown(() => replica.kill())
    const sentinels = []
    for (let i = 0; i < 3; i++) {
      const s = await startRedis({
        sentinel: true,
        conf: [
          `sentinel monitor mymaster 127.0.0.1 ${primary.port} 2`,
          'sentinel down-after-milliseconds mymaster 1000',
          'sentinel failover-timeout mymaster 5000',
          'sentinel parallel-syncs mymaster 1',
        ],
      })
      t.teardown(() => s.kill())
      sentinels.push(s)
    }
    const sentinelList = sentinels
      .map(s => `{ host: 127.0.0.1, port: ${s.port} }`)
      .join(', ')
    const replicas = await Promise.all(['r1', 'r2', 'r3'].map(id => startReplica(id)))
    t.teardown(() => Promise.all(replicas.map(r => r.kill())))
    const redisYaml = `{ sentinels: [${sentinelList}], name: mymaster, prefix: s }`
    const lbs = []
    for (const [i, files] of [replicas, []].entries()) {
      const lb = await startSharedLb(t.testdir(), files, {
        redisUrl: 'unused',
        instanceId: `lb${i + 1}`,
        redis: redisYaml,
      })
      t.teardown(() => lb.stop())
      lbs.push(lb)
    }
    const [lb1, lb2] = lbs
    if (lb1 === undefined || lb2 === undefined) throw new Error('lbs')
    for (const lb of lbs) {
      await waitForPool(
        lb,
        (ms, s) =>
          ms.length === 3 &&
          ms.every(m => m.state === 'up') &&
          (s.coordination as { instances: number }).instances === 2,
        20_000,
        'shared pool up',
      )
    }
    const load = startClientLoad([lb1.ports.http ?? 0, lb2.ports.http ?? 0], 30)
    await primary.kill()
    // Wait for the sentinels to promote the replica.
    const s0 = new Redis({
      host: '127.0.0.1',
      port: sentinels[0]?.port ?? 0,
      lazyConnect: true,
    })
    t.teardown(() => {
      s0.disconnect()
    })
    await s0.connect()
    const started = performance.now()
    let promoted = false
    while (performance.now() - started < 30_000) {
      const addr = (await s0.call(
        'SENTINEL',
        'get-master-addr-by-name',
        'mymaster',
      )) as string[]
      if (addr[1] === String(replica.port)) {
        promoted = true
        break
      }
      await new Promise(r => setTimeout(r, 100))
    }
    t.ok(
      promoted,
      `the sentinels promoted the replica (${Math.round(performance.now() - started)}ms)`,
    )
    // Coordination resumes: a write on one instance reaches the other.
    let status = 0
    const writeStarted = performance.now()
    while (performance.now() - writeStarted < 20_000) {
      status = (await admin(lb1, 'POST', '/api/v1/members/r2/drain?force=true')).status
      if (status === 200) break
      await new Promise(r => setTimeout(r, 200))
    }
    t.equal(status, 200, 'writes work again after the failover')
    await waitForPool(
      lb2,
      ms => ms.some(m => m.id === 'r2' && m.admin === 'draining'),
      5_000,
      'the drain reaches lb2',
    )
    const result = await load.stop()
    t.same(
      result.failures,
      [],
      `0 failed client connections of ${result.attempts} through the failover`,
    )
  },
)
