// Self-fencing end to end: two load balancers (workers mode) share a pool; every member
// fails lb1's probes only (its x-lb header), as if lb1's route to them were cut. lb1
// alone sees every member down while lb2 sees them up: lb1 reports unready with the
// reason, corral_fenced 1 and fenced in the pool API; lb2 stays ready. Restored, lb1
// unfences.
import t from 'tap'
import type { CorralProcess } from '../helpers/corral-process.js'
import { startRedis } from '../helpers/redis-server.js'
import { getPool, startSharedLb, waitForPool } from '../helpers/shared-pool.js'
import { startVotingMember } from '../helpers/voting-member.js'

const health = (lb: string): string =>
  `{ interval: 300ms, timeout: 1s, rise: 1, fall: 2, jitter: 0, headers: { x-lb: ${lb} } }`

async function readyz(lb: CorralProcess): Promise<{ status: number; reason: string }> {
  const res = await fetch(`${lb.adminUrl}/readyz`, { signal: AbortSignal.timeout(5_000) })
  const body = (await res.json()) as { reason?: string }
  return { status: res.status, reason: body.reason ?? '' }
}

async function metric(lb: CorralProcess, name: string): Promise<string | undefined> {
  const text = await (
    await fetch(`${lb.adminUrl}/metrics`, { signal: AbortSignal.timeout(5_000) })
  ).text()
  return new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]
}

/** Polls until `check` holds (bounded). */
async function until(what: string, check: () => Promise<boolean>, ms = 10_000) {
  const started = performance.now()
  while (performance.now() - started < ms) {
    if (await check()) return
    await new Promise(r => setTimeout(r, 100))
  }
  throw new Error(`timed out after ${ms}ms waiting for ${what}`)
}

// Two LB startups per test on a loaded 2-core machine: allow minutes.
t.setTimeout(300_000)

void t.test('an isolated load balancer fences itself; its peer does not', async t => {
  const dir = t.testdir()
  const redis = await startRedis()
  t.teardown(() => redis.kill())
  const members = await Promise.all(['m1', 'm2', 'm3'].map(id => startVotingMember(id)))
  t.teardown(() => Promise.all(members.map(m => m.close())))
  const lbs: CorralProcess[] = []
  for (const id of ['lb1', 'lb2']) {
    const lb = await startSharedLb(dir, members, {
      redisUrl: redis.url,
      instanceId: id,
      coordination: 'probes: all',
      health: health(id),
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
        ms.every(m => m.state === 'up') &&
        (s.coordination as { instances: number }).instances === 2,
      20_000,
      'all up on two instances',
    )
  }
  t.equal(await metric(lb1, 'corral_fenced'), '0', 'not fenced while it reaches members')

  const since = lb1.logs.length
  for (const m of members) m.failFor.add('lb1')
  await until(
    'lb1 fenced',
    async () =>
      (await readyz(lb1)).status === 503 &&
      (await readyz(lb1)).reason.startsWith('fenced'),
  )
  const r = await readyz(lb1)
  t.match(r.reason, /sees all 3 member\(s\) down while live peer\(s\) lb2 see members up/)
  t.equal(await metric(lb1, 'corral_fenced'), '1', 'corral_fenced 1')
  const pool = await getPool(lb1)
  t.equal(pool.summary.coordination.fenced, true, 'the pool API says fenced')
  const line = await lb1.waitForLog(
    l => l.msg === 'self-fenced: /readyz now reports unready',
    5_000,
    since,
  )
  t.ok(line, 'one log line for the change')
  t.equal((await readyz(lb2)).status, 200, 'the peer stays ready')
  t.equal(await metric(lb2, 'corral_fenced'), '0')

  for (const m of members) m.failFor.delete('lb1')
  await until('lb1 unfenced', async () => (await readyz(lb1)).status === 200)
  t.equal(await metric(lb1, 'corral_fenced'), '0', 'unfenced once it reaches them again')
  t.equal(
    lb1.logs
      .slice(since)
      .filter(l => l.msg === 'self-fenced: /readyz now reports unready').length,
    1,
    'exactly one fence line for one change',
  )
})

void t.test(
  'every instance seeing every member down is an outage, not a fence',
  async t => {
    const dir = t.testdir()
    const redis = await startRedis()
    t.teardown(() => redis.kill())
    const members = await Promise.all(['m1', 'm2', 'm3'].map(id => startVotingMember(id)))
    t.teardown(() => Promise.all(members.map(m => m.close())))
    const lbs: CorralProcess[] = []
    for (const id of ['lb1', 'lb2']) {
      const lb = await startSharedLb(dir, members, {
        redisUrl: redis.url,
        instanceId: id,
        coordination: 'probes: all',
        health: health(id),
      })
      t.teardown(() => lb.stop())
      lbs.push(lb)
    }
    for (const lb of lbs)
      await waitForPool(lb, ms => ms.every(m => m.state === 'up'), 20_000)
    for (const m of members) m.failFor.add('*')
    for (const lb of lbs)
      await waitForPool(lb, ms => ms.every(m => m.state === 'down'), 10_000)
    // A few heartbeats and resyncs later, neither has fenced.
    await new Promise(r => setTimeout(r, 2_000))
    for (const lb of lbs) {
      const r = await readyz(lb)
      t.equal(r.status, 503)
      t.equal(r.reason, 'no member is up', 'unready because nothing is up, not fenced')
      t.equal(await metric(lb, 'corral_fenced'), '0')
    }
  },
)
