// One path for every pool mutation (issue #20), through the real CLI: a single instance
// without Redis runs the fleet's code (the coordinator over the embedded memory store),
// so its drain budget answers exactly as a Redis-backed instance does, and every member
// operation shows its effect in the very next read (no wait for a sync).
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { startReplica, type Replica } from '../../src/demo/replica.js'
import { startCorral, type CorralProcess } from '../helpers/corral-process.js'
import { lbYaml } from '../helpers/lb-config.js'
import { startRedis } from '../helpers/redis-server.js'
import {
  admin,
  getPool,
  startSharedLb,
  waitForPool,
  type PoolMember,
} from '../helpers/shared-pool.js'

// Up to three corral processes and a redis-server on a shared 2-core machine.
t.setTimeout(180_000)

const HEALTH = '{ interval: 200ms, timeout: 1s, rise: 1, fall: 2, jitter: 0 }'

/** A directory of its own for one corral process of test `t`. */
function dirFor(t: Test, name: string): string {
  const dir = join(t.testdir(), name)
  mkdirSync(dir, { recursive: true })
  return dir
}

async function replicasFor(t: Test, ids: readonly string[]): Promise<Replica[]> {
  const rs = await Promise.all(ids.map(id => startReplica(id)))
  t.teardown(() => Promise.all(rs.map(r => r.kill())))
  return rs
}

/** A single instance, no `redis`, instance id lb1 (so lease holders read api@lb1). */
async function single(
  t: Test,
  rs: readonly Replica[],
  coordination = '',
): Promise<CorralProcess> {
  const lb = await startCorral(
    dirFor(t, 'single'),
    lbYaml(rs, {
      health: HEALTH,
      workers: 0,
      extra: `coordination: { instanceId: lb1${coordination} }`,
    }),
  )
  t.teardown(() => lb.stop())
  return lb
}

const allUp =
  (n: number) =>
  (ms: readonly PoolMember[]): boolean =>
    ms.length === n && ms.every(m => m.state === 'up')

void t.test(
  'a drain past the budget gets the same 409 with or without Redis',
  async t => {
    const rs = await replicasFor(t, ['r1', 'r2', 'r3'])
    const redis = await startRedis()
    t.teardown(() => redis.kill())
    const alone = await single(t, rs)
    const fleet = await startSharedLb(dirFor(t, 'fleet'), rs, {
      redisUrl: redis.url,
      instanceId: 'lb1',
      health: HEALTH,
      workers: '0',
    })
    t.teardown(() => fleet.stop())
    const refusals: unknown[] = []
    for (const [name, lb] of [
      ['without redis', alone],
      ['with redis', fleet],
    ] as const) {
      await waitForPool(lb, allUp(3), 20_000, `${name}: three members up`)
      t.equal((await admin(lb, 'POST', '/api/v1/members/r1/drain')).status, 200)
      const refused = await admin(lb, 'POST', '/api/v1/members/r2/drain')
      t.equal(refused.status, 409, `${name}: r2 past the budget is refused`)
      refusals.push(refused.json)
      const pool = await getPool(lb)
      t.equal(pool.members.find(m => m.id === 'r2')?.state, 'up', `${name}: r2 still up`)
      const forced = await admin(lb, 'POST', '/api/v1/members/r2/drain?force=true')
      t.equal(forced.status, 200, `${name}: ?force=true drains past it`)
      for (const id of ['r1', 'r2'])
        t.equal((await admin(lb, 'POST', `/api/v1/members/${id}/enable`)).status, 200)
    }
    t.match(refusals[0], {
      error: {
        code: 'ADMIN_CONFLICT',
        message:
          /^drain budget exhausted: 1 member\(s\) may be out at a time .* r1 \(draining, lease held by api@lb1\) already are/,
        details: ['r1 (draining, lease held by api@lb1)'],
      },
    })
    t.strictSame(refusals[0], refusals[1], 'the same answer, byte for byte')

    const { summary } = await getPool(alone)
    t.match(summary.coordination, {
      store: 'memory',
      target: 'memory',
      connected: true,
      instanceId: 'lb1',
      instances: 1,
      policy: 'local',
      drains: [],
      drainBudget: 1,
    })
    t.notOk('fenced' in summary.coordination, 'no fencing without peers')
    t.match((await getPool(fleet)).summary.coordination, { store: 'redis' })
  },
)

void t.test(
  'coordination.drainBudget: false lets one instance drain past it',
  async t => {
    const rs = await replicasFor(t, ['r1', 'r2', 'r3'])
    const lb = await single(t, rs, ', drainBudget: false')
    await waitForPool(lb, allUp(3), 20_000, 'three members up')
    for (const id of ['r1', 'r2'])
      t.equal((await admin(lb, 'POST', `/api/v1/members/${id}/drain`)).status, 200)
  },
)

void t.test(
  'without Redis every member operation is in the next read of the pool',
  async t => {
    const rs = await replicasFor(t, ['r1', 'r2', 'r3', 'r4'])
    const [r1, r2, r3, r4] = rs
    if (!r1 || !r2 || !r3 || !r4) throw new Error('replicas')
    const lb = await single(t, [r1, r2, r3])
    await waitForPool(lb, allUp(3), 20_000, 'three members up')
    const state = async (id: string): Promise<string | undefined> =>
      (await getPool(lb)).members.find(m => m.id === id)?.state
    const timed = async (
      method: string,
      path: string,
      body?: unknown,
    ): Promise<{ status: number; json: Record<string, unknown> }> => {
      const started = performance.now()
      const res = await admin(lb, method, path, body)
      t.comment(
        `${method} ${path}: ${res.status} in ${(performance.now() - started).toFixed(1)} ms`,
      )
      return res
    }

    t.equal((await timed('POST', '/api/v1/members/r1/drain')).status, 200)
    t.equal(await state('r1'), 'draining', 'drain')
    t.equal((await timed('POST', '/api/v1/members/r1/enable')).status, 200)
    t.equal(await state('r1'), 'up', 'enable')
    t.equal((await timed('POST', '/api/v1/members/r2/disable')).status, 200)
    t.equal(await state('r2'), 'disabled', 'disable')
    const put = await timed('PUT', '/api/v1/members/r4', {
      address: '127.0.0.1',
      ports: { http: r4.port },
    })
    t.equal(put.status, 201)
    t.match(
      (await getPool(lb)).members.find(m => m.id === 'r4'),
      {
        source: 'api',
        removing: false,
      },
    )
    await waitForPool(lb, ms => ms.some(m => m.id === 'r4' && m.state === 'up'))
    t.equal((await timed('DELETE', '/api/v1/members/r4')).status, 202)
    t.equal(await state('r4'), undefined, 'an idle member is gone at once')
    t.equal((await timed('POST', '/api/v1/members/r2/enable')).status, 200)
    t.equal(await state('r2'), 'up')
  },
)
