// SIGTERM edge cases of `corral sidecar`: a second SIGTERM skips the wait; with Redis
// unreachable it still exits within drain.timeout, saying what it could not do.
import t from 'tap'
import { startReplica } from '../../src/demo/replica.js'
import { startRedis } from '../helpers/redis-server.js'
import { startSidecar } from '../helpers/sidecar-process.js'

// Real processes on a loaded 2-core machine: allow minutes.
t.setTimeout(300_000)

void t.test('a second SIGTERM skips the wait for the drain budget', async t => {
  const dir = t.testdir()
  const redis = await startRedis()
  t.teardown(() => redis.kill())
  const replica = await startReplica('solo')
  t.teardown(() => replica.kill())
  // A one-member pool can afford no drain (floor((1-1)/2) = 0): the sidecar waits.
  const sc = await startSidecar(dir, {
    redisUrl: redis.url,
    member: replica,
    drain: '{ timeout: 60s }',
  })
  t.teardown(() => sc.stop('SIGKILL'))
  await sc.waitForLog(l => l.msg === 'member registered in the shared pool', 15_000)
  const exited = sc.stop('SIGTERM', 30_000)
  await sc.waitForLog(
    l => typeof l.msg === 'string' && l.msg.startsWith('drain budget exhausted'),
    15_000,
  )
  const started = performance.now()
  sc.proc.kill('SIGTERM')
  t.equal(await exited, 0, 'exits 0 after deregistering')
  t.ok(performance.now() - started < 10_000, 'without waiting for the 60 s deadline')
  t.ok(sc.logs.some(l => l.msg === 'second stop signal: skipping the wait'))
  t.ok(sc.logs.some(l => l.msg === 'member deregistered from the shared pool'))
})

void t.test(
  'Redis unreachable at SIGTERM: exits within drain.timeout, saying why',
  async t => {
    const dir = t.testdir()
    const redis = await startRedis()
    t.teardown(() => redis.kill())
    const replica = await startReplica('r1')
    t.teardown(() => replica.kill())
    const sc = await startSidecar(dir, {
      redisUrl: redis.url,
      member: replica,
      drain: '{ timeout: 2s }',
    })
    t.teardown(() => sc.stop('SIGKILL'))
    await sc.waitForLog(l => l.msg === 'member registered in the shared pool', 15_000)
    await redis.kill()
    await sc.waitForLog(
      l => typeof l.msg === 'string' && l.msg.startsWith('shared pool store unreachable'),
      10_000,
    )
    const started = performance.now()
    const code = await sc.stop('SIGTERM', 20_000)
    const tookMs = performance.now() - started
    const logAt = (prefix: string): number =>
      Date.parse(String(sc.logs.find(l => l.msg?.startsWith(prefix) === true)?.time))
    const drainMs = logAt('sidecar exiting') - logAt('stopping')
    t.comment(
      `SIGTERM → "sidecar exiting" ${drainMs} ms; → process exit ${Math.round(tookMs)} ms`,
    )
    t.ok(drainMs < 2_000 + 1_000, `gave up at the 2 s deadline (${drainMs} ms)`)
    t.equal(code, 1, 'exit 1: the drain could not be done')
    t.ok(
      tookMs < 2_000 + 1_500,
      `exited ${Math.round(tookMs)} ms after SIGTERM (deadline 2 s)`,
    )
    const why = sc.logs.find(
      l =>
        typeof l.msg === 'string' &&
        l.msg.startsWith('could not drain within drain.timeout'),
    )
    t.match(String(why?.msg), /the shared pool store did not answer/)
  },
)
