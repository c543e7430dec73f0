// The merge of the primary's metrics with its workers' (src/metrics/merge.ts): one rule
// per family, checked on real registries built the way the primary and workers build them.
import t from 'tap'
import { Registry } from 'prom-client'
import { mergeProcessMetrics } from '../../src/metrics/merge.js'
import {
  recordMemberState,
  recordPool,
} from '../../src/metrics/control-plane-families.js'
import { DATA_PATH_FAMILIES } from '../../src/metrics/data-path-families.js'
import { createMetrics, createWorkerMetrics } from '../../src/metrics/registry.js'
import {
  promtoolCheckMetrics,
  promtoolMissing,
  unexpectedFindings,
} from '../helpers/promtool.js'

/** The primary of a 3-member pool with 1 down, and two workers with traffic. */
async function scrape(): Promise<string> {
  const primary = new Registry()
  const p = createMetrics(primary, { version: '1.2.3' })
  recordMemberState(p, 'a', 'up')
  recordMemberState(p, 'b', 'up')
  recordMemberState(p, 'c', 'down')
  recordPool(p, { up: 2, down: 1, draining: 0, disabled: 0 }, 2)
  p.coordinationStoreUp.set(1)
  const workers = await Promise.all(
    ['1', '2'].map(async (slot, i) => {
      const register = new Registry()
      const w = createWorkerMetrics(register, slot)
      w.connections.inc({ listener: 'http', member: 'a', outcome: 'ok' }, 3 + i)
      w.connectionsActive.set({ listener: 'http', member: 'a' }, 1)
      w.connectDuration.observe({ member: 'a' }, 0.002)
      return register.getMetricsAsJSON()
    }),
  )
  const merged = mergeProcessMetrics(await primary.getMetricsAsJSON(), workers)
  return merged.metrics()
}

void t.test('a worker registers only the data-path families among corral_*', async t => {
  const register = new Registry()
  createWorkerMetrics(register, '1')
  const corral = (await register.getMetricsAsJSON())
    .map(f => f.name)
    .filter(n => n.startsWith('corral_'))
    .sort()
  t.strictSame(corral, [...DATA_PATH_FAMILIES].sort())
})

void t.test('control-plane gauges are the primary value, not a sum', async t => {
  const text = await scrape()
  t.match(text, /^corral_pool_failures_tolerated 0$/m)
  t.match(text, /^corral_pool_quorum 1$/m)
  t.match(text, /^corral_pool_members_live 2$/m)
  t.match(text, /^corral_pool_members_routable 2$/m)
  t.match(text, /^corral_pool_size 3$/m)
  t.match(text, /^corral_pool_members\{state="down"\} 1$/m)
  t.match(text, /^corral_build_info\{version="1.2.3"\} 1$/m)
  t.match(text, /^corral_config_reloads_total\{result="success"\} 0$/m)
})

void t.test('data-path series are summed over the workers', async t => {
  const text = await scrape()
  t.match(
    text,
    /^corral_connections_total\{listener="http",member="a",outcome="ok"\} 7$/m,
  )
  t.match(text, /^corral_connections_active\{listener="http",member="a"\} 2$/m)
  t.match(text, /^corral_connect_duration_seconds_count\{member="a"\} 2$/m)
})

void t.test('Node default metrics stay per process, labelled by worker slot', async t => {
  const text = await scrape()
  t.match(text, /^process_start_time_seconds \d+$/m, "the primary's, unlabelled")
  t.match(text, /^process_start_time_seconds\{worker="1"\} \d+$/m)
  t.match(text, /^process_start_time_seconds\{worker="2"\} \d+$/m)
  t.match(text, /^nodejs_version_info\{[^}]*worker="2"[^}]*\} 1$/m)
  t.notMatch(text, /^nodejs_version_info\{[^}]*\} [2-9]$/m, 'never summed')
})

void t.test('a stray control-plane family from a worker is dropped', async t => {
  const primary = new Registry()
  const p = createMetrics(primary)
  recordPool(p, { up: 1, down: 0, draining: 0, disabled: 0 }, 1)
  const stray = new Registry()
  recordPool(createMetrics(stray), { up: 0, down: 0, draining: 0, disabled: 0 }, 0)
  const merged = mergeProcessMetrics(await primary.getMetricsAsJSON(), [
    await stray.getMetricsAsJSON(),
  ])
  const text = await merged.metrics()
  t.match(text, /^corral_pool_failures_tolerated 0$/m)
  t.match(text, /^corral_pool_quorum_shortfall 0$/m, "the primary's, not 0 + 1")
  t.match(text, /^corral_pool_members_live 1$/m)
})

void t.test('the merged exposition passes promtool check metrics', async t => {
  if (promtoolMissing !== false) {
    t.pass('promtool check metrics', { skip: promtoolMissing })
    return
  }
  t.strictSame(unexpectedFindings(await promtoolCheckMetrics(await scrape())), [])
})
