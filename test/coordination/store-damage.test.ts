// Damage under the prefix is repaired or ignored, never acted on (docs/coordination.md):
// RedisStore's scripts against garbage a real redis-server holds.
import { Redis } from 'ioredis'
import t from 'tap'
import { redisSchema } from '../../src/config/coordination-schema.js'
import { RedisStore } from '../../src/coordination/redis-store.js'
import type { MemberWrite } from '../../src/coordination/store.js'
import { startRedis } from '../helpers/redis-server.js'

const write = (id: string, extra: Partial<MemberWrite> = {}): MemberWrite => ({
  member: { id, address: '10.0.0.1', ports: { web: 8080 }, weight: 1 },
  admin: 'enabled',
  removing: false,
  reason: 'test',
  ...extra,
})

void t.test('an unreadable lease neither uses the budget nor frees it', async t => {
  const redis = await startRedis()
  t.teardown(() => redis.kill())
  const store = new RedisStore(redisSchema.parse({ url: redis.url, prefix: 'x' }))
  await store.start({ status: () => undefined, notice: () => undefined })
  t.teardown(() => store.close())
  const cli = new Redis(redis.url)
  t.teardown(() => {
    cli.disconnect()
  })
  for (const id of ['a', 'b', 'c']) await store.putMember(write(id), 'lb1')
  await cli.hset('x:drains', 'ghost', 'not a lease {')
  const request = (id: string) => ({
    write: write(id, { admin: 'draining' }),
    holder: 'api@lb1',
    ttlMs: 60_000,
    down: [],
    force: false,
  })
  const a = await store.drain(request('a'), 'lb1')
  t.ok(a.ok, 'a 3-pool drains one member: the garbage is not a member that left')
  const b = await store.drain(request('b'), 'lb1')
  t.match(
    b,
    { ok: false, budget: 1, out: [{ member: 'a', why: 'draining' }] },
    'and only one',
  )
  t.equal(await cli.hget('x:drains', 'ghost'), 'not a lease {', 'left as found')
  const snap = await store.snapshot(5_000)
  t.ok(
    snap.invalid.some(e => e.kind === 'drain' && e.key === 'x:drains[ghost]'),
    'reported as an invalid entry',
  )
})
