// A real Prometheus scrapes a real corral while traffic flows and one member goes down:
// every dashboard query and alert expression parses and evaluates against live data, the
// key panels have data, the values match the pool, and the live /metrics passes promtool.
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import t from 'tap'
import {
  expandDashboardVariables,
  listAlertExprs,
  listDashboardQueries,
} from '../../grafana/queries.js'
import { startReplica } from '../../src/demo/replica.js'
import { startCorral } from '../helpers/corral-process.js'
import { httpRequest } from '../helpers/http-client.js'
import { lbYaml, stateChanged } from '../helpers/lb-config.js'
import {
  familiesWithPrefix,
  promtoolCheckMetrics,
  promtoolMissing,
  unexpectedFindings,
} from '../helpers/promtool.js'

const SCRAPE_INTERVAL = '1s'
// Long enough for a rate() over 1s scrapes to have several samples, short enough that
// everything the test did is inside it.
const RATE_INTERVAL = '1m'
const POLL_MS = 200
const READY_TIMEOUT_MS = 15_000
const INGEST_TIMEOUT_MS = 15_000
// Requests per traffic phase, sent in bounded batches of new connections.
const REQUESTS_PER_PHASE = 100
const BATCH = 20

// Panels that must show data for a pool with traffic and one member down; a renamed
// panel fails here rather than silently dropping out of the check.
const KEY_PANELS: readonly string[] = [
  'Pool size',
  'Members live',
  'Members routable',
  'Failures tolerated',
  'Quorum',
  'Member state',
  'New connections/s by member and outcome',
  'Active connections',
  'Bytes/s by direction',
  'Health-check latency p50 / p99',
  'Health-check failure ratio',
]

// Whether each alert expression matches now (2 of 3 members up, for seconds): true = it
// returns series (the alert would be pending), false = empty. Alerts not listed (latency
// depends on the machine) are only required to evaluate.
const ALERT_MATCHES: Readonly<Record<string, boolean>> = {
  QuorumLost: false,
  NoFailureMargin: true,
  MemberDownTooLong: false,
  EvenPoolSize: false,
  AllMembersDown: false,
  CorralScrapeMissing: false,
  CoordinationStoreDown: false,
}

const prometheusMissing =
  spawnSync('prometheus', ['--version']).error === undefined
    ? false
    : 'prometheus is not on PATH: install the Debian package "prometheus" to run this test'

/** One sample of an instant query: its labels and value (NaN stays NaN). */
interface Sample {
  readonly metric: Readonly<Record<string, string>>
  readonly value: number
}

/** An instant query's answer: samples on success, else Prometheus' error text. */
type QueryAnswer =
  | { readonly ok: true; readonly samples: readonly Sample[] }
  | { readonly ok: false; readonly error: string }

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return isRecord(value) && Object.values(value).every(v => typeof v === 'string')
}

/** `[ <unix seconds>, "<value>" ]` as a number, or undefined if it is not that shape. */
function sampleValue(pair: unknown): number | undefined {
  if (!Array.isArray(pair) || pair.length !== 2) return undefined
  const [, text] = pair as unknown[]
  return typeof text === 'string' ? Number(text) : undefined
}

/** Parses a /api/v1/query body (untrusted JSON) into a QueryAnswer. */
function parseQueryAnswer(body: string): QueryAnswer {
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch (err) {
    return { ok: false, error: `not JSON (${String(err)}): ${body.slice(0, 200)}` }
  }
  if (!isRecord(json)) return { ok: false, error: `expected an object, got ${body}` }
  if (json.status !== 'success') {
    return { ok: false, error: `${String(json.errorType)}: ${String(json.error)}` }
  }
  const data = json.data
  if (!isRecord(data)) return { ok: false, error: `no data in ${body}` }
  if (data.resultType === 'scalar') {
    const value = sampleValue(data.result)
    return value === undefined
      ? { ok: false, error: `malformed scalar in ${body}` }
      : { ok: true, samples: [{ metric: {}, value }] }
  }
  if (data.resultType !== 'vector' || !Array.isArray(data.result)) {
    return { ok: false, error: `expected a vector, got ${String(data.resultType)}` }
  }
  const samples: Sample[] = []
  for (const item of data.result as unknown[]) {
    const value = isRecord(item) ? sampleValue(item.value) : undefined
    if (!isRecord(item) || !isStringRecord(item.metric) || value === undefined) {
      return { ok: false, error: `malformed sample ${JSON.stringify(item)}` }
    }
    samples.push({ metric: item.metric, value })
  }
  return { ok: true, samples }
}

/** Thrown by a poll attempt to stop polling at once: waiting longer cannot help. */
class GaveUp extends Error {}

/**
 * Calls `attempt` every POLL_MS until it resolves to something other than undefined;
 * rejects after timeoutMs naming `what`, with the last error attempt threw as the cause,
 * or at once with a GaveUp error.
 */
async function pollUntil<T>(
  what: string,
  timeoutMs: number,
  attempt: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const value = await attempt()
      if (value !== undefined) return value
    } catch (err) {
      if (err instanceof GaveUp) throw err
      // Expected while the server starts (connection refused); kept as the cause below.
      lastError = err
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`, {
        cause: lastError,
      })
    }
    await delay(POLL_MS)
  }
}

/** A running Prometheus child process. */
interface PrometheusProcess {
  readonly port: number
  /** Runs an instant query at "now". */
  query(expr: string): Promise<QueryAnswer>
  /** Its log so far (stderr), for failure messages. */
  log(): string
  stop(): Promise<void>
}

/**
 * Starts Prometheus in `dir` scraping `target` as job "corral" every second. It listens on
 * a port the OS picks (":0"), read back from its "Listening on" log line, so no free-port
 * guess can race with other tests. Resolves once /-/ready answers 200.
 */
async function startPrometheus(dir: string, target: string): Promise<PrometheusProcess> {
  const configFile = join(dir, 'prometheus.yml')
  writeFileSync(
    configFile,
    `global:
  scrape_interval: ${SCRAPE_INTERVAL}
  scrape_timeout: ${SCRAPE_INTERVAL}
scrape_configs:
  - job_name: corral
    static_configs:
      - targets: ['${target}']
`,
  )
  const proc = spawn(
    'prometheus',
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      '--web.listen-address=127.0.0.1:0',
    ],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  )
  let log = ''
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    log = (log + chunk).slice(-64_000)
  })
  const exited = once(proc, 'exit')
  const stop = async (): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return
    proc.kill('SIGTERM')
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000)
    await exited
    clearTimeout(timer)
  }

  try {
    const port = await pollUntil('prometheus to listen', READY_TIMEOUT_MS, () => {
      if (proc.exitCode !== null)
        throw new GaveUp(`prometheus exited ${proc.exitCode}: ${log}`)
      const match = /msg="Listening on" address=\S*:(\d+)/.exec(log)
      return Promise.resolve(match?.[1] === undefined ? undefined : Number(match[1]))
    })
    await pollUntil('prometheus /-/ready', READY_TIMEOUT_MS, async () => {
      const res = await httpRequest(port, '/-/ready', { timeoutMs: 2_000 })
      return res.status === 200 ? true : undefined
    })
    return {
      port,
      query: async expr => {
        const path = `/api/v1/query?query=${encodeURIComponent(expr)}`
        const res = await httpRequest(port, path, { timeoutMs: 5_000 })
        return parseQueryAnswer(res.body)
      },
      log: () => log,
      stop,
    }
  } catch (err) {
    await stop()
    throw err
  }
}

/** Resolves once `expr` returns at least one series; rejects after INGEST_TIMEOUT_MS. */
function waitForSeries(
  prom: PrometheusProcess,
  expr: string,
): Promise<readonly Sample[]> {
  return pollUntil(
    `Prometheus to return data for ${expr}`,
    INGEST_TIMEOUT_MS,
    async () => {
      const answer = await prom.query(expr)
      if (!answer.ok) throw new GaveUp(`${expr}: ${answer.error}`)
      return answer.samples.length > 0 ? answer.samples : undefined
    },
  )
}

/** Sends `count` requests through the listener on `port`, BATCH new connections at a time. */
async function driveTraffic(port: number, count: number): Promise<number[]> {
  const statuses: number[] = []
  for (let sent = 0; sent < count; sent += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, count - sent) }, () =>
      httpRequest(port, '/'),
    )
    for (const res of await Promise.all(batch)) statuses.push(res.status)
  }
  return statuses
}

/** The single value of an answer that must hold exactly one sample. */
function onlyValue(answer: QueryAnswer): number | string {
  if (!answer.ok) return `error: ${answer.error}`
  const [first, ...rest] = answer.samples
  if (first === undefined || rest.length > 0) return `${answer.samples.length} samples`
  return first.value
}

void t.test(
  'Prometheus scrapes corral and every dashboard query and alert runs on live data',
  { skip: prometheusMissing },
  async t => {
    const startedAt = Date.now()
    const replicas = await Promise.all(['r1', 'r2', 'r3'].map(id => startReplica(id)))
    t.teardown(() => Promise.all(replicas.map(r => r.kill())))
    const dir = t.testdir()
    const lb = await startCorral(
      dir,
      lbYaml(replicas, {
        health: '{ interval: 200ms, timeout: 150ms, rise: 2, fall: 2, jitter: 0 }',
      }),
    )
    t.teardown(() => lb.stop())
    await Promise.all(replicas.map(r => lb.waitForLog(stateChanged(r.id, 'up'))))
    const listenerPort = lb.ports.http ?? 0
    const instance = `127.0.0.1:${lb.adminPort}`

    const prom = await startPrometheus(dir, instance)
    t.teardown(() => prom.stop())
    await waitForSeries(prom, 'up{job="corral"} == 1')

    // Phase 1 creates the connection and byte series; phase 2 (after r2 is down) moves
    // them, so rate() over both has a non-zero value and not just a single sample.
    const phase1 = await driveTraffic(listenerPort, REQUESTS_PER_PHASE)
    const [, r2] = replicas
    if (r2 === undefined) throw new Error('no r2')
    r2.setHealthStatus(503)
    await waitForSeries(prom, 'corral_member_up{job="corral", member="r2"} == 0')
    const phase2 = await driveTraffic(listenerPort, REQUESTS_PER_PHASE)
    t.ok(
      [...phase1, ...phase2].every(status => status === 200),
      `all ${phase1.length + phase2.length} requests through corral succeeded`,
    )
    await waitForSeries(
      prom,
      `sum(corral_connections_total{job="corral"}) >= ${2 * REQUESTS_PER_PHASE}`,
    )
    // Three scrapes of r2's failed checks: enough for rate() in the failure-ratio panel.
    await waitForSeries(
      prom,
      'count_over_time(corral_member_health_checks_total{member="r2", result!="success"}[1m]) >= 3',
    )

    await t.test('the pool gauges match the pool with one member down', async t => {
      const cases: readonly [string, number][] = [
        ['corral_pool_size', 3],
        ['corral_pool_members_live', 2],
        ['corral_pool_members_routable', 2],
        ['corral_pool_failures_tolerated', 0],
        ['corral_pool_quorum_shortfall', 0],
        ['corral_pool_quorum', 1],
        ['corral_pool_members{state="up"}', 2],
        ['corral_member_up{member="r2"}', 0],
        ['corral_member_up{member="r1"}', 1],
        ['up{job="corral"}', 1],
      ]
      t.plan(cases.length)
      for (const [expr, want] of cases) {
        t.equal(onlyValue(await prom.query(expr)), want, `${expr} = ${want}`)
      }
    })

    await t.test('every dashboard query evaluates; the key panels have data', async t => {
      const queries = listDashboardQueries()
      t.ok(queries.length > 0, 'the dashboards have queries')
      for (const title of KEY_PANELS) {
        t.ok(
          queries.some(q => q.panel === title),
          `the dashboards have a "${title}" panel`,
        )
      }
      for (const { panel, expr } of queries) {
        const promql = expandDashboardVariables(expr, {
          instance,
          rateInterval: RATE_INTERVAL,
        })
        const answer = await prom.query(promql)
        if (!answer.ok) {
          t.fail(`"${panel}" evaluates`, { expr: promql, error: answer.error })
          continue
        }
        t.pass(`"${panel}" evaluates`)
        if (KEY_PANELS.includes(panel)) {
          t.ok(answer.samples.length > 0, `"${panel}" has data`, { expr: promql })
        }
      }
    })

    await t.test('the live panels show the traffic and the down member', async t => {
      const panel = async (title: string, index = 0): Promise<readonly Sample[]> => {
        const query = listDashboardQueries().filter(q => q.panel === title)[index]
        if (query === undefined) throw new Error(`no query ${index} in panel "${title}"`)
        const expr = expandDashboardVariables(query.expr, {
          instance,
          rateInterval: RATE_INTERVAL,
        })
        const answer = await prom.query(expr)
        if (!answer.ok) throw new Error(`${title}: ${answer.error}`)
        return answer.samples
      }
      const byMember = (samples: readonly Sample[]): Record<string, number> =>
        Object.fromEntries(samples.map(s => [s.metric.member ?? '', s.value]))

      t.strictSame(
        byMember(await panel('Member state')),
        { r1: 0, r2: 3, r3: 0 },
        'member state: r2 is down (3), the others up (0)',
      )
      const connections = await panel('New connections/s by member and outcome')
      t.ok(
        connections.some(s => s.metric.outcome === 'ok' && s.value > 0),
        'new connections/s is positive',
        { connections },
      )
      const bytes = await panel('Bytes/s by direction')
      for (const direction of ['to_member', 'to_client']) {
        t.ok(
          bytes.some(s => s.metric.direction === direction && s.value > 0),
          `bytes/s ${direction} is positive`,
          { bytes },
        )
      }
      const failureRatio = byMember(await panel('Health-check failure ratio'))
      t.ok((failureRatio.r2 ?? 0) > 0, 'r2 has a non-zero health-check failure ratio', {
        failureRatio,
      })
      for (const index of [0, 1]) {
        const latency = await panel('Health-check latency p50 / p99', index)
        t.ok(
          latency.some(
            s => s.metric.member === 'r1' && Number.isFinite(s.value) && s.value > 0,
          ),
          `health-check latency query ${index} has a finite value for r1`,
          { latency },
        )
      }
    })

    await t.test(
      'every alert expression evaluates, and matches only when it should',
      async t => {
        const alerts = listAlertExprs()
        t.ok(alerts.length > 0, 'the rules file has alerts')
        for (const { alert, expr } of alerts) {
          const answer = await prom.query(expr)
          if (!answer.ok) {
            t.fail(`${alert} evaluates`, { expr, error: answer.error })
            continue
          }
          t.pass(`${alert} evaluates`)
          const want = ALERT_MATCHES[alert]
          if (want !== undefined) {
            t.equal(
              answer.samples.length > 0,
              want,
              `${alert} ${want ? 'matches' : 'does not match'} with 2 of 3 members up`,
              { expr, samples: answer.samples },
            )
          }
        }
      },
    )

    await t.test(
      'the live /metrics passes promtool check metrics',
      { skip: promtoolMissing },
      async t => {
        const scrape = await httpRequest(lb.adminPort, '/metrics')
        t.equal(scrape.status, 200, 'scraped /metrics')
        const ours = familiesWithPrefix(scrape.body, 'corral_')
        t.match(
          ours,
          /^# HELP corral_connections_total /m,
          'the scrape has corral_* families',
        )

        const strict = await promtoolCheckMetrics(ours)
        t.equal(strict.code, 0, 'corral_* families lint clean', { output: strict.output })
        t.equal(
          strict.output.trim(),
          '',
          'promtool reported nothing for corral_* families',
        )

        const full = await promtoolCheckMetrics(scrape.body)
        t.strictSame(
          unexpectedFindings(full),
          [],
          'full scrape: no findings beyond the known prom-client ones',
        )
        // promtool exits 3 for lint findings, 1 when it cannot parse the input at all.
        t.ok(full.code === 0 || full.code === 3, 'promtool parsed the full scrape', {
          output: full.output,
        })
      },
    )

    const elapsedMs = Date.now() - startedAt
    t.ok(elapsedMs < 60_000, `the whole check took ${elapsedMs}ms (bound 60 s)`)
  },
)
