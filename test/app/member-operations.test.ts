// One path for every pool mutation (issue #20): without `redis`, the member operations
// go through the same Coordinator as a fleet's, over the embedded memory store the app
// wires in (app/coordination.ts). Real Pool, Coordinator and MemoryStore; no sockets.
import { Registry } from 'prom-client'
import t, { type Test } from 'tap'
import { AdminRequestError } from '../../src/admin/errors.js'
import { createCoordination } from '../../src/app/coordination.js'
import {
  memberOperations,
  type MemberOperations,
} from '../../src/app/member-operations.js'
import { configEndpoint, poolOptions } from '../../src/app/pool.js'
import { monotonicClock } from '../../src/clock.js'
import { parseConfig } from '../../src/config/load.js'
import type { Coordinator } from '../../src/coordination/coordinator.js'
import { createLogger } from '../../src/log.js'
import { createCoordinationMetrics } from '../../src/metrics/coordination.js'
import { createMetrics } from '../../src/metrics/registry.js'
import { Pool } from '../../src/pool/pool.js'
import type { MemberView } from '../../src/pool/types.js'

interface Setup {
  readonly pool: Pool
  readonly ops: MemberOperations
  readonly coordinator: Coordinator
  /** Every membershipChanged(created) call, in order. */
  readonly changes: boolean[]
  /** Log lines at info and above, parsed. */
  readonly lines: Record<string, unknown>[]
}

/** A started single instance (no `redis`) of r1..r3, all up; `coordination` adds keys. */
async function single(t: Test, coordination = ''): Promise<Setup> {
  const config = parseConfig(`
listeners: [{ name: http, bind: "127.0.0.1:0" }]
members:
  - { id: r1, address: 127.0.0.1, ports: { http: 8081 } }
  - { id: r2, address: 127.0.0.1, ports: { http: 8082 } }
  - { id: r3, address: 127.0.0.1, ports: { http: 8083 } }
health: { initialState: up }
coordination: { instanceId: lb1${coordination} }
`)
  const lines: Record<string, unknown>[] = []
  const log = createLogger('info', {
    write: (msg: string) => {
      const line: unknown = JSON.parse(msg)
      if (typeof line === 'object' && line !== null) lines.push({ ...line })
    },
  })
  const register = new Registry()
  const pool = new Pool(poolOptions(config))
  for (const m of config.members) pool.upsert(configEndpoint(m), monotonicClock.now())
  const { coordinator, fencing, shared } = createCoordination(config, {
    version: 'test',
    pool,
    clock: monotonicClock,
    log,
    metrics: createMetrics(register, { version: 'test' }),
    coordinationMetrics: createCoordinationMetrics(register),
    poolChanged: () => undefined,
    setProbeKind: () => undefined,
    load: () => 0,
  })
  t.equal(fencing, undefined, 'no fencing without peers')
  t.equal(shared, false, 'the embedded store is not shared')
  await coordinator.start()
  t.teardown(() => coordinator.close())
  const changes: boolean[] = []
  const ops = memberOperations({
    pool,
    log,
    coordinator,
    drainBudget: config.coordination.drainBudget,
    membershipChanged: created => changes.push(created),
    memberJson: (v: MemberView) => ({ id: v.id, state: v.state, removing: v.removing }),
  })
  return { pool, ops, coordinator, changes, lines }
}

async function refusal(p: Promise<unknown>): Promise<AdminRequestError> {
  try {
    await p
  } catch (err) {
    if (err instanceof AdminRequestError) return err
    throw err
  }
  throw new Error('expected an AdminRequestError')
}

void t.test('a drain is in the pool when the call resolves (no sync tick)', async t => {
  const { pool, ops, changes } = await single(t)
  const r = await ops.drain('r1')
  t.strictSame(r, { ok: true, member: { id: 'r1', state: 'draining', removing: false } })
  t.equal(pool.get('r1')?.admin, 'draining', 'the pool holds it already')
  t.strictSame(changes, [false], 'routing was told once')
})

void t.test('a drain past the budget is refused with 409 naming who is out', async t => {
  const { pool, ops, coordinator } = await single(t)
  await ops.drain('r1')
  const err = await refusal(ops.drain('r2'))
  t.equal(err.status, 409)
  t.equal(err.code, 'ADMIN_CONFLICT')
  t.equal(
    err.message,
    'drain budget exhausted: 1 member(s) may be out at a time to keep a majority of the pool routable, and r1 (draining, lease held by api@lb1) already are; retry when one is back, or POST …/drain?force=true to override',
  )
  t.strictSame(err.details, ['r1 (draining, lease held by api@lb1)'])
  t.equal(pool.get('r2')?.admin, 'enabled', 'r2 was not drained')
  t.equal(coordinator.drainBudget(), 0, 'the budget gauge says none left')
})

void t.test('a member down uses the budget like a drained one', async t => {
  const { pool, ops } = await single(t)
  for (let i = 0; i < 3; i++)
    pool.observe('r3', { ok: false, reason: 'refused', detail: 'test' }, i)
  t.equal(pool.get('r3')?.health, 'down')
  const err = await refusal(ops.drain('r1'))
  t.match(err.message, /r3 \(down\) already are/)
})

void t.test('force, or coordination.drainBudget: false, drains past it', async t => {
  await t.test('?force=true', async t => {
    const { pool, ops } = await single(t)
    await ops.drain('r1')
    const r = await ops.drain('r2', { force: true })
    t.equal(r.ok, true)
    t.equal(pool.get('r2')?.admin, 'draining')
  })
  await t.test('drainBudget: false', async t => {
    const { pool, ops } = await single(t, ', drainBudget: false')
    await ops.drain('r1')
    t.equal((await ops.drain('r2')).ok, true)
    t.equal(pool.get('r2')?.admin, 'draining')
  })
})

void t.test('enabling releases the lease: the next drain fits', async t => {
  const { pool, ops, coordinator } = await single(t)
  await ops.drain('r1')
  await ops.enable('r1')
  t.equal(pool.get('r1')?.admin, 'enabled')
  t.equal(coordinator.drainBudget(), 1, 'the budget is back')
  t.equal((await ops.drain('r2')).ok, true)
})

void t.test('disable, upsert and remove go through the store too', async t => {
  const { pool, ops, coordinator, changes } = await single(t)
  t.equal((await ops.disable('r3')).ok, true)
  t.equal(pool.get('r3')?.state, 'disabled')
  const added = await ops.upsert({
    id: 'r4',
    address: '127.0.0.1',
    ports: { http: 8084 },
    weight: 1,
    source: 'api',
  })
  t.equal(added.created, true)
  t.equal(pool.get('r4')?.source, 'api')
  const updated = await ops.upsert({
    id: 'r4',
    address: '127.0.0.1',
    ports: { http: 8084 },
    weight: 3,
    source: 'api',
  })
  t.equal(updated.created, false)
  t.equal(pool.get('r4')?.weight, 3)
  const removed = await ops.remove('r4')
  t.equal(removed.ok, true)
  t.equal(pool.get('r4')?.removing, true, 'draining until idle (routing removes it)')
  t.strictSame(changes, [false, true, false, false])
  t.match(coordinator.status(), {
    store: 'memory',
    target: 'memory',
    connected: true,
    instanceId: 'lb1',
    instances: ['lb1'],
    policy: 'local',
    probes: 'all',
  })
})

void t.test('unknown members are not found, and nothing is written', async t => {
  const { ops, changes } = await single(t)
  for (const r of [
    await ops.drain('nope'),
    await ops.enable('nope'),
    await ops.disable('nope'),
    await ops.remove('nope'),
  ])
    t.strictSame(r, { ok: false, error: 'not-found' })
  t.strictSame(changes, [])
})

void t.test("the embedded store's bookkeeping is not logged at info", async t => {
  const { ops, lines } = await single(t)
  await ops.drain('r1')
  t.strictSame(
    lines.filter(l => l.component === 'coordination'),
    [],
    'no "shared pool store connected" or "seeded" lines for one instance',
  )
})
