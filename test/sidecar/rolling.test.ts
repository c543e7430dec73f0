// Drains through sidecars with two load balancers (workers mode) and a real redis-server:
// a rolling restart of all three replicas under steady client load (each step: SIGTERM
// the sidecar → drained, then removed → stop the replica → start it and a new sidecar)
// fails no client connection and never leaves fewer than two members routable; then the
// drain budget refuses a second concurrent drain (admin API 409, a second sidecar waits).
import { connect, type Socket } from 'node:net'
import t from 'tap'
import { startReplica, type Replica } from '../../src/demo/replica.js'
import type { CorralProcess } from '../helpers/corral-process.js'
import { startClientLoad } from '../helpers/client-load.js'
import { stateChanged } from '../helpers/lb-config.js'
import { startRedis } from '../helpers/redis-server.js'
import { admin, getPool, startSharedLb, waitForPool } from '../helpers/shared-pool.js'
import { startSidecar } from '../helpers/sidecar-process.js'

const IDS = ['m1', 'm2', 'm3'] as const
const upOn = (id: string) => (ms: readonly { id: string; state: string }[]) =>
  ms.some(m => m.id === id && m.state === 'up')

/** Polls both LBs' pools until stop(); resolves the fewest members seen up at once. */
function watchRoutable(lbs: readonly CorralProcess[]): { stop(): Promise<number> } {
  let min = Number.POSITIVE_INFINITY
  let running = true
  // A function, not the variable: stop() changes it under the awaits below.
  const isRunning = (): boolean => running
  const loop = (async () => {
    const started = performance.now()
    while (isRunning() && performance.now() - started < 300_000) {
      for (const lb of lbs) {
        const pool = await getPool(lb).catch(() => undefined)
        if (pool !== undefined)
          min = Math.min(min, pool.members.filter(m => m.state === 'up').length)
      }
      await new Promise(r => setTimeout(r, 50))
    }
  })()
  return {
    stop: async () => {
      running = false
      await loop
      return min
    },
  }
}

/** Opens connections through `port` until one is answered by `member`; keeps it busy. */
async function holdConnectionTo(port: number, member: string): Promise<Socket> {
  for (let i = 0; i < 60; i++) {
    const s = connect({ host: '127.0.0.1', port })
    const answer = await new Promise<string>((resolve, reject) => {
      let data = ''
      const timer = setTimeout(() => {
        reject(new Error('no answer within 5s'))
      }, 5_000)
      s.on('error', reject)
      s.on('connect', () => {
        s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
      })
      s.on('data', (c: Buffer) => {
        data += c.toString()
        if (data.includes('hello from')) {
          clearTimeout(timer)
          resolve(data)
        }
      })
    })
    if (answer.includes(`hello from ${member}`)) {
      // Half a request, then one more header line a second: the replica waits for the
      // rest (headersTimeout 60 s), so the connection stays open and counted as that
      // member's load. Without the trickle Node's keepAliveTimeout (5 s) closed it, and on a
      // slow run m1's drain found no connection left and released its lease early.
      s.write('GET / HTTP/1.1\r\nHost: x\r\n')
      const trickle = setInterval(() => s.write('X-Hold: 1\r\n'), 1_000)
      s.once('close', () => {
        clearInterval(trickle)
      })
      return s
    }
    s.destroy()
  }
  throw new Error(`no connection reached ${member}`)
}

// Three drains, restarts and a budget wait on a loaded 2-core machine: minutes, not seconds.
t.setTimeout(300_000)

void t.test('rolling restart and drain budget through sidecars', async t => {
  const dir = t.testdir()
  const redis = await startRedis()
  t.teardown(() => redis.kill())
  const replicas = new Map<string, Replica>()
  for (const id of IDS) replicas.set(id, await startReplica(id))
  t.teardown(() => Promise.all([...replicas.values()].map(r => r.kill())))
  const replica = (id: string): Replica => {
    const r = replicas.get(id)
    if (r === undefined) throw new Error(id)
    return r
  }
  const lbs: CorralProcess[] = []
  for (const id of ['lb1', 'lb2']) {
    const lb = await startSharedLb(dir, [...replicas.values()], {
      redisUrl: redis.url,
      instanceId: id,
    })
    t.teardown(() => lb.stop())
    lbs.push(lb)
  }
  const [lb1, lb2] = lbs
  if (lb1 === undefined || lb2 === undefined) throw new Error('lbs')
  const sidecars = new Map<string, CorralProcess>()
  const startSidecarFor = async (id: string): Promise<CorralProcess> => {
    const sc = await startSidecar(dir, {
      redisUrl: redis.url,
      member: replica(id),
      // Generous deadlines: the budget test keeps m1 draining (a held connection) while
      // m2 waits for the lease; a slow machine must not end either wait early.
      drain: '{ timeout: 60s, waitForConnections: true, connectionsTimeout: 60s }',
    })
    sidecars.set(id, sc)
    t.teardown(() => sc.stop('SIGKILL'))
    return sc
  }
  for (const id of IDS) await startSidecarFor(id)
  for (const lb of lbs) {
    await waitForPool(
      lb,
      (ms, s) =>
        ms.length === 3 &&
        ms.every(m => m.state === 'up') &&
        (s.coordination as { instances: number }).instances === 2,
      20_000,
      'three members up on two instances',
    )
  }

  await t.test(
    'rolling restart: zero failed connections, never fewer than two routable',
    async t => {
      const load = startClientLoad([lb1.ports.http ?? 0, lb2.ports.http ?? 0], 20)
      const routable = watchRoutable(lbs)
      for (const id of IDS) {
        const since = lbs.map(lb => lb.logs.length)
        const sc = sidecars.get(id)
        if (sc === undefined) throw new Error(id)
        const code = await sc.stop('SIGTERM', 60_000)
        t.equal(code, 0, `${id}: sidecar drained, deregistered and exited 0`)
        for (const [i, lb] of lbs.entries()) {
          await lb.waitForLog(stateChanged(id, 'draining'), 1_000, since[i])
          await lb.waitForLog(stateChanged(id, 'absent'), 10_000, since[i])
        }
        t.pass(`${id}: drained, then removed on both LBs`)
        const port = replica(id).port
        await replica(id).kill()
        replicas.set(id, await startReplica(id, '127.0.0.1', port))
        await startSidecarFor(id)
        for (const lb of lbs) await waitForPool(lb, upOn(id), 15_000, `${id} back up`)
      }
      const min = await routable.stop()
      const result = await load.stop()
      t.comment(
        `client connections: ${result.ok}/${result.attempts} ok; fewest routable: ${min}`,
      )
      t.same(result.failures, [], 'no client connection failed')
      t.ok(result.attempts > 50, `steady load ran (${result.attempts} connections)`)
      t.ok(min >= 2, `never fewer than two routable (fewest seen: ${min})`)
    },
  )

  await t.test(
    'the drain budget refuses a second concurrent drain on a 3-pool',
    async t => {
      const held = await holdConnectionTo(lb1.ports.http ?? 0, 'm1')
      t.teardown(() => held.destroy())
      const sc1 = sidecars.get('m1')
      const sc2 = sidecars.get('m2')
      if (sc1 === undefined || sc2 === undefined) throw new Error('sidecars')
      const stopping1 = sc1.stop('SIGTERM', 150_000)
      await sc1.waitForLog(
        l => l.msg === 'drain lease taken: member marked draining in the shared pool',
        15_000,
      )
      await sc1.waitForLog(
        l => l.msg === 'every live load balancer stopped routing to the member',
        15_000,
      )
      // The held connection keeps m1's sidecar waiting, holding the lease.
      const refused = await admin(lb2, 'POST', '/api/v1/members/m2/drain')
      t.equal(refused.status, 409, 'admin drain of a second member: 409')
      t.match(
        JSON.stringify(refused.json),
        /sidecar:m1/,
        'the answer names who holds the budget',
      )
      const pool = await getPool(lb2)
      t.match(
        pool.summary.coordination.drains,
        [{ member: 'm1', holder: 'sidecar:m1' }],
        'the pool API lists the lease',
      )
      const metrics = await (await fetch(`${lb2.adminUrl}/metrics`)).text()
      t.match(metrics, /corral_drain_leases\{member="m1",holder="sidecar:m1"\} 1/)

      const sc2Since = sc2.logs.length
      const stopping2 = sc2.stop('SIGTERM', 150_000)
      const waiting = await sc2.waitForLog(
        l => typeof l.msg === 'string' && l.msg.startsWith('drain budget exhausted'),
        15_000,
        sc2Since,
      )
      t.match(
        String(waiting.msg),
        /m1 \(draining, lease held by sidecar:m1\)/,
        'the second sidecar waits, naming the holder',
      )
      await waitForPool(lb1, upOn('m2'), 1_000, 'm2 still up while it waits')

      held.destroy()
      t.equal(await stopping1, 0, 'm1 drained once its last connection closed')
      const out = await getPool(lb2)
      t.match(
        out.summary.coordination.drains,
        [{ member: 'm1', holder: 'sidecar:m1' }],
        'm1 keeps its lease while its replica is out (the budget does not erode)',
      )
      // m1's replica comes back (new sidecar): its lease ends once it passes its checks,
      // the pool is whole again, so m2 may drain.
      await startSidecarFor('m1')
      t.equal(
        await stopping2,
        0,
        'm2 got the lease after m1 returned, drained and exited 0',
      )
      await waitForPool(
        lb2,
        (_ms, summary) =>
          !(summary.coordination as { drains: { member: string }[] }).drains.some(
            d => d.member === 'm1',
          ),
        10_000,
        "m1's lease released by its new sidecar",
      )
      const order = sc2.logs.slice(sc2Since).map(l => l.msg)
      t.ok(order.includes('drain lease taken: member marked draining in the shared pool'))
    },
  )
})
