import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { Registry } from 'prom-client'
import { createMetrics } from '../../src/metrics/registry.js'
import { OVERVIEW_UID } from '../../grafana/dashboards/overview.js'
import {
  REGENERATE_COMMAND,
  buildDashboards,
  repoPath,
  toStableJson,
  writeDashboards,
} from '../../grafana/generate.js'
import { expandDashboardVariables, listDashboardQueries } from '../../grafana/queries.js'

const DASHBOARDS_DIR = repoPath('grafana', 'dashboards')

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function listAt(value: Record<string, unknown>, key: string): unknown[] {
  const list = value[key]
  return Array.isArray(list) ? list : []
}

/** The committed dashboard `name`, parsed. */
function committed(name: string): Record<string, unknown> {
  const parsed: unknown = JSON.parse(readFileSync(join(DASHBOARDS_DIR, name), 'utf8'))
  if (!isRecord(parsed)) throw new Error(`${name}: expected a JSON object`)
  return parsed
}

/** Every metric family name a dashboard may use: corral's plus the Node defaults. */
async function knownSeriesNames(): Promise<Set<string>> {
  const register = new Registry()
  createMetrics(register)
  const names = new Set<string>()
  for (const family of await register.getMetricsAsJSON()) {
    names.add(family.name)
    for (const suffix of ['_bucket', '_sum', '_count']) names.add(family.name + suffix)
  }
  return names
}

// corral_*, process_* and nodejs_* selectors, with their {matchers} when present.
const SELECTOR = /\b((?:corral|process|nodejs)_[a-z0-9_]+)(\{[^}]*\})?/g

void t.test('the committed dashboard JSON is what the code generates now', t => {
  const generated = buildDashboards()
  const onDisk = readdirSync(DASHBOARDS_DIR).filter(f => f.endsWith('.json'))
  t.strictSame(
    onDisk.sort(),
    Object.keys(generated).sort(),
    `grafana/dashboards/*.json match the generated set; run: ${REGENERATE_COMMAND}`,
  )
  for (const [name, dashboard] of Object.entries(generated)) {
    const text = readFileSync(join(DASHBOARDS_DIR, name), 'utf8')
    t.equal(
      text,
      toStableJson(dashboard),
      `grafana/dashboards/${name} is stale: regenerate it with \`${REGENERATE_COMMAND}\``,
    )
  }
  t.end()
})

void t.test('writeDashboards writes every dashboard as stable JSON', t => {
  const dir = mkdtempSync(join(tmpdir(), 'corral-dashboards-'))
  t.teardown(() => {
    rmSync(dir, { recursive: true, force: true })
  })
  const paths = writeDashboards(join(dir, 'nested'))
  const generated = buildDashboards()
  t.strictSame(
    paths,
    Object.keys(generated).map(name => join(dir, 'nested', name)),
  )
  for (const [name, dashboard] of Object.entries(generated)) {
    t.equal(
      readFileSync(join(dir, 'nested', name), 'utf8'),
      toStableJson(dashboard),
      name,
    )
  }
  t.end()
})

void t.test('stable JSON sorts keys at every depth and ends with a newline', t => {
  const text = toStableJson({
    b: 1,
    a: { d: [{ z: 1, y: 2 }], c: undefined, f: () => 0 },
  })
  t.equal(
    text,
    '{\n  "a": {\n    "d": [\n      {\n        "y": 2,\n        "z": 1\n      }\n    ]\n  },\n  "b": 1\n}\n',
  )
  t.end()
})

void t.test('the overview has its uid, title and template variables', t => {
  const d = committed('corral-overview.json')
  t.equal(d.uid, OVERVIEW_UID)
  t.equal(d.title, 'corral overview')
  const templating = d.templating
  const vars = isRecord(templating) ? listAt(templating, 'list').filter(isRecord) : []
  const byName = new Map(vars.map(v => [v.name, v]))
  t.match(byName.get('datasource'), { type: 'datasource', query: 'prometheus' })
  t.match(byName.get('instance'), {
    type: 'query',
    query: 'label_values(corral_pool_size, instance)',
    datasource: { type: 'prometheus', uid: '${datasource}' },
  })
  t.end()
})

void t.test('every panel has a title and a target with a non-empty expr', t => {
  const d = committed('corral-overview.json')
  const panels = listAt(d, 'panels').filter(isRecord)
  const content = panels.filter(p => p.type !== 'row')
  t.ok(content.length >= 15, `the overview has its panels (${content.length})`)
  for (const panel of content) {
    const title = typeof panel.title === 'string' ? panel.title : ''
    t.not(title, '', `panel ${String(panel.id)} has a title`)
    const exprs = listAt(panel, 'targets')
      .filter(isRecord)
      .map(target => target.expr)
      .filter((expr): expr is string => typeof expr === 'string' && expr.trim() !== '')
    t.ok(exprs.length > 0, `"${title}" has a target with an expr`)
    t.match(panel.datasource, { uid: '${datasource}' }, `"${title}" uses $datasource`)
  }
  const ids = panels.map(p => p.id)
  t.equal(new Set(ids).size, ids.length, 'panel ids are unique')
  t.end()
})

void t.test('listDashboardQueries returns every panel target', t => {
  const queries = listDashboardQueries()
  const panels = listAt(committed('corral-overview.json'), 'panels').filter(isRecord)
  const targets = panels.flatMap(p => listAt(p, 'targets'))
  t.equal(queries.length, targets.length, 'one entry per target')
  const titles = new Set(queries.map(q => q.panel))
  for (const title of [
    'Member state',
    'Process CPU',
    'Event-loop lag',
    'Failures tolerated',
  ]) {
    t.ok(titles.has(title), `includes "${title}"`)
  }
  t.end()
})

void t.test('every query selects known metrics, filtered by $instance', async t => {
  const known = await knownSeriesNames()
  const used = new Set<string>()
  for (const { panel, expr } of listDashboardQueries()) {
    const selectors = [...expr.matchAll(SELECTOR)]
    t.ok(selectors.length > 0, `"${panel}" selects a metric`)
    for (const [, name = '', matchers = ''] of selectors) {
      used.add(name)
      t.ok(known.has(name), `"${panel}": ${name} is declared in src/metrics/registry.ts`)
      t.ok(
        matchers.includes('instance=~"$instance"'),
        `"${panel}": ${name} filters $instance`,
      )
    }
  }
  // The panels the issue asks for, by the families they must show.
  for (const name of [
    'corral_pool_size',
    'corral_pool_members_live',
    'corral_pool_members_routable',
    'corral_pool_failures_tolerated',
    'corral_pool_quorum_shortfall',
    'corral_pool_quorum',
    'corral_member_state',
    'corral_connections_total',
    'corral_connections_active',
    'corral_bytes_total',
    'corral_member_health_check_duration_seconds_bucket',
    'corral_member_health_checks_total',
    'corral_member_transitions_total',
    'corral_connect_duration_seconds_bucket',
    'process_cpu_seconds_total',
    'process_resident_memory_bytes',
    'nodejs_eventloop_lag_seconds',
    'nodejs_eventloop_lag_p99_seconds',
  ]) {
    t.ok(used.has(name), `some panel shows ${name}`)
  }
})

const promtoolMissing =
  spawnSync('promtool', ['--version']).error === undefined
    ? false
    : 'promtool is not on PATH: install the Debian package "prometheus" to run this check'

void t.test('every query is valid PromQL', { skip: promtoolMissing }, t => {
  // promtool has no offline query parser, but `check rules` parses every expr of a
  // rules file: wrap each query in a recording rule.
  const dir = mkdtempSync(join(tmpdir(), 'corral-promql-'))
  t.teardown(() => {
    rmSync(dir, { recursive: true, force: true })
  })
  const queries = listDashboardQueries()
  const rules = queries
    .map((q, i) => {
      const expr = JSON.stringify(expandDashboardVariables(q.expr))
      return `      - record: corral:dashboard_query_${i}\n        expr: ${expr}\n`
    })
    .join('')
  const file = join(dir, 'queries.rules.yml')
  writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules}`)
  const run = spawnSync('promtool', ['check', 'rules', file], {
    encoding: 'utf8',
    timeout: 30_000,
  })
  if (run.error) throw run.error
  const output = `${run.stdout}${run.stderr}`
  t.equal(run.status, 0, 'promtool parses every dashboard query', { output })
  t.match(output, `SUCCESS: ${queries.length} rules found`, 'all of them', { output })
  t.end()
})

void t.test('expandDashboardVariables turns Grafana variables into PromQL', t => {
  const expr = 'rate(x{instance=~"$instance", job=~"${instance}"}[$__rate_interval])'
  t.equal(expandDashboardVariables(expr), 'rate(x{instance=~".+", job=~".+"}[1m])')
  t.equal(
    expandDashboardVariables(expr, { instance: 'lb-1:9464', rateInterval: '5m' }),
    'rate(x{instance=~"lb-1:9464", job=~"lb-1:9464"}[5m])',
  )
  t.equal(expandDashboardVariables('$instances'), '$instances', 'only the whole name')
  t.end()
})
