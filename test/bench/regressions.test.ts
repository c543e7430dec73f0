// The bench's regression guard (issue #19): same-run ratios against the previous report.
import t from 'tap'
import {
  REGRESSION_THRESHOLD,
  checkRegressions,
  regressionLines,
  regressionSection,
} from '../../bench/regressions.js'
import type { BenchResult, Sample } from '../../bench/results.js'

/** Samples of one workload metric: system → value, in round 1. */
function samples(
  workload: Sample['workload'],
  metric: string,
  values: Partial<Record<Sample['system'], number>>,
): Sample[] {
  return Object.entries(values).map(([system, value]) => ({
    workload,
    system: system as Sample['system'],
    round: 1,
    metric,
    value,
  }))
}

function run(
  list: readonly Sample[],
  mode: BenchResult['mode'] = 'full',
  startedAt = '2026-12-01T00:00:00.000Z',
): BenchResult {
  return {
    version: 1,
    startedAt,
    finishedAt: startedAt,
    mode,
    rounds: 1,
    durationS: 10,
    argv: [],
    machine: {
      cpuModel: 'x',
      cores: 2,
      memoryGiB: 1,
      kernel: 'k',
      node: 'v20',
      haproxy: undefined,
      wrk: undefined,
      iperf3: undefined,
      openFilesLimit: undefined,
    },
    corral: { source: 'cli', detail: '' },
    notes: [],
    samples: list,
    failures: [],
    background: [],
    commands: [],
    configs: [],
    profiles: [],
  }
}

void t.test('a ratio more than 15% worse is flagged, in either better direction', t => {
  const cases: {
    name: string
    before: Sample[]
    after: Sample[]
    flagged: string[]
  }[] = [
    {
      name: 'req/s ratio 0.40× → 0.33× (17.5% worse) is flagged',
      before: samples('conn-close', 'rps', { haproxy: 100, corral: 40 }),
      after: samples('conn-close', 'rps', { haproxy: 100, corral: 33 }),
      flagged: ['conn-close rps corral'],
    },
    {
      name: 'req/s ratio 0.40× → 0.35× (12.5% worse) is not',
      before: samples('conn-close', 'rps', { haproxy: 100, corral: 40 }),
      after: samples('conn-close', 'rps', { haproxy: 100, corral: 35 }),
      flagged: [],
    },
    {
      name: 'the ratio, not the absolute value: both halved is no regression',
      before: samples('conn-close', 'rps', { haproxy: 100, corral: 40 }),
      after: samples('conn-close', 'rps', { haproxy: 50, corral: 20 }),
      flagged: [],
    },
    {
      name: 'CPU per GB (lower is better) 0.50× → 0.62× is flagged',
      before: samples('bulk-1', 'cpuSPerGB', { haproxy: 1, 'corral-native': 0.5 }),
      after: samples('bulk-1', 'cpuSPerGB', { haproxy: 1, 'corral-native': 0.62 }),
      flagged: ['bulk-1 cpuSPerGB corral-native'],
    },
    {
      name: 'CPU per GB falling is an improvement',
      before: samples('bulk-1', 'cpuSPerGB', { haproxy: 1, 'corral-native': 0.6 }),
      after: samples('bulk-1', 'cpuSPerGB', { haproxy: 1, 'corral-native': 0.3 }),
      flagged: [],
    },
    {
      name: 'a download workload is guarded too',
      before: samples('bulk-8-down', 'gbps', { haproxy: 10, corral: 10 }),
      after: samples('bulk-8-down', 'gbps', { haproxy: 10, corral: 8 }),
      flagged: ['bulk-8-down gbps corral'],
    },
    {
      name: 'a workload the previous report did not run is not compared',
      before: samples('bulk-1', 'gbps', { haproxy: 10, corral: 10 }),
      after: samples('keep-alive', 'rps', { haproxy: 10, corral: 1 }),
      flagged: [],
    },
  ]
  t.plan(cases.length)
  for (const c of cases) {
    const check = checkRegressions(run(c.before), run(c.after))
    const flagged =
      check.status === 'compared'
        ? check.regressions.map(r => `${r.workload} ${r.metric} ${r.system}`)
        : ['skipped']
    t.strictSame(flagged, c.flagged, c.name)
  }
})

void t.test('the threshold is the issue’s 15%', t => {
  t.equal(REGRESSION_THRESHOLD, 0.15)
  t.end()
})

void t.test('a drop records both ratios and its size, against the first baseline', t => {
  const check = checkRegressions(
    run(
      samples('conn-close', 'rps', { haproxy: 100, direct: 200, naive: 50, corral: 40 }),
    ),
    run(
      samples('conn-close', 'rps', { haproxy: 100, direct: 200, naive: 50, corral: 30 }),
    ),
  )
  if (check.status !== 'compared') throw new Error('not compared')
  t.equal(check.compared, 3, 'direct, naive and corral against haproxy')
  t.equal(check.regressions.length, 1)
  const r = check.regressions[0]
  t.equal(r?.baseline, 'haproxy')
  t.equal(r?.previous, 0.4)
  t.equal(r?.current, 0.3)
  t.ok(Math.abs((r?.drop ?? 0) - 0.25) < 1e-9, '25% worse')
  t.strictSame(regressionLines(check), [
    'regression guard: 1 of 3 ratios dropped more than 15% against the report of 2026-12-01T00:00:00.000Z:',
    '  conn-close rps corral ÷ haproxy: 0.40× → 0.30× (25% worse)',
  ])
  const md = regressionSection(check).join('\n')
  t.match(md, '## Regressions against the previous report')
  t.match(md, '| conn-close | rps | corral ÷ haproxy | 0.40× | 0.30× | 25% |')
  t.end()
})

void t.test('a smoke run is not compared with a full report', t => {
  const check = checkRegressions(
    run(samples('conn-close', 'rps', { haproxy: 100, corral: 40 }), 'full'),
    run(samples('conn-close', 'rps', { haproxy: 100, corral: 1 }), 'smoke'),
  )
  t.strictSame(check, {
    status: 'skipped',
    reason: 'the previous report is a full run, this one a smoke run',
  })
  t.strictSame(regressionLines(check), [
    'regression guard: not run (the previous report is a full run, this one a smoke run)',
  ])
  t.match(
    regressionSection(check).join('\n'),
    'Not checked: the previous report is a full',
  )
  t.end()
})

void t.test('no drop says so, with how many ratios were compared', t => {
  const same = run(samples('keep-alive', 'rps', { haproxy: 100, corral: 70 }))
  const check = checkRegressions(same, same)
  t.match(
    regressionLines(check)[0] ?? '',
    /no ratio dropped more than 15% .*\(1 compared\)/,
  )
  t.strictSame(regressionSection(undefined), [], 'older reports have no section')
  t.end()
})
