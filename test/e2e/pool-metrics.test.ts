// With data-path workers, /metrics merges the primary's registry with every worker's.
// The pool and member gauges exist once, in the primary: this scrapes a multi-worker
// corral (the default `workers: auto`, and an explicit `workers: 2`) and compares every
// pool/member gauge with the pool API at the same moment (issue #9: each worker's
// initial pool gauges were summed in, `corral_pool_failures_tolerated -2` instead of 0).
import { availableParallelism } from 'node:os'
import t, { type Test } from 'tap'
import { startReplica, type Replica } from '../../src/demo/replica.js'
import { startCorral, type CorralProcess } from '../helpers/corral-process.js'
import { adminRequest, httpRequest } from '../helpers/http-client.js'
import { lbYaml, modeName, stateChanged, type WorkersMode } from '../helpers/lb-config.js'
import {
  promtoolCheckMetrics,
  promtoolMissing,
  unexpectedFindings,
} from '../helpers/promtool.js'

// Tests here run once per workers mode: up to twice the corral starts of a one-mode file,
// on a shared 2-core machine. Above .taprc's 120 s per file, still bounded.
t.setTimeout(240_000)

const STATES = ['up', 'down', 'draining', 'disabled'] as const
const POOL_FAMILIES = [
  'corral_pool_size',
  'corral_pool_members',
  'corral_pool_members_live',
  'corral_pool_members_routable',
  'corral_pool_failures_tolerated',
  'corral_pool_quorum_shortfall',
  'corral_pool_quorum',
  'corral_member_up',
  'corral_member_state',
] as const
// Slack for corral_member_down_seconds against the API's secondsInState (rounded to
// 0.1 s) read just before and just after the scrape.
const DOWN_SECONDS_SLACK = 0.2

interface PoolJson {
  readonly summary: {
    readonly size: number
    readonly states: Readonly<Record<string, number>>
    readonly live: number
    readonly routable: number
    readonly failuresTolerated: number
    readonly quorumShortfall: number
    readonly quorum: boolean
    readonly workers: number
  }
  readonly members: readonly {
    readonly id: string
    readonly state: string
    readonly secondsInState: number
  }[]
}

function isPoolJson(v: unknown): v is PoolJson {
  return (
    v !== null &&
    typeof v === 'object' &&
    'summary' in v &&
    'members' in v &&
    Array.isArray(v.members)
  )
}

async function poolApi(lb: CorralProcess): Promise<PoolJson> {
  const { status, json } = await adminRequest(lb.adminPort, 'GET', '/api/v1/pool')
  if (status !== 200 || !isPoolJson(json))
    throw new Error(`GET /api/v1/pool: ${status} ${JSON.stringify(json)}`)
  return json
}

/** Every sample of the exposition, `name{labels}` → values (a repeated series shows). */
function samples(text: string): Map<string, number[]> {
  const out = new Map<string, number[]>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^(\S+?(?:\{[^}]*\})?) (\S+)$/.exec(line)
    if (m === null) throw new Error(`unparsable exposition line: ${line}`)
    const [, series = '', value = ''] = m
    out.set(series, [...(out.get(series) ?? []), Number(value)])
  }
  return out
}

/** The pool/member gauges the pool API implies, by series as prom-client writes it. */
function expectedGauges(pool: PoolJson): Record<string, number[]> {
  const s = pool.summary
  const want: Record<string, number[]> = {
    corral_pool_size: [s.size],
    corral_pool_members_live: [s.live],
    corral_pool_members_routable: [s.routable],
    corral_pool_failures_tolerated: [s.failuresTolerated],
    corral_pool_quorum_shortfall: [s.quorumShortfall],
    corral_pool_quorum: [s.quorum ? 1 : 0],
  }
  for (const state of STATES)
    want[`corral_pool_members{state="${state}"}`] = [s.states[state] ?? -1]
  for (const m of pool.members) {
    want[`corral_member_up{member="${m.id}"}`] = [m.state === 'up' ? 1 : 0]
    for (const state of STATES)
      want[`corral_member_state{member="${m.id}",state="${state}"}`] = [
        m.state === state ? 1 : 0,
      ]
  }
  return want
}

/** The exposition's series of the pool/member gauge families. */
function poolGauges(all: ReadonlyMap<string, number[]>): Record<string, number[]> {
  const got: Record<string, number[]> = {}
  for (const [series, values] of all) {
    const name = series.replace(/\{.*$/, '')
    if ((POOL_FAMILIES as readonly string[]).includes(name)) got[series] = values
  }
  return got
}

/** The summary without the store's clock (coordination.lastSyncAgoMs moves on its own). */
function stillPart(summary: PoolJson['summary']): string {
  return JSON.stringify(summary, (key, value: unknown) =>
    key === 'lastSyncAgoMs' ? null : value,
  )
}

/** Scrapes /metrics between two pool API reads; checks every pool/member gauge. */
async function compareWithPoolApi(
  t: Test,
  lb: CorralProcess,
  expectWorkers: number,
): Promise<string> {
  const before = await poolApi(lb)
  const scrape = await httpRequest(lb.adminPort, '/metrics')
  const after = await poolApi(lb)
  t.equal(scrape.status, 200, '/metrics answers 200')
  t.equal(before.summary.workers, expectWorkers, `${expectWorkers} workers`)
  t.equal(
    stillPart(after.summary),
    stillPart(before.summary),
    'the pool did not move during the scrape',
  )
  const all = samples(scrape.body)
  t.strictSame(
    poolGauges(all),
    expectedGauges(before),
    'every pool/member gauge, exactly once, equals the pool API',
  )
  for (const m of before.members) {
    const series = `corral_member_down_seconds{member="${m.id}"}`
    const got = all.get(series) ?? []
    const end = after.members.find(a => a.id === m.id)?.secondsInState ?? NaN
    if (m.state === 'up') {
      t.strictSame(got, [0], `${series} is 0 while up`)
    } else {
      const [v = NaN] = got
      t.ok(
        got.length === 1 &&
          v >= m.secondsInState - DOWN_SECONDS_SLACK &&
          v <= end + DOWN_SECONDS_SLACK,
        `${series} ${String(got)} is within [${m.secondsInState}, ${end}] s in state`,
      )
    }
  }
  t.strictSame(all.get('corral_coordination_store_up'), [1], 'store up: 1, once')
  const buildInfo = [...all].filter(([k]) => k.startsWith('corral_build_info'))
  t.strictSame(
    buildInfo.map(([, v]) => v),
    [[1]],
    'one build_info series, value 1',
  )
  // Node default metrics are per process: the primary's unlabelled, each worker's with
  // its slot, none summed (process_start_time_seconds was dropped by the 'omit' merge).
  t.strictSame(all.get('process_start_time_seconds')?.length, 1, 'primary start time')
  for (let slot = 1; slot <= expectWorkers; slot++) {
    t.strictSame(
      all.get(`process_start_time_seconds{worker="${String(slot)}"}`)?.length,
      1,
      `worker ${String(slot)} start time`,
    )
  }
  t.notOk(
    all.has(`process_start_time_seconds{worker="${String(expectWorkers + 1)}"}`),
    'no more worker series than workers',
  )
  return scrape.body
}

async function startPool(
  t: Test,
  ids: readonly string[],
  failing: ReadonlySet<string>,
  mode: WorkersMode,
): Promise<{ lb: CorralProcess; replicas: readonly Replica[] }> {
  const replicas = await Promise.all(ids.map(id => startReplica(id)))
  t.teardown(() => Promise.all(replicas.map(r => r.kill())))
  for (const r of replicas) if (failing.has(r.id)) r.setHealthStatus(503)
  const lb = await startCorral(
    t.testdir(),
    lbYaml(replicas, {
      // A failing member fails on its 503, at once; the generous timeout and fall keep
      // a healthy member up when a loaded machine delays a probe.
      health: '{ interval: 100ms, timeout: 2s, rise: 1, fall: 3, jitter: 0 }',
      workers: mode,
    }),
  )
  t.teardown(() => lb.stop('SIGKILL'))
  // Members start down: healthy ones go up on their first check; a failing one stays
  // down, which it has shown once one of its checks failed.
  await Promise.all(
    replicas.map(r =>
      failing.has(r.id)
        ? lb.waitForLog(l => l.msg === 'check failed' && l.member === r.id)
        : lb.waitForLog(stateChanged(r.id, 'up')),
    ),
  )
  return { lb, replicas }
}

const MODES: readonly { mode: WorkersMode; workers: number }[] = [
  { mode: 'default', workers: availableParallelism() },
  { mode: 2, workers: 2 },
]

for (const { mode, workers } of MODES) {
  void t.test(`${modeName(mode)}: pool gauges equal the pool API`, async t => {
    await t.test(
      '3 members, 1 failing its checks: no more failures tolerated',
      async t => {
        const { lb } = await startPool(t, ['r1', 'r2', 'r3'], new Set(['r3']), mode)
        const body = await compareWithPoolApi(t, lb, workers)
        t.match(body, /^corral_pool_failures_tolerated 0$/m, 'failures tolerated: 0')
        t.match(body, /^corral_pool_quorum 1$/m, 'quorum: 1')
        if (promtoolMissing !== false) {
          t.pass('promtool check metrics', { skip: promtoolMissing })
          return
        }
        t.strictSame(
          unexpectedFindings(await promtoolCheckMetrics(body)),
          [],
          'the merged exposition passes promtool check metrics',
        )
      },
    )
    await t.test('1 member of 1 down: quorum lost, 1 short, 0 tolerated', async t => {
      const { lb } = await startPool(t, ['r1'], new Set(['r1']), mode)
      const body = await compareWithPoolApi(t, lb, workers)
      t.match(body, /^corral_pool_failures_tolerated 0$/m, 'failures tolerated: 0')
      t.match(body, /^corral_pool_quorum_shortfall 1$/m, 'quorum shortfall: 1')
      t.match(body, /^corral_pool_quorum 0$/m, 'quorum: 0')
    })
  })
}

/** A pool quorum/capacity log line (app/quorum.ts), matched by message. */
const logged = (msg: string) => (l: Record<string, unknown>) => l.msg === msg

/** The summary fields of issue #24, from the pool API. */
function liveRoutable(pool: PoolJson): Record<string, unknown> {
  const s = pool.summary
  return {
    live: s.live,
    routable: s.routable,
    quorum: s.quorum,
    failuresTolerated: s.failuresTolerated,
    quorumShortfall: s.quorumShortfall,
  }
}

// Issue #24 through the real CLI with the default `workers: auto`: a drain is
// maintenance, not a failure. Quorum is judged on live members (passing their checks,
// whatever their admin state); routable members are the capacity margin.
void t.test(
  'workers: default: quorum counts live members, routing capacity counts routable ones',
  async t => {
    const { lb, replicas } = await startPool(
      t,
      ['r1', 'r2', 'r3'],
      new Set<string>(),
      'default',
    )
    const [, r2, r3] = replicas
    if (r2 === undefined || r3 === undefined) throw new Error('no r2/r3')
    const workers = availableParallelism()

    await t.test('r3 drained while healthy: still live, no longer routable', async t => {
      const drained = await adminRequest(lb.adminPort, 'POST', '/api/v1/members/r3/drain')
      t.equal(drained.status, 200)
      t.strictSame(liveRoutable(await poolApi(lb)), {
        live: 3,
        routable: 2,
        quorum: true,
        failuresTolerated: 1,
        quorumShortfall: 0,
      })
    })

    await t.test('r2 failing its checks too: quorum held, 1 routable', async t => {
      const since = lb.logs.length
      r2.setHealthStatus(503)
      await lb.waitForLog(stateChanged('r2', 'down'), 10_000, since)
      const body = await compareWithPoolApi(t, lb, workers)
      t.strictSame(liveRoutable(await poolApi(lb)), {
        live: 2,
        routable: 1,
        quorum: true,
        failuresTolerated: 0,
        quorumShortfall: 0,
      })
      t.match(body, /^corral_pool_members_live 2$/m, 'live: 2')
      t.match(body, /^corral_pool_members_routable 1$/m, 'routable: 1')
      t.match(body, /^corral_pool_quorum 1$/m, 'quorum: 1 (QuorumLost stays quiet)')
      t.match(body, /^corral_pool_failures_tolerated 0$/m, 'failures tolerated: 0')
      await lb.waitForLog(logged('pool routing capacity low'), 5_000, since)
      t.notOk(
        lb.logs.slice(since).some(logged('pool quorum lost')),
        'no "pool quorum lost" log line',
      )
      if (promtoolMissing !== false) {
        t.pass('promtool check metrics', { skip: promtoolMissing })
        return
      }
      t.strictSame(
        unexpectedFindings(await promtoolCheckMetrics(body)),
        [],
        'the exposition passes promtool check metrics',
      )
    })

    await t.test(
      'drained r3 failing as well: quorum lost, 1 short, never -1',
      async t => {
        const since = lb.logs.length
        r3.setHealthStatus(503)
        // r3 stays "draining" (admin intent wins), so no state change is logged: the
        // quorum line is the event.
        const lost = await lb.waitForLog(logged('pool quorum lost'), 10_000, since)
        t.match(lost, { level: 40, size: 3, live: 1, routable: 1, quorumShortfall: 1 })
        const body = await compareWithPoolApi(t, lb, workers)
        t.strictSame(liveRoutable(await poolApi(lb)), {
          live: 1,
          routable: 1,
          quorum: false,
          failuresTolerated: 0,
          quorumShortfall: 1,
        })
        t.match(body, /^corral_pool_quorum 0$/m, 'quorum: 0')
        t.match(body, /^corral_pool_quorum_shortfall 1$/m, 'shortfall: 1')
        t.match(body, /^corral_pool_failures_tolerated 0$/m, 'failures tolerated: 0')
      },
    )

    await t.test(
      'r3 disabled but passing its checks again: live, quorum held',
      async t => {
        const disabled = await adminRequest(
          lb.adminPort,
          'POST',
          '/api/v1/members/r3/disable',
        )
        t.equal(disabled.status, 200)
        const since = lb.logs.length
        r3.setHealthStatus(200)
        const held = await lb.waitForLog(logged('pool quorum held'), 10_000, since)
        t.match(held, { level: 30, live: 2, routable: 1 })
        t.strictSame(liveRoutable(await poolApi(lb)), {
          live: 2,
          routable: 1,
          quorum: true,
          failuresTolerated: 0,
          quorumShortfall: 0,
        })
        await compareWithPoolApi(t, lb, workers)
      },
    )

    await t.test('r2 healthy again: capacity restored, r3 still out', async t => {
      const since = lb.logs.length
      r2.setHealthStatus(200)
      await lb.waitForLog(logged('pool routing capacity restored'), 10_000, since)
      t.strictSame(liveRoutable(await poolApi(lb)), {
        live: 3,
        routable: 2,
        quorum: true,
        failuresTolerated: 1,
        quorumShortfall: 0,
      })
      await compareWithPoolApi(t, lb, workers)
    })
  },
)
