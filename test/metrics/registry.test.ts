import {
  promtoolCheckMetrics,
  promtoolMissing,
  unexpectedFindings,
} from '../helpers/promtool.js'
import t from 'tap'
import { Registry, register as globalRegister } from 'prom-client'
import {
  recordMemberState,
  recordPool,
} from '../../src/metrics/control-plane-families.js'
import { createMetrics, forgetMember } from '../../src/metrics/registry.js'
import type { Metrics } from '../../src/metrics/registry.js'

type MetricType = 'counter' | 'gauge' | 'histogram'

// The contract of issue #4: dashboards and alerts depend on these names, types and labels.
const FAMILIES: Readonly<Record<string, readonly [MetricType, readonly string[]]>> = {
  corral_member_up: ['gauge', ['member']],
  corral_member_state: ['gauge', ['member', 'state']],
  corral_member_health_check_duration_seconds: ['histogram', ['member']],
  corral_member_health_checks_total: ['counter', ['member', 'result']],
  corral_member_transitions_total: ['counter', ['from', 'member', 'to']],
  corral_member_down_seconds: ['gauge', ['member']],
  corral_connections_active: ['gauge', ['listener', 'member']],
  corral_connections_total: ['counter', ['listener', 'member', 'outcome']],
  corral_connection_duration_seconds: ['histogram', ['listener']],
  corral_connect_duration_seconds: ['histogram', ['member']],
  corral_bytes_total: ['counter', ['direction', 'listener', 'member']],
  corral_access_log_lines_total: ['counter', []],
  corral_access_log_dropped_total: ['counter', ['reason']],
  corral_pool_members: ['gauge', ['state']],
  corral_pool_size: ['gauge', []],
  corral_pool_members_live: ['gauge', []],
  corral_pool_members_routable: ['gauge', []],
  corral_pool_failures_tolerated: ['gauge', []],
  corral_pool_quorum_shortfall: ['gauge', []],
  corral_pool_quorum: ['gauge', []],
  corral_coordination_store_up: ['gauge', []],
  corral_build_info: ['gauge', ['version']],
  corral_config_reloads_total: ['counter', ['result']],
  corral_data_path_info: ['gauge', ['path']],
}

// Node defaults keep their standard names (no corral_ prefix) so stock dashboards work.
const DEFAULT_FAMILIES: Readonly<Record<string, MetricType>> = {
  process_cpu_seconds_total: 'counter',
  process_resident_memory_bytes: 'gauge',
  nodejs_eventloop_lag_seconds: 'gauge',
  nodejs_eventloop_lag_p99_seconds: 'gauge',
}

/** One series of every labelled family, so label names show up in the output. */
function populate(m: Metrics): void {
  recordMemberState(m, 'db-1', 'up')
  recordMemberState(m, 'db-2', 'down')
  m.healthCheckDuration.observe({ member: 'db-1' }, 0.004)
  m.healthChecks.inc({ member: 'db-1', result: 'success' })
  m.healthChecks.inc({ member: 'db-2', result: 'timeout' })
  m.transitions.inc({ member: 'db-2', from: 'up', to: 'down' })
  m.memberDownSeconds.set({ member: 'db-1' }, 0)
  m.memberDownSeconds.set({ member: 'db-2' }, 42.5)
  m.connectionsActive.inc({ listener: 'pg', member: 'db-1' })
  m.connections.inc({ listener: 'pg', member: 'db-1', outcome: 'ok' })
  m.connections.inc({ listener: 'pg', member: '', outcome: 'rejected_no_member' })
  m.connectionDuration.observe({ listener: 'pg' }, 12.3)
  m.connectDuration.observe({ member: 'db-1' }, 0.0007)
  m.bytes.inc({ listener: 'pg', member: 'db-1', direction: 'to_member' }, 1024)
  m.bytes.inc({ listener: 'pg', member: 'db-1', direction: 'to_client' }, 4096)
  recordPool(m, { up: 1, down: 1, draining: 0, disabled: 0 }, 1)
  m.coordinationStoreUp.set(1)
  m.configReloads.inc({ result: 'success' })
  m.dataPathInfo.set({ path: 'native' }, 1)
}

/** The value of one series in the registry's JSON view, or undefined if absent. */
async function valueOf(
  register: Registry,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): Promise<number | undefined> {
  const families = await register.getMetricsAsJSON()
  const family = families.find(f => f.name === name)
  const want = Object.entries(labels)
  const series = family?.values.find(v => {
    const have = Object.entries(v.labels)
    return have.length === want.length && want.every(([k, x]) => v.labels[k] === x)
  })
  return series?.value
}

/** A family's type as exposed; prom-client's typings declare a numeric enum, but it is a string. */
function typeName(family: { readonly type: unknown }): string {
  return typeof family.type === 'string'
    ? family.type
    : `non-string ${String(family.type)}`
}

void t.test('every contract family is declared with its type and labels', async t => {
  const register = new Registry()
  populate(createMetrics(register, { version: '1.2.3' }))
  const families = await register.getMetricsAsJSON()
  const corral = families.filter(f => f.name.startsWith('corral_'))

  const seen: Record<string, readonly [string, readonly string[]]> = {}
  for (const f of corral) {
    const labels = new Set<string>()
    for (const v of f.values) for (const k of Object.keys(v.labels)) labels.add(k)
    labels.delete('le') // histogram buckets add `le`; it is not one of ours
    seen[f.name] = [typeName(f), [...labels].sort()]
  }
  t.strictSame(
    seen,
    FAMILIES,
    'corral_* families: exactly the contract, no more, no less',
  )
})

void t.test('Node process metrics keep their standard names, unprefixed', async t => {
  const register = new Registry()
  createMetrics(register)
  const families = await register.getMetricsAsJSON()
  const types = new Map(families.map(f => [f.name, typeName(f)]))
  for (const [name, type] of Object.entries(DEFAULT_FAMILIES)) {
    t.equal(types.get(name), type, `${name} is a ${type}`)
  }
  t.notOk(
    families.some(
      f => f.name.startsWith('corral_process_') || f.name.startsWith('corral_nodejs_'),
    ),
    'no corral_-prefixed copies of the default metrics',
  )
})

void t.test(
  'metrics go only to the injected registry, never the global default',
  async t => {
    const before = (await globalRegister.getMetricsAsJSON()).length
    const a = new Registry()
    const b = new Registry()
    createMetrics(a)
    createMetrics(b) // a second registry must not collide with the first
    t.equal(
      (await globalRegister.getMetricsAsJSON()).length,
      before,
      'global registry untouched',
    )
    t.ok(a.getSingleMetric('corral_pool_size'), 'first registry has corral_pool_size')
    t.ok(b.getSingleMetric('corral_pool_size'), 'second registry has its own')
  },
)

void t.test(
  'reload results and pool states are exported at 0 before anything happens',
  async t => {
    const register = new Registry()
    createMetrics(register)
    for (const result of ['success', 'failure']) {
      t.equal(
        await valueOf(register, 'corral_config_reloads_total', { result }),
        0,
        result,
      )
    }
    for (const state of ['up', 'down', 'draining', 'disabled']) {
      t.equal(
        await valueOf(register, 'corral_pool_members', { state }),
        0,
        `pool ${state}`,
      )
    }
    t.equal(
      await valueOf(register, 'corral_pool_quorum'),
      0,
      'an empty pool has no quorum',
    )
    t.equal(
      await valueOf(register, 'corral_pool_failures_tolerated'),
      0,
      'nor any margin',
    )
    t.equal(
      await valueOf(register, 'corral_pool_quorum_shortfall'),
      1,
      'it lacks one live member',
    )
    t.equal(await valueOf(register, 'corral_build_info', { version: 'x' }), undefined)
  },
)

void t.test('build_info is 1 for the given version', async t => {
  const register = new Registry()
  createMetrics(register, { version: '0.1.0' })
  t.equal(await valueOf(register, 'corral_build_info', { version: '0.1.0' }), 1)
})

void t.test(
  'recordMemberState sets exactly one state and member_up together',
  async t => {
    const register = new Registry()
    const m = createMetrics(register)
    const states = ['up', 'down', 'draining', 'disabled'] as const
    for (const current of states) {
      recordMemberState(m, 'db-1', current)
      for (const s of states) {
        const want = s === current ? 1 : 0
        const got = await valueOf(register, 'corral_member_state', {
          member: 'db-1',
          state: s,
        })
        t.equal(got, want, `in ${current}: state=${s} is ${want}`)
      }
      const up = await valueOf(register, 'corral_member_up', { member: 'db-1' })
      t.equal(up, current === 'up' ? 1 : 0, `in ${current}: member_up`)
    }
  },
)

void t.test('recordPool derives size, margin and quorum from state counts', async t => {
  const register = new Registry()
  const m = createMetrics(register)
  recordPool(m, { up: 3, down: 1, draining: 0, disabled: 1 }, 3)
  t.equal(await valueOf(register, 'corral_pool_size'), 5, 'size counts every state')
  t.equal(await valueOf(register, 'corral_pool_members', { state: 'disabled' }), 1)
  t.equal(
    await valueOf(register, 'corral_pool_failures_tolerated'),
    0,
    '3 of 5: no margin',
  )
  t.equal(await valueOf(register, 'corral_pool_quorum'), 1, '3 of 5 is a majority')
  recordPool(m, { up: 2, down: 2, draining: 0, disabled: 0 }, 2)
  t.equal(await valueOf(register, 'corral_pool_failures_tolerated'), 0, '2 of 4: lost')
  t.equal(await valueOf(register, 'corral_pool_quorum_shortfall'), 1, 'one short of 3')
  t.equal(await valueOf(register, 'corral_pool_quorum'), 0, 'half is not a majority')
})

void t.test(
  'recordPool judges quorum on live members and exports routable apart (issue #24)',
  async t => {
    const register = new Registry()
    const m = createMetrics(register)
    // 3 members: one draining but passing its checks, one down, one up.
    recordPool(m, { up: 1, down: 1, draining: 1, disabled: 0 }, 2)
    const read = async (): Promise<Record<string, number | undefined>> => ({
      live: await valueOf(register, 'corral_pool_members_live'),
      routable: await valueOf(register, 'corral_pool_members_routable'),
      quorum: await valueOf(register, 'corral_pool_quorum'),
      tolerated: await valueOf(register, 'corral_pool_failures_tolerated'),
      shortfall: await valueOf(register, 'corral_pool_quorum_shortfall'),
    })
    t.strictSame(
      await read(),
      { live: 2, routable: 1, quorum: 1, tolerated: 0, shortfall: 0 },
      'drain + one failure on 3: quorum held, 1 routable',
    )
    recordPool(m, { up: 0, down: 2, draining: 1, disabled: 0 }, 1)
    t.strictSame(
      await read(),
      { live: 1, routable: 0, quorum: 0, tolerated: 0, shortfall: 1 },
      'drain + two failures on 3: quorum lost, 1 short, never -1',
    )
    recordPool(m, { up: 2, down: 0, draining: 0, disabled: 1 }, 3)
    t.strictSame(
      await read(),
      { live: 3, routable: 2, quorum: 1, tolerated: 1, shortfall: 0 },
      'a disabled member passing its checks is live',
    )
  },
)

void t.test('forgetMember removes the member state series', async t => {
  const register = new Registry()
  const m = createMetrics(register)
  recordMemberState(m, 'db-1', 'up')
  recordMemberState(m, 'db-2', 'down')
  m.memberDownSeconds.set({ member: 'db-2' }, 5)
  forgetMember(m, 'db-2')
  const text = await register.metrics()
  t.notMatch(text, /member="db-2"/, 'no series left for the removed member')
  t.match(text, /corral_member_up\{member="db-1"\} 1/, 'other members untouched')
})

void t.test('collect hooks refresh values at scrape time, once per scrape', async t => {
  const register = new Registry()
  const m = createMetrics(register)
  let calls = 0
  let downSeconds = 0
  const remove = m.addCollectHook(() => {
    calls++
    m.memberDownSeconds.set({ member: 'db-2' }, downSeconds)
  })

  downSeconds = 30
  t.match(await register.metrics(), /corral_member_down_seconds\{member="db-2"\} 30\n/)
  t.equal(calls, 1, 'one scrape, one call, although every corral metric has collect()')
  downSeconds = 90
  t.match(await register.metrics(), /corral_member_down_seconds\{member="db-2"\} 90\n/)
  t.equal(calls, 2, 'the next scrape calls it again')
  t.equal(await valueOf(register, 'corral_member_down_seconds', { member: 'db-2' }), 90)
  t.equal(calls, 3, 'the JSON view runs hooks too')
  await register.getSingleMetricAsString('corral_pool_size')
  t.equal(calls, 4, 'reading a single family runs hooks too')

  remove()
  downSeconds = 120
  await register.metrics()
  t.equal(calls, 4, 'a removed hook is not called')
  t.equal(await valueOf(register, 'corral_member_down_seconds', { member: 'db-2' }), 90)
})

void t.test('a throwing collect hook fails the scrape loudly', async t => {
  const register = new Registry()
  const m = createMetrics(register)
  m.addCollectHook(() => {
    throw new Error('hook bug')
  })
  await t.rejects(register.metrics(), /hook bug/)
})

void t.test(
  'the exposition passes promtool check metrics',
  { skip: promtoolMissing },
  async t => {
    const register = new Registry()
    populate(createMetrics(register, { version: '1.2.3' }))
    const text = await register.metrics()

    const ours = text
      .split('\n\n')
      .filter(block => block.startsWith('# HELP corral_'))
      .join('\n\n')
    t.equal(
      ours.split('# HELP ').length - 1,
      Object.keys(FAMILIES).length,
      'all families',
    )

    const strict = await promtoolCheckMetrics(`${ours}\n`)
    t.equal(strict.code, 0, 'corral_* families lint clean', { output: strict.output })
    t.equal(strict.output.trim(), '', 'promtool reported nothing for corral_* families')

    // Only prom-client's three fixed *_total gauge names may be reported.
    const full = await promtoolCheckMetrics(text)
    const problems = unexpectedFindings(full)
    t.strictSame(
      problems,
      [],
      'full exposition: no problems beyond the known prom-client ones',
    )
    // promtool exits 3 for lint findings, 1 when it cannot parse the input at all.
    t.ok(full.code === 0 || full.code === 3, 'promtool parsed the full exposition', {
      output: full.output,
    })
  },
)
