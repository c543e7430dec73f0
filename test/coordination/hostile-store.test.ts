// Whatever is under the prefix, no instance crashes or poisons its pool: unreadable
// entries are skipped with a log line and a counter, the last good state stays, and the
// next valid write (or the instance's own repair) heals it.
import { Redis } from 'ioredis'
import t from 'tap'
import { startReplica } from '../../src/demo/replica.js'
import { startRedis } from '../helpers/redis-server.js'
import { admin, holdsFor, startSharedLb, waitForPool } from '../helpers/shared-pool.js'

void t.test('malformed shared pool contents are survived and healed', async t => {
  const redis = await startRedis()
  t.teardown(() => redis.kill())
  const replicas = await Promise.all(['r1', 'r2', 'r3'].map(id => startReplica(id)))
  t.teardown(() => Promise.all(replicas.map(r => r.kill())))
  const lb1 = await startSharedLb(t.testdir(), replicas, {
    redisUrl: redis.url,
    instanceId: 'lb1',
    prefix: 'h',
  })
  t.teardown(() => lb1.stop())
  const lb2 = await startSharedLb(t.testdir(), [], {
    redisUrl: redis.url,
    instanceId: 'lb2',
    prefix: 'h',
  })
  t.teardown(() => lb2.stop())
  const all3 = (ms: readonly { id: string; state: string }[]): boolean =>
    ms.map(m => m.id).join() === 'r1,r2,r3' && ms.every(m => m.state === 'up')
  for (const lb of [lb1, lb2]) await waitForPool(lb, all3, 15_000, 'three members up')

  const cli = new Redis(redis.url)
  t.teardown(() => {
    cli.disconnect()
  })
  const poison = async (): Promise<void> => {
    // First: the repairs the member damage below causes bump the version, which would
    // replace a garbage version before an instance could read it.
    await cli.set('h:version', 'not-a-number')
    await cli.hset('h:members', 'bad1', 'not json {')
    await cli.hset('h:members', 'bad2', JSON.stringify({ v: 99, member: {} }))
    await cli.hset(
      'h:members',
      'bad3',
      JSON.stringify({ v: 1, member: { id: 'bad3', address: 7 }, admin: 'sleepy' }),
    )
    await cli.hset('h:members', 'huge', 'x'.repeat(200_000))
    await cli.hset(
      'h:members',
      'r1',
      JSON.stringify({
        v: 1,
        member: { id: 'other', address: '127.0.0.1', ports: {}, weight: 1 },
        admin: 'enabled',
        removing: false,
        rev: 1,
        by: 'x',
        reason: 'x',
        at: 1,
      }),
    )
    await cli.zadd('h:instances', Date.now() + 60_000, 'ghost')
    await cli.set('h:instance:ghost', '{"v":1,"id":')
    await cli.set('h:obs:lb1', 'wrong type')
    await cli.hset('h:sidecars', 'r2', '[1,2,3]')
    await cli.set('h:drains', 'wrong type too')
    await cli.hset('h:verdicts', 'r3', '"down"')
    await cli.publish('h:events', '{"kind":"members","from":"attacker"}')
    await cli.publish('h:events', '\u0000binary garbage')
  }
  await poison()
  await holdsFor(
    lb2,
    (ms, s) => all3(ms) && (s.coordination as { connected: boolean }).connected,
    3_000,
    'lb2 keeps its pool through the garbage',
  )
  await holdsFor(lb1, all3, 1_000, 'lb1 keeps its pool')
  // Counted by whichever instance read each value before an instance repaired it.
  const byKind: Record<string, number> = {}
  for (const lb of [lb1, lb2]) {
    const metrics = await (await fetch(`${lb.adminUrl}/metrics`)).text()
    for (const m of metrics.matchAll(
      /^corral_coordination_invalid_entries_total\{kind="(\w+)"\} (\d+)/gm,
    )) {
      const kind = m[1] ?? ''
      byKind[kind] = (byKind[kind] ?? 0) + Number(m[2])
    }
  }
  t.ok(
    (byKind.member ?? 0) > 0,
    `member entries counted as invalid (${JSON.stringify(byKind)})`,
  )
  t.ok((byKind.version ?? 0) > 0, 'the version counted as invalid')
  await lb2.waitForLog(
    l =>
      l.msg ===
        'ignored an unreadable shared pool entry (the last good state stays in force)' ||
      l.msg ===
        'ignored an unreadable shared pool entry (the last good value stays in force)',
    5_000,
  )
  t.pass('logged')

  // Keys of the wrong type and keys deleted under corral: the pool is repaired.
  await cli.del('h:members')
  await holdsFor(lb2, all3, 2_500, 'a deleted members key does not empty the pool')
  await cli.set('h:members', 'a string now')
  await holdsFor(
    lb1,
    all3,
    2_500,
    'a members key of the wrong type does not empty the pool',
  )
  await waitForPool(lb1, all3, 5_000, 'still all three')
  const fields = await cli.type('h:members')
  t.equal(fields, 'hash', 'the members key was repaired as a hash')

  // The next valid write heals the rest.
  const r = await admin(lb1, 'POST', '/api/v1/members/r1/disable')
  t.equal(r.status, 200, 'a valid write after the garbage succeeds')
  await waitForPool(
    lb2,
    ms => ms.some(m => m.id === 'r1' && m.admin === 'disabled'),
    3_000,
    'and propagates',
  )
  t.ok(
    lb1.proc.exitCode === null && lb2.proc.exitCode === null,
    'both instances still running',
  )
})
