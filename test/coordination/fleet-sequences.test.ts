// Sequences an operator really produces on a fleet (issue #18), through the real CLI in the
// default workers mode, two instances sharing one real redis-server:
// 1. drain on A, drain again on B, enable on A: no lease may stay behind to jam the budget;
// 2. every member record overwritten with garbage, one instance restarted while nobody can
//    repair: nothing is lost, and the instance holding good copies heals the store.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { memberRecordSchema, parseRecord } from '../../src/coordination/codec.js'
import { startReplica, type Replica } from '../../src/demo/replica.js'
import type { CorralProcess } from '../helpers/corral-process.js'
import { httpRequest } from '../helpers/http-client.js'
import { startRedis } from '../helpers/redis-server.js'
import {
  admin,
  getPool,
  holdsFor,
  startSharedLb,
  waitForPool,
  type PoolMember,
} from '../helpers/shared-pool.js'

const ids = (ms: readonly PoolMember[]): string =>
  ms
    .map(m => m.id)
    .sort()
    .join()

function lbDir(t: Test, name: string): string {
  const dir = join(t.testdir(), name)
  mkdirSync(dir, { recursive: true })
  return dir
}

async function replicasFor(t: Test, names: readonly string[]): Promise<Replica[]> {
  const rs = await Promise.all(names.map(id => startReplica(id)))
  t.teardown(() => Promise.all(rs.map(r => r.kill())))
  return rs
}

/** The replicas that answered `n` requests, each on a new connection through `lb`. */
async function servedBy(lb: CorralProcess, n: number): Promise<string[]> {
  const served = new Set<string>()
  for (let i = 0; i < n; i++) {
    const res = await httpRequest(lb.ports.http ?? 0)
    served.add(res.body.trim().replace('hello from ', ''))
  }
  return [...served].sort()
}

void t.test('a drain lease never outlives its drain (#18 defect 1)', async t => {
  const redis = await startRedis()
  t.teardown(() => redis.kill())
  const rs = await replicasFor(t, ['r1', 'r2', 'r3', 'r4'])
  const lb1 = await startSharedLb(lbDir(t, 'a'), rs, {
    redisUrl: redis.url,
    instanceId: 'lb1',
    prefix: 'd',
  })
  t.teardown(() => lb1.stop())
  const lb2 = await startSharedLb(lbDir(t, 'b'), [], {
    redisUrl: redis.url,
    instanceId: 'lb2',
    prefix: 'd',
  })
  t.teardown(() => lb2.stop())
  const allUp = (ms: readonly PoolMember[]): boolean =>
    ids(ms) === 'r1,r2,r3,r4' && ms.every(m => m.state === 'up')
  for (const lb of [lb1, lb2]) await waitForPool(lb, allUp, 20_000, 'four members up')
  const cli = new Redis(redis.url)
  t.teardown(() => {
    cli.disconnect()
  })

  // Two operators (or a retry through another instance behind DNS), then enable on A.
  t.equal(
    (await admin(lb1, 'POST', '/api/v1/members/r1/drain')).status,
    200,
    'drain on A',
  )
  t.equal(
    (await admin(lb2, 'POST', '/api/v1/members/r1/drain')).status,
    200,
    'drain again on B (takes the lease over)',
  )
  t.match(await cli.hget('d:drains', 'r1'), /api@lb2/, 'B holds the lease now')
  t.equal(
    (await admin(lb1, 'POST', '/api/v1/members/r1/enable')).status,
    200,
    'enable on A',
  )
  t.equal(await cli.hget('d:drains', 'r1'), null, 'the lease went with the drain')
  for (const lb of [lb1, lb2]) await waitForPool(lb, allUp, 10_000, 'r1 back everywhere')

  // The budget is free: a 4-pool drains one member, and only one.
  const r2 = await admin(lb1, 'POST', '/api/v1/members/r2/drain')
  t.equal(r2.status, 200, `another drain fits (${JSON.stringify(r2.json)})`)
  const r3 = await admin(lb2, 'POST', '/api/v1/members/r3/drain')
  t.equal(r3.status, 409, 'the second concurrent drain on 4 is refused')
  t.match(JSON.stringify(r3.json), /r2 \(draining, lease held by api@lb1\)/, 'naming r2')

  // The same on one instance, a moment apart: drain then enable at once.
  t.equal((await admin(lb2, 'POST', '/api/v1/members/r2/enable')).status, 200)
  t.equal((await admin(lb2, 'POST', '/api/v1/members/r3/drain')).status, 200)
  t.equal((await admin(lb2, 'POST', '/api/v1/members/r3/enable')).status, 200)
  t.strictSame(await cli.hkeys('d:drains'), [], 'no lease left behind')

  // A lease written behind corral's back on an enabled member is void: reaped, never counted.
  await cli.hset(
    'd:drains',
    'r4',
    JSON.stringify({
      v: 1,
      holder: 'api@gone',
      token: 'x',
      reason: 'x',
      at: 1,
      expiresAt: Date.now() + 600_000,
    }),
  )
  const r1 = await admin(lb1, 'POST', '/api/v1/members/r1/drain')
  t.equal(r1.status, 200, 'a void lease does not use the budget')
  t.strictSame(await cli.hkeys('d:drains'), ['r1'], 'and was reaped')
  await waitForPool(
    lb2,
    (_ms, s) =>
      (s.coordination as { drains: { member: string }[] }).drains
        .map(d => d.member)
        .join() === 'r1',
    5_000,
    'lb2 lists only the real lease',
  )
})

void t.test(
  'damaged member records are healed, never lost on a restart (#18 defect 2)',
  async t => {
    const redis = await startRedis()
    t.teardown(() => redis.kill())
    const rs = await replicasFor(t, ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'])
    const configured = rs.slice(0, 3)
    const lbOptions = { redisUrl: redis.url, instanceId: 'lb1', prefix: 'g' }
    let lb1: CorralProcess = await startSharedLb(lbDir(t, 'a'), configured, lbOptions)
    t.teardown(() => lb1.stop())
    const lb2 = await startSharedLb(lbDir(t, 'b'), [], {
      ...lbOptions,
      instanceId: 'lb2',
    })
    t.teardown(() => {
      if (lb2.proc.pid !== undefined && lb2.proc.exitCode === null) {
        process.kill(lb2.proc.pid, 'SIGCONT')
      }
      return lb2.stop()
    })
    for (const r of rs.slice(3)) {
      const put = await admin(lb2, 'PUT', `/api/v1/members/${r.id}`, {
        address: '127.0.0.1',
        ports: { http: r.port },
      })
      t.equal(put.status, 201, `${r.id} added through the API`)
    }
    const allSix = (ms: readonly PoolMember[]): boolean =>
      ids(ms) === 'r1,r2,r3,r4,r5,r6' && ms.every(m => m.state === 'up')
    for (const lb of [lb1, lb2]) await waitForPool(lb, allSix, 20_000, 'six members up')
    await lb1.poolSynced()
    t.strictSame(
      await servedBy(lb1, 30),
      ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'],
      'all six serve',
    )

    const cli = new Redis(redis.url)
    t.teardown(() => {
      cli.disconnect()
    })
    const damageAll = async (): Promise<void> => {
      for (const f of await cli.hkeys('g:members')) {
        if (f !== 'r6') await cli.hset('g:members', f, `garbage for ${f} {`)
      }
    }

    // The only instance holding good copies is stopped (cannot repair); lb1 restarts.
    const pid2 = lb2.proc.pid
    if (pid2 === undefined) throw new Error('lb2 has no pid')
    process.kill(pid2, 'SIGSTOP')
    await damageAll()
    t.equal(await lb1.stop(), 0, 'lb1 stops cleanly')
    lb1 = await startSharedLb(lbDir(t, 'a'), configured, lbOptions)
    const fresh = await getPool(lb1)
    t.ok(
      ['r1', 'r2', 'r3', 'r6'].every(id => fresh.members.some(m => m.id === id)),
      `the restarted instance keeps its config members and the readable r6 (${ids(fresh.members)})`,
    )
    t.notOk(
      lb1.logs.some(l => l.msg === 'member removed from the shared pool after draining'),
      'no member removed',
    )
    t.notOk(
      fresh.members.some(m => m.removing),
      'no member removing on the restarted instance',
    )

    // lb2 comes back: it holds good copies of all six and rewrites the damage.
    process.kill(pid2, 'SIGCONT')
    await waitForPool(lb1, allSix, 15_000, 'lb1 lists all six again')
    await lb2.waitForLog(
      l => l.msg === 'repaired damaged shared pool records from the last good copy',
      10_000,
    )
    const stored = await cli.hgetall('g:members')
    const readable = Object.entries(stored).filter(
      ([f, v]) => parseRecord(memberRecordSchema, f, v).ok,
    )
    t.equal(readable.length, 6, 'every record readable again')
    const metrics = await (await fetch(`${lb2.adminUrl}/metrics`)).text()
    t.match(
      metrics,
      /^corral_coordination_repairs_total\{kind="member"\} [1-9]/m,
      'counted as repairs',
    )

    // Damage while both run: healed within a resync, traffic keeps reaching all six.
    await damageAll()
    await holdsFor(lb1, allSix, 2_500, 'lb1 keeps all six through the damage')
    await waitForPool(lb2, allSix, 5_000, 'lb2 keeps all six')
    const healed = async (): Promise<boolean> => {
      const all = await cli.hgetall('g:members')
      return (
        Object.entries(all).filter(([f, v]) => parseRecord(memberRecordSchema, f, v).ok)
          .length === 6
      )
    }
    const deadline = Date.now() + 10_000
    while (!(await healed())) {
      if (Date.now() > deadline) throw new Error('the store was not healed within 10 s')
      await new Promise(r => setTimeout(r, 100))
    }
    t.pass('healed while both run')

    // A member missing without a readable delete is put back; a readable delete sticks.
    await cli.hdel('g:members', 'r5')
    await holdsFor(lb1, allSix, 2_500, 'a field deleted behind corral does not remove r5')
    const del = await admin(lb1, 'DELETE', '/api/v1/members/r4')
    t.equal(del.status, 202, 'DELETE r4 through the API (accepted: drains first)')
    for (const lb of [lb1, lb2]) {
      await waitForPool(
        lb,
        ms => ids(ms) === 'r1,r2,r3,r5,r6',
        15_000,
        'r4 gone everywhere, r5 still there',
      )
    }
    await lb1.poolSynced()
    t.strictSame(
      await servedBy(lb1, 30),
      ['r1', 'r2', 'r3', 'r5', 'r6'],
      'new connections reach all five',
    )
  },
)
