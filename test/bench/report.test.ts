// The pure half of the benchmark harness: statistics, target verdicts, and the markdown
// and SVG rendered from a results JSON.
import t from 'tap'
import { WORKLOADS } from '../../bench/catalog.js'
import { renderChart } from '../../bench/chart.js'
import { escapeXml } from '../../bench/svg.js'
import { formatNumber, formatRatio, formatSummary } from '../../bench/format.js'
import { renderMarkdown } from '../../bench/report.js'
import type { BenchResult, Sample } from '../../bench/results.js'
import { median, ratio, summarize } from '../../bench/stats.js'
import { summarizeSamples } from '../../bench/summary.js'
import {
  TARGETS,
  describeTarget,
  describeVerdict,
  judge,
  type MedianLookup,
  type Target,
} from '../../bench/targets.js'

void t.test('median, min and max summarise the rounds', t => {
  const cases: {
    name: string
    values: number[]
    expect: ReturnType<typeof summarize>
  }[] = [
    { name: 'odd count', values: [3, 1, 2], expect: { median: 2, min: 1, max: 3, n: 3 } },
    {
      name: 'even count averages the middle two',
      values: [4, 1, 3, 2],
      expect: { median: 2.5, min: 1, max: 4, n: 4 },
    },
    { name: 'one round', values: [7], expect: { median: 7, min: 7, max: 7, n: 1 } },
    {
      name: 'NaN rounds are ignored',
      values: [NaN, 5, 1],
      expect: { median: 3, min: 1, max: 5, n: 2 },
    },
    { name: 'nothing finite is no summary', values: [NaN], expect: undefined },
    { name: 'empty is no summary', values: [], expect: undefined },
  ]
  t.plan(cases.length)
  for (const c of cases) t.strictSame(summarize(c.values), c.expect, c.name)
})

void t.test('median of nothing is an error, not NaN', t => {
  t.throws(() => median([]), RangeError)
  t.end()
})

void t.test('ratio is undefined when either side is missing or the baseline is 0', t => {
  const cases: {
    name: string
    value: number | undefined
    base: number | undefined
    expect: number | undefined
  }[] = [
    { name: 'plain', value: 6, base: 10, expect: 0.6 },
    { name: 'no value', value: undefined, base: 10, expect: undefined },
    { name: 'no baseline', value: 6, base: undefined, expect: undefined },
    { name: 'zero baseline', value: 6, base: 0, expect: undefined },
    { name: 'NaN value', value: NaN, base: 1, expect: undefined },
  ]
  t.plan(cases.length)
  for (const c of cases) t.equal(ratio(c.value, c.base), c.expect, c.name)
})

void t.test('samples group by workload, metric and system', t => {
  const samples: Sample[] = [
    { workload: 'bulk-1', system: 'haproxy', round: 1, metric: 'gbps', value: 10 },
    { workload: 'bulk-1', system: 'haproxy', round: 2, metric: 'gbps', value: 12 },
    { workload: 'bulk-1', system: 'haproxy', round: 3, metric: 'gbps', value: 11 },
    { workload: 'bulk-1', system: 'naive', round: 1, metric: 'gbps', value: 7 },
    { workload: 'bulk-8', system: 'haproxy', round: 1, metric: 'gbps', value: 20 },
  ]
  const s = summarizeSamples(samples)
  t.strictSame(s.get('bulk-1', 'gbps', 'haproxy'), { median: 11, min: 10, max: 12, n: 3 })
  t.equal(s.median('bulk-1', 'gbps', 'naive'), 7)
  t.equal(s.median('bulk-8', 'gbps', 'haproxy'), 20)
  t.equal(s.median('bulk-8', 'gbps', 'naive'), undefined)
  t.end()
})

function target(id: string): Target {
  const found = TARGETS.find(x => x.id === id)
  if (found === undefined) throw new Error(`no target ${id}`)
  return found
}

function lookup(values: Record<string, number>): MedianLookup {
  return (workload, metric, system) => values[`${workload}/${metric}/${system}`]
}

void t.test('targets are judged against HAProxy in the same run, or absolutely', t => {
  const cases: {
    name: string
    target: string
    medians: Record<string, number>
    expect: ReturnType<typeof judge>
    text: string
  }[] = [
    {
      name: 'throughput below HAProxy misses by the shortfall',
      target: 'bulk-1',
      medians: { 'bulk-1/gbps/corral': 8, 'bulk-1/gbps/haproxy': 10 },
      expect: { status: 'missed', value: 0.8, margin: -0.2, marginKind: 'fraction' },
      text: 'missed by 20%',
    },
    {
      name: 'throughput above HAProxy is met with headroom',
      target: 'bulk-8',
      medians: { 'bulk-8/gbps/corral': 11, 'bulk-8/gbps/haproxy': 10 },
      expect: { status: 'met', value: 1.1, margin: 0.1, marginKind: 'fraction' },
      text: 'met, 10% headroom',
    },
    {
      name: 'new connections at exactly 0.9× HAProxy are met',
      target: 'conn-close-rps',
      medians: { 'conn-close/rps/corral': 9, 'conn-close/rps/haproxy': 10 },
      expect: { status: 'met', value: 0.9, margin: 0, marginKind: 'fraction' },
      text: 'met (exactly at target)',
    },
    {
      name: 'p99 above 1.5× HAProxy misses (lower is better)',
      target: 'keep-alive-p99',
      medians: { 'keep-alive/p99Ms/corral': 3, 'keep-alive/p99Ms/haproxy': 1.5 },
      expect: {
        status: 'missed',
        value: 2,
        margin: (1.5 - 2) / 1.5,
        marginKind: 'fraction',
      },
      text: 'missed by 33%',
    },
    {
      name: 'memory under the absolute limit is met',
      target: 'idle-memory',
      medians: { 'idle-memory/kibPerConn/corral': 8 },
      expect: { status: 'met', value: 8, margin: 0.2, marginKind: 'fraction' },
      text: 'met, 20% headroom',
    },
    {
      name: 'health checking at exactly 5% misses a strict "<"',
      target: 'health-cost',
      medians: { 'health-cost/cpuPct/corral': 5 },
      expect: { status: 'missed', value: 5, margin: 0, marginKind: 'fraction' },
      text: 'missed by 0.0%',
    },
    {
      name: 'reload errors are counted, not scaled',
      target: 'reload-errors',
      medians: { 'reload/errors/corral': 3 },
      expect: { status: 'missed', value: 3, margin: -3, marginKind: 'absolute' },
      text: 'missed by 3 errors',
    },
    {
      name: 'metrics costing 4% of new connections/s is within 5%',
      target: 'metrics-cost-close-rps',
      medians: {
        'metrics-cost-close/rps/corral': 96,
        'metrics-cost-close/rps/corral-nometrics': 100,
      },
      expect: {
        status: 'met',
        value: 0.96,
        margin: (0.96 - 0.95) / 0.95,
        marginKind: 'fraction',
      },
      text: 'met, 1.1% headroom',
    },
    {
      name: 'metrics costing 10% of keep-alive req/s miss',
      target: 'metrics-cost-keepalive-rps',
      medians: {
        'metrics-cost-keepalive/rps/corral': 900,
        'metrics-cost-keepalive/rps/corral-nometrics': 1000,
      },
      expect: {
        status: 'missed',
        value: 0.9,
        margin: (0.9 - 0.95) / 0.95,
        marginKind: 'fraction',
      },
      text: 'missed by 5.3%',
    },
    {
      name: 'metrics cost without the metrics-off run is not measured',
      target: 'metrics-cost-close-rps',
      medians: { 'metrics-cost-close/rps/corral': 96 },
      expect: { status: 'not-measured', reason: 'no corral-nometrics result' },
      text: 'not measured (no corral-nometrics result)',
    },
    {
      name: 'no baseline result is not measured',
      target: 'bulk-1',
      medians: { 'bulk-1/gbps/corral': 8 },
      expect: { status: 'not-measured', reason: 'no haproxy result' },
      text: 'not measured (no haproxy result)',
    },
    {
      name: 'no subject result is not measured',
      target: 'idle-memory',
      medians: {},
      expect: { status: 'not-measured', reason: 'no corral result' },
      text: 'not measured (no corral result)',
    },
  ]
  t.plan(cases.length * 2)
  for (const c of cases) {
    const tgt = target(c.target)
    const v = judge(tgt, 'corral', lookup(c.medians))
    if (v.status !== 'not-measured' && c.expect.status !== 'not-measured') {
      // Float division: compare numbers to 1e-9, the rest exactly.
      t.ok(
        v.status === c.expect.status &&
          Math.abs(v.value - c.expect.value) < 1e-9 &&
          Math.abs(v.margin - c.expect.margin) < 1e-9 &&
          v.marginKind === c.expect.marginKind,
        `${c.name}: ${JSON.stringify(v)}`,
      )
    } else t.strictSame(v, c.expect, c.name)
    t.equal(describeVerdict(v, tgt.unit), c.text, `${c.name} (text)`)
  }
})

void t.test('targets read as goals', t => {
  t.equal(describeTarget(target('conn-close-rps')), '≥ 0.9× haproxy')
  t.equal(describeTarget(target('keep-alive-p99')), '≤ 1.5× haproxy')
  t.equal(describeTarget(target('idle-memory')), '≤ 10 KiB')
  t.equal(describeTarget(target('health-cost')), '< 5 % of a core')
  t.equal(
    describeTarget(target('metrics-cost-keepalive-rps')),
    '≥ 0.95× corral-nometrics',
  )
  t.end()
})

void t.test('numbers are formatted with separators, ranges and ratios', t => {
  t.equal(formatNumber(10821.4, 0), '10,821')
  t.equal(formatNumber(1.5, 2), '1.50')
  t.equal(formatSummary({ median: 2, min: 1, max: 3, n: 3 }, 1), '2.0 (1.0–3.0)')
  t.equal(
    formatSummary({ median: 2, min: 2, max: 2, n: 3 }, 1),
    '2.0',
    'no range when equal',
  )
  t.equal(
    formatSummary({ median: 2, min: 1, max: 3, n: 1 }, 1),
    '2.0',
    'no range for one round',
  )
  t.equal(formatRatio(0.6789), '0.68×')
  t.equal(formatRatio(undefined), '–')
  t.end()
})

function result(samples: Sample[], extra: Partial<BenchResult> = {}): BenchResult {
  return {
    version: 1,
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:10:00.000Z',
    mode: 'full',
    rounds: 3,
    durationS: 10,
    argv: ['--rounds', '3'],
    machine: {
      cpuModel: 'Test CPU',
      cores: 2,
      memoryGiB: 4,
      kernel: 'Linux 6.1',
      node: 'v20.0.0',
      haproxy: 'HAProxy version 2.6',
      wrk: 'wrk 4.1.0',
      iperf3: 'iperf 3.12',
      openFilesLimit: 20000,
    },
    corral: { source: 'cli', detail: 'the CLI.' },
    notes: ['Proxies pinned with `taskset -c 0`.'],
    samples,
    failures: [],
    background: [],
    commands: [{ workload: 'bulk-1', system: 'haproxy', command: 'iperf3 -c 127.0.0.1' }],
    configs: [
      {
        workload: 'keep-alive',
        system: 'haproxy',
        file: 'h.cfg',
        text: 'global\n  nbthread 1\n',
      },
    ],
    profiles: [],
    ...extra,
  }
}

const BULK: Sample[] = [
  ...[20, 21, 19].map((v, i) => s('direct', i, v)),
  ...[10, 11, 9].map((v, i) => s('haproxy', i, v)),
  ...[7, 7.5, 6.5].map((v, i) => s('naive', i, v)),
  ...[9.5, 10, 9].map((v, i) => s('corral', i, v)),
]

function s(system: Sample['system'], i: number, value: number): Sample {
  return { workload: 'bulk-1', system, round: i + 1, metric: 'gbps', value }
}

void t.test('the markdown report shows medians, ranges, ratios and verdicts', t => {
  const md = renderMarkdown(result(BULK), { chartFile: 'benchmarks.svg' })
  t.match(md, '| haproxy | 10.00 (9.00–11.00) | 1.00× | 0.50× |')
  t.match(md, '| corral | 9.50 (9.00–10.00) | 0.95× | 0.47× |')
  t.match(
    md,
    '| bulk 1 stream vs HAProxy | ≥ 1× haproxy | 0.95× | missed by 5.0% | 0.70× (missed by 30%) |',
  )
  t.match(md, '![ratios against targets](benchmarks.svg)')
  t.match(md, 'node dist/bench/run.js --rounds 3')
  t.match(md, '- bulk-1 / haproxy: `iperf3 -c 127.0.0.1`')
  t.match(
    md,
    '`h.cfg`:\n\n```\nglobal\n  nbthread 1\n```',
    'keep-alive configs are shown',
  )
  t.notMatch(
    md,
    'bulk 8 streams vs HAProxy',
    'targets of workloads that did not run are left out',
  )
  t.notMatch(md, 'Warning: the machine was not quiet')
  t.end()
})

void t.test('corral-nometrics runs only in the metrics-cost workloads', t => {
  const using = WORKLOADS.filter(w => w.systems.includes('corral-nometrics'))
  t.strictSame(
    using.map(w => w.id),
    ['metrics-cost-close', 'metrics-cost-keepalive'],
  )
  for (const w of using) t.strictSame(w.baselines, ['corral-nometrics'], w.id)
  t.end()
})

void t.test('the metrics cost target compares corral with metrics off', t => {
  const rps = (system: Sample['system'], value: number): Sample => ({
    workload: 'metrics-cost-close',
    system,
    round: 1,
    metric: 'rps',
    value,
  })
  const scrapes: Sample = { ...rps('corral', 10), metric: 'scrapes' }
  const md = renderMarkdown(
    result([rps('corral', 970), rps('corral-nometrics', 1000), scrapes]),
    {
      chartFile: 'x.svg',
    },
  )
  t.match(
    md,
    '| new connections/s with metrics vs without | ≥ 0.95× corral-nometrics | 0.97× | ' +
      'met, 2.1% headroom | – |',
    'the naive reference column is empty',
  )
  t.match(md, /\| corral \| 970 \| 0\.97× \|.*\| 10 \| – \|\n/, 'scrapes are shown')
  t.match(md, /\| corral-nometrics \| 1,000 \| 1\.00× \|/)
  t.notMatch(md, 'keep-alive req/s with metrics', 'only targets of workloads that ran')
  t.end()
})

void t.test('the access-log cost compares each data path with its log off', t => {
  const using = WORKLOADS.filter(w => w.systems.includes('corral-native-log'))
  t.strictSame(
    using.map(w => w.id),
    ['access-log-close', 'access-log-keepalive'],
  )
  const sample = (system: Sample['system'], round: number, value: number): Sample => ({
    workload: 'access-log-close',
    system,
    round,
    metric: 'rps',
    value,
  })
  const md = renderMarkdown(
    result([
      sample('corral', 1, 1000),
      sample('corral-log', 1, 950),
      sample('corral-native', 1, 2000),
      sample('corral-native-log', 1, 1700),
      sample('corral', 2, 1000),
      sample('corral-log', 2, 930),
      sample('corral-native', 2, 2000),
      sample('corral-native-log', 2, 1900),
      { ...sample('corral-native-log', 1, 5000), metric: 'logLines' },
    ]),
    { chartFile: 'x.svg' },
  )
  t.match(md, "## Target (issue #22): the access log's cost")
  t.match(
    md,
    '| native new connections/s with the access log vs without | corral-native-log | ' +
      '≥ 0.9× corral-native | 0.90× | met (exactly at target) | 0.85×, 0.95× |',
    'native against native, every round shown',
  )
  t.match(
    md,
    '| JS new connections/s with the access log vs without | corral-log | ' +
      '≥ 0.9× corral | 0.94× | met, 4.4% headroom | 0.95×, 0.93× |',
  )
  t.notMatch(md, 'keep-alive req/s with the access log', 'only workloads that ran')
  t.match(md, /\| corral-native-log \| 1,800 .*\| 5,000 \|/, 'lines queued are shown')
  t.end()
})

void t.test('the report lists failures and warns about a busy machine', t => {
  const md = renderMarkdown(
    result(BULK, {
      failures: [{ workload: 'bulk-1', system: 'naive', round: 2, message: 'a | b' }],
      background: [
        { workload: 'bulk-1', system: 'direct', round: 1, busyPct: 2 },
        { workload: 'bulk-1', system: 'naive', round: 1, busyPct: 60 },
      ],
    }),
    { chartFile: 'x.svg' },
  )
  t.match(md, '| bulk-1 | naive | 2 | a \\| b |', 'pipes in messages are escaped')
  t.match(md, 'Warning: the machine was not quiet')
  t.match(md, 'before bulk-1 / naive, round 1')
  t.end()
})

void t.test('one busy moment on a quiet machine is named, not a whole-run warning', t => {
  const md = renderMarkdown(
    result(BULK, {
      background: [
        { workload: 'bulk-1', system: 'direct', round: 1, busyPct: 0 },
        { workload: 'bulk-1', system: 'haproxy', round: 1, busyPct: 1 },
        { workload: 'bulk-1', system: 'naive', round: 3, busyPct: 46 },
      ],
    }),
    { chartFile: 'x.svg' },
  )
  t.notMatch(md, 'Warning: the machine was not quiet')
  t.match(md, 'The machine was quiet')
  t.match(md, '1 of 3 runs started above 10%')
  t.match(md, 'worst 46% before bulk-1 / naive, round 3')
  t.end()
})

void t.test('the chart draws one bar per system and target, coloured by verdict', t => {
  const svg = renderChart(result(BULK))
  t.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/)
  t.match(svg, 'bulk 1 stream vs HAProxy (≥ 1× haproxy)')
  t.match(svg, 'fill="#c62828"', 'corral missed: red')
  t.match(svg, 'fill="#9e9e9e"', 'naive reference: grey')
  t.match(svg, '>0.95×<')
  t.notMatch(svg, 'keep-alive', 'only targets of workloads that ran')
  t.match(renderChart(result([])), 'no targets measured in this run')
  t.end()
})

void t.test('text in the SVG is escaped', t => {
  t.equal(escapeXml(`< 5 & "x" 'y' >`), '&lt; 5 &amp; &quot;x&quot; &apos;y&apos; &gt;')
  t.end()
})

void t.test('the data-path targets (#13, #14) judge the median and every round', t => {
  // corral-native: median 1.1× HAProxy, but round 2 alone is below 1.0×.
  const samples: Sample[] = [
    ...[10, 10, 10].map((v, i) => s('haproxy', i, v)),
    ...[11, 9, 12].map((v, i) => s('corral-native', i, v)),
    ...[12, 12, 12].map((v, i) => s('corral', i, v)),
  ]
  const md = renderMarkdown(result(samples), { chartFile: 'benchmarks.svg' })
  t.match(md, '## Targets (issues #13, #14 and #19): the data path against HAProxy')
  t.match(
    md,
    '| #13 | bulk 1 stream vs HAProxy | corral-native | ≥ 1× haproxy every round | 1.10× | median met, not every round | 1.10×, 0.90×, 1.20×: 2 of 3 met |',
  )
  t.match(
    md,
    '| #13 | bulk 1 stream vs HAProxy | corral | ≥ 1× haproxy every round | 1.20× | met, 20% headroom | 1.20×, 1.20×, 1.20×: 3 of 3 met |',
  )
  t.match(
    md,
    '| #14 | native bulk 1 stream vs HAProxy | corral-native | ≥ 1.3× haproxy | 1.10× | missed by 15% | 1.10×, 0.90×, 1.20× |',
  )
  t.match(
    md,
    '| #19 | native bulk 1 stream up vs HAProxy | corral-native | ≥ 1.4× haproxy | 1.10× | missed by 21% | 1.10×, 0.90×, 1.20× |',
    "issue #19's targets, each round shown",
  )
  t.match(
    md,
    '| #19 | JS bulk 1 stream up vs HAProxy | corral | ≥ 0.9× haproxy | 1.20× |',
  )
  t.notMatch(md, 'registry push time', 'workloads that did not run are left out')
  t.notMatch(md, 'bulk 1 stream down', 'nor do download targets without a download run')
  t.end()
})

void t.test("issue #19's JS new-connection target compares with the naive relay", t => {
  const cc = (system: Sample['system'], value: number): Sample => ({
    workload: 'conn-close',
    system,
    round: 1,
    metric: 'rps',
    value,
  })
  const md = renderMarkdown(
    result([cc('haproxy', 1000), cc('naive', 500), cc('corral', 450)]),
    { chartFile: 'benchmarks.svg' },
  )
  t.match(
    md,
    '| #19 | JS new connections/s vs HAProxy | corral | ≥ 0.5× haproxy | 0.45× | missed by 10.0% | 0.45× |',
  )
  t.match(
    md,
    '| #19 | JS new connections/s vs the naive relay | corral | ≥ 1× naive | 0.90× | missed by 10.0% | 0.90× |',
  )
  t.end()
})
