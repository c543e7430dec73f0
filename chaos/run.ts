// `npm run chaos`: runs the chaos scenarios (all, or `--scenario NAME`), prints a table
// (scenario, budget, measured, verdict) and writes a JSON report (`--report FILE`,
// default chaos/results/latest.json). `--soak` runs longer phases with more load.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { SCENARIOS } from './catalog.js'
import { formatTable, type ScenarioReport } from './report.js'
import type { Check } from './scenario.js'
import { makeChaosCert } from './tls-cert.js'
import { selectToxiproxy } from './toxiproxy/select.js'
import { chaosDataPath } from './corral/config.js'

const { values } = parseArgs({
  options: {
    scenario: { type: 'string', multiple: true },
    soak: { type: 'boolean', default: false },
    report: { type: 'string', default: 'chaos/results/latest.json' },
    list: { type: 'boolean', default: false },
  },
})

if (values.list) {
  for (const s of SCENARIOS) {
    process.stdout.write(`${s.number}. ${s.name}: ${s.title}\n`)
  }
  process.exit(0)
}
const wanted = values.scenario ?? []
const unknown = wanted.filter(w => !SCENARIOS.some(s => s.name === w))
if (unknown.length > 0) {
  process.stderr.write(
    `--scenario: unknown ${unknown.join(', ')}; expected one of ${SCENARIOS.map(s => s.name).join(', ')}\n`,
  )
  process.exit(2)
}
const chosen =
  wanted.length === 0 ? SCENARIOS : SCENARIOS.filter(s => wanted.includes(s.name))

const root = mkdtempSync(join(tmpdir(), 'corral-chaos-'))
const cert = makeChaosCert(root)
const toxiproxy = await selectToxiproxy()
const log = (m: string): void => {
  process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${m}\n`)
}
log(`toxiproxy: ${toxiproxy.kind} at ${toxiproxy.url} (${toxiproxy.version})`)
log(`corral data path: ${chaosDataPath()} (CORRAL_DATA_PATH=js|native to choose)`)
const startedAt = new Date().toISOString()
const reports: ScenarioReport[] = []
/** A scenario that has not finished by then is an error (its processes are still closed). */
const SCENARIO_TIMEOUT_MS = values.soak ? 1_800_000 : 150_000
try {
  for (const s of chosen) {
    log(`${s.number}. ${s.name}: ${s.title}`)
    const dir = mkdtempSync(join(root, `${s.name}-`))
    const start = performance.now()
    let checks: Check[] = []
    let error: string | undefined
    let timer: NodeJS.Timeout | undefined
    const details: Record<string, unknown> = {}
    try {
      checks = await Promise.race([
        s.run({
          dir,
          cert,
          toxiproxyUrl: toxiproxy.url,
          soak: values.soak,
          log: m => {
            log(`  ${s.name}: ${m}`)
          },
          attach: (k, v) => {
            details[k] = v
          },
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            reject(new Error(`timed out after ${SCENARIO_TIMEOUT_MS} ms`))
          }, SCENARIO_TIMEOUT_MS)
        }),
      ])
    } catch (err) {
      error = err instanceof Error ? err.message : String(err)
      details.stack = err instanceof Error ? err.stack : undefined
    } finally {
      clearTimeout(timer)
    }
    const verdict =
      error !== undefined ? 'error' : checks.every(c => c.pass) ? 'pass' : 'fail'
    const report: ScenarioReport = {
      number: s.number,
      name: s.name,
      title: s.title,
      verdict,
      checks,
      durationMs: Math.round(performance.now() - start),
      ...(error === undefined ? {} : { error }),
      details,
    }
    reports.push(report)
    process.stdout.write(`${formatTable([report])}\n`)
  }
} finally {
  await toxiproxy.close()
  rmSync(root, { recursive: true, force: true })
}

process.stdout.write(`\n${formatTable(reports)}\n`)
const reportPath = resolve(values.report)
mkdirSync(dirname(reportPath), { recursive: true })
writeFileSync(
  reportPath,
  `${JSON.stringify(
    {
      startedAt,
      finishedAt: new Date().toISOString(),
      soak: values.soak,
      node: process.version,
      toxiproxy: { kind: toxiproxy.kind, version: toxiproxy.version },
      dataPath: chaosDataPath(),
      scenarios: reports,
    },
    null,
    2,
  )}\n`,
)
log(`report written to ${reportPath}`)
const failed = reports.filter(r => r.verdict === 'fail' || r.verdict === 'error')
process.exitCode = failed.length === 0 ? 0 : 1
