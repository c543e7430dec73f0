// A sidecar beside a replica, two load balancers (workers mode) and a real redis-server:
// joining puts the replica in rotation on both; its failing local check takes it out
// everywhere at once; a SIGKILLed sidecar's record expires and the load balancers' own
// checks take over without a flap.
import { connect } from 'node:net'
import t from 'tap'
import type { CorralProcess } from '../helpers/corral-process.js'
import { startRedis } from '../helpers/redis-server.js'
import { getPool, holdsFor, startSharedLb, waitForPool } from '../helpers/shared-pool.js'
import { startSidecar } from '../helpers/sidecar-process.js'
import { startVotingMember } from '../helpers/voting-member.js'

const lbHealth = (lb: string): string =>
  `{ interval: 300ms, timeout: 1s, rise: 1, fall: 2, jitter: 0, headers: { x-lb: ${lb} } }`
const SIDECAR_HEALTH =
  '{ port: http, interval: 300ms, timeout: 1s, rise: 1, fall: 2, jitter: 0, headers: { x-lb: sidecar } }'

/** One request through a load balancer; resolves the answering member's id. */
function whoAnswers(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port })
    let data = ''
    const timer = setTimeout(() => {
      s.destroy()
      reject(new Error('no answer within 5s'))
    }, 5_000)
    s.on('connect', () => s.end('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'))
    s.on('data', (c: Buffer) => (data += c.toString()))
    s.on('error', reject)
    s.on('close', () => {
      clearTimeout(timer)
      resolve(/hello from (\S+)/.exec(data)?.[1] ?? `no hello: ${data.slice(0, 80)}`)
    })
  })
}

/** Sends up to 60 requests until `member` answers one; rejects otherwise. */
async function reaches(lb: CorralProcess, member: string): Promise<void> {
  const port = lb.ports.http ?? 0
  for (let i = 0; i < 60; i++) if ((await whoAnswers(port)) === member) return
  throw new Error(`${member} never answered through port ${port}`)
}

const stateOf =
  (id: string, want: string) => (ms: readonly { id: string; state: string }[]) =>
    ms.some(m => m.id === id && m.state === want)

// Real processes on a loaded 2-core machine: allow minutes.
t.setTimeout(300_000)

void t.test('sidecar: join, local failure, SIGKILL', async t => {
  const redis = await startRedis()
  t.teardown(() => redis.kill())
  const members = await Promise.all(['m1', 'm2', 'm3'].map(id => startVotingMember(id)))
  t.teardown(() => Promise.all(members.map(m => m.close())))
  const [m1, m2, m3] = members
  if (m1 === undefined || m2 === undefined || m3 === undefined) throw new Error('members')
  const lbs: CorralProcess[] = []
  for (const id of ['lb1', 'lb2']) {
    // The config file seeds m1 and m2 only: m3 joins through its sidecar.
    const lb = await startSharedLb(t.testdir(), [m1, m2], {
      redisUrl: redis.url,
      instanceId: id,
      // Every LB runs its own full /health probe, so each can see m3 differently.
      coordination: 'probes: all',
      health: lbHealth(id),
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
        ms.length === 2 && (s.coordination as { instances: number }).instances === 2,
      20_000,
      'two members, two instances',
    )
  }

  const sidecar = await startSidecar(t.testdir(), {
    redisUrl: redis.url,
    member: m3,
    health: SIDECAR_HEALTH,
  })
  t.teardown(() => sidecar.stop('SIGKILL'))

  await t.test('a sidecar joining: its replica gets traffic on both LBs', async t => {
    for (const lb of lbs) await waitForPool(lb, stateOf('m3', 'up'), 15_000, 'm3 up')
    for (const lb of lbs) await reaches(lb, 'm3')
    t.pass('m3 answered through lb1 and lb2')
    for (const lb of lbs) {
      const pool = await getPool(lb)
      t.strictSame(
        pool.members.map(m => [m.id, m.source]),
        [
          ['m1', 'config'],
          ['m2', 'config'],
          ['m3', 'sidecar'],
        ],
        'the pool API names who added each member',
      )
    }
  })

  await t.test(
    'a failing local check: out everywhere within one interval plus propagation',
    async t => {
      const since = sidecar.logs.length
      m3.failFor.add('sidecar')
      const published = await sidecar.waitForLog(
        l => typeof l.msg === 'string' && l.msg.startsWith('replica failing its check'),
        10_000,
        since,
      )
      const publishedAt = Date.parse(String(published.time))
      const waits = await Promise.all(
        lbs.map(lb => waitForPool(lb, stateOf('m3', 'down'), 5_000, 'm3 down')),
      )
      // The LBs' own checks still pass: only the sidecar's word took it out.
      const lagMs = Date.now() - publishedAt
      t.comment(
        `sidecar published down → both LBs evicted it within ${lagMs} ms (poll ${waits.map(Math.round).join('/')} ms)`,
      )
      t.ok(
        lagMs < 300 + 1_500,
        `evicted within one check interval (300 ms) plus propagation: ${lagMs} ms`,
      )
      m3.failFor.delete('sidecar')
      for (const lb of lbs)
        await waitForPool(lb, stateOf('m3', 'up'), 5_000, 'm3 back up')
      t.pass('back in rotation after rise')
    },
  )

  await t.test(
    'sidecar SIGKILL: its record expires, own checks take over, no flap',
    async t => {
      const since = lbs.map(lb => lb.logs.length)
      await sidecar.stop('SIGKILL')
      // Record TTL 1 s; hold well past it plus a few resyncs.
      await Promise.all(
        lbs.map(lb => holdsFor(lb, stateOf('m3', 'up'), 4_000, 'm3 stays up')),
      )
      lbs.forEach((lb, i) => {
        const flaps = lb.logs
          .slice(since[i])
          .filter(l => l.msg === 'member state changed' && l.member === 'm3')
        t.same(flaps, [], `${i === 0 ? 'lb1' : 'lb2'}: no state change of m3`)
      })
      // Own checks now decide: lb1's own probe fails, lb1 evicts it; lb2 keeps it.
      m3.failFor.add('lb1')
      await waitForPool(
        lb1,
        stateOf('m3', 'down'),
        5_000,
        'lb1 evicts m3 on its own checks',
      )
      t.pass('lb1 evicted m3 on its own checks after the sidecar vanished')
      m3.failFor.add('lb2')
      await waitForPool(
        lb2,
        stateOf('m3', 'down'),
        5_000,
        'lb2 evicts m3 on its own checks',
      )
      m3.failFor.clear()
      for (const lb of lbs)
        await waitForPool(lb, stateOf('m3', 'up'), 5_000, 'm3 up again')
    },
  )
})
