import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { Registry } from 'prom-client'
import { createMetrics } from '../../src/metrics/registry.js'
import { registerCertExpiry } from '../../src/metrics/tls.js'
import { repoPath } from '../../grafana/generate.js'
import { ALERT_RULES_FILE, listAlertExprs } from '../../grafana/queries.js'

const RULES = ALERT_RULES_FILE
const RULE_TESTS = 'grafana/alerts/corral.rules.test.yml'

const ALERTS = [
  'QuorumLost',
  'NoFailureMargin',
  'RoutableCapacityLow',
  'MemberDownTooLong',
  'EvenPoolSize',
  'AllMembersDown',
  'HealthCheckLatencyHigh',
  'CorralScrapeMissing',
  'CoordinationStoreDown',
  'TlsCertificateExpiresSoon',
]

const promtoolMissing =
  spawnSync('promtool', ['--version']).error === undefined
    ? false
    : 'promtool is not on PATH: install the Debian package "prometheus" to run this check'

/** Runs promtool from the repository root; returns its exit code and all output. */
function promtool(...args: string[]): { code: number | null; output: string } {
  const run = spawnSync('promtool', args, {
    cwd: repoPath(),
    encoding: 'utf8',
    timeout: 60_000,
  })
  if (run.error) throw run.error
  return { code: run.status, output: `${run.stdout}${run.stderr}` }
}

void t.test(
  'promtool check rules accepts the rules file',
  { skip: promtoolMissing },
  t => {
    const { code, output } = promtool('check', 'rules', RULES)
    t.equal(code, 0, `promtool check rules ${RULES} exits 0`, { output })
    t.match(output, `SUCCESS: ${ALERTS.length} rules found`, 'it found every rule', {
      output,
    })
    t.end()
  },
)

void t.test(
  'promtool test rules passes the alert unit tests',
  { skip: promtoolMissing },
  t => {
    const { code, output } = promtool('test', 'rules', RULE_TESTS)
    t.equal(code, 0, `promtool test rules ${RULE_TESTS} exits 0`, { output })
    t.match(output, 'SUCCESS', 'every rule test passed', { output })
    t.end()
  },
)

void t.test(
  'a broken rule makes promtool check rules fail',
  { skip: promtoolMissing },
  t => {
    // Guards the guard: if promtool stopped reporting errors, the tests above would pass
    // vacuously.
    const dir = mkdtempSync(join(tmpdir(), 'corral-rules-'))
    t.teardown(() => {
      rmSync(dir, { recursive: true, force: true })
    })
    const file = join(dir, 'broken.rules.yml')
    const text = readFileSync(repoPath(RULES), 'utf8').replace(
      'expr: corral_pool_quorum == 0',
      'expr: corral_pool_quorum ==',
    )
    writeFileSync(file, text)
    t.not(promtool('check', 'rules', file).code, 0)
    t.end()
  },
)

void t.test('listAlertExprs lists every alert of the issue with its expr', t => {
  const alerts = listAlertExprs()
  t.strictSame(
    alerts.map(a => a.alert),
    ALERTS,
  )
  for (const { alert, expr } of alerts) t.not(expr.trim(), '', `${alert} has an expr`)
  t.match(
    alerts.find(a => a.alert === 'QuorumLost'),
    { expr: 'corral_pool_quorum == 0' },
  )
  t.end()
})

void t.test('listAlertExprs names the malformed entry', t => {
  const dir = mkdtempSync(join(tmpdir(), 'corral-rules-'))
  t.teardown(() => {
    rmSync(dir, { recursive: true, force: true })
  })
  const file = join(dir, 'bad.rules.yml')
  writeFileSync(
    file,
    'groups:\n  - name: x\n    rules:\n      - alert: A\n        expr: 1\n',
  )
  t.throws(
    () => listAlertExprs(file),
    /groups\[0\]\.rules\[0\]: expected string "alert" and "expr"/,
  )
  writeFileSync(file, 'groups:\n  - name: x\n')
  t.throws(() => listAlertExprs(file), /groups\[0\]: expected a "rules" list/)
  writeFileSync(file, 'rules: []\n')
  t.throws(() => listAlertExprs(file), /expected a top-level "groups" list/)
  t.end()
})

void t.test('every alert has a firing case in the rule tests', t => {
  const tests = readFileSync(repoPath(RULE_TESTS), 'utf8')
  for (const alert of ALERTS) {
    const firing = new RegExp(`alertname: ${alert}\\n\\s+exp_alerts:\\n\\s+- exp_labels`)
    t.match(tests, firing, `${alert} is tested firing`)
  }
  t.end()
})

void t.test('alert expressions use only declared metric names', async t => {
  const register = new Registry()
  createMetrics(register)
  registerCertExpiry(register, () => undefined)
  const known = new Set<string>()
  for (const family of await register.getMetricsAsJSON()) {
    known.add(family.name)
    for (const suffix of ['_bucket', '_sum', '_count']) known.add(family.name + suffix)
  }
  for (const { alert, expr } of listAlertExprs()) {
    for (const [name] of expr.matchAll(/\bcorral_[a-z0-9_]+/g)) {
      t.ok(known.has(name), `${alert}: ${name} is declared in src/metrics/registry.ts`)
    }
  }
})
