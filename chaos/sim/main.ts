// `npm run simulate`: the randomized fleet simulation (issue #18, chaos/sim/README.md).
//   --seed S --steps K    one run of exactly that sequence (default: a random seed, 20 steps)
//   --ci                  the CI run: fixed seeds plus one random seed (printed), bounded
//   --soak [--minutes M]  random seeds one after the other for M minutes (default 10),
//                         going on after a violation
//   --report FILE         the JSON report (default chaos/results/simulate.json)
// Exit 0 when every invariant held, 1 on a violation, 2 when a run could not be carried out.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { makeChaosCert } from '../tls-cert.js'
import { describeOp, planFor } from './ops.js'
import { runPlan, type RunReport } from './runner.js'

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    steps: { type: 'string' },
    ci: { type: 'boolean', default: false },
    soak: { type: 'boolean', default: false },
    minutes: { type: 'string', default: '10' },
    report: { type: 'string', default: 'chaos/results/simulate.json' },
  },
})

function int(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(
      `--${name}: expected a non-negative integer, got ${JSON.stringify(v)}\n`,
    )
    process.exit(2)
  }
  return n
}

const randomSeed = (): number => Math.floor(Math.random() * 2 ** 31)
/** Seeds CI always runs: each found a #18 defect before its fix (README, Findings). */
const CI_SEEDS = [2, 4]
const CI_STEPS = 12
const steps = int('steps', values.steps, values.ci ? CI_STEPS : values.soak ? 30 : 20)
const log = (m: string): void => {
  process.stderr.write(`[sim ${new Date().toISOString().slice(11, 19)}] ${m}\n`)
}

const root = mkdtempSync(join(tmpdir(), 'corral-sim-'))
const cert = makeChaosCert(root)
const runs: RunReport[] = []
const startedAt = new Date().toISOString()

async function one(seed: number): Promise<RunReport> {
  const plan = planFor(seed, steps)
  log(
    `seed ${seed}, ${steps} steps (replay: npm run simulate -- --seed ${seed} --steps ${steps})`,
  )
  const dir = mkdtempSync(join(root, `seed-${seed}-`))
  const report = await runPlan(plan, dir, cert, log)
  runs.push(report)
  if (report.violation !== undefined) {
    const v = report.violation
    log(`VIOLATION at step ${v.step} (${v.op}):`)
    for (const f of v.found)
      log(
        `  invariant ${f.invariant} on ${f.where}: expected ${f.expected}; actual ${f.actual}`,
      )
    log(`  replay: npm run simulate -- --seed ${seed} --steps ${v.step}`)
    log(
      `  steps: ${plan.steps
        .slice(0, v.step)
        .map((op, i) => `${i + 1}. ${describeOp(op)}`)
        .join('; ')}`,
    )
  } else if (report.error !== undefined) {
    log(`ERROR (seed ${seed}): ${report.error}`)
  } else {
    log(
      `seed ${seed}: ${report.steps.length - 1} steps, every invariant held (${Math.round(report.durationMs / 1000)} s)`,
    )
  }
  return report
}

let seeds: number[]
if (values.ci) {
  const r = randomSeed()
  log(`CI run: seeds ${CI_SEEDS.join(', ')} and random seed ${r}`)
  seeds = [...CI_SEEDS, r]
} else {
  seeds = [int('seed', values.seed, randomSeed())]
}
try {
  if (values.soak) {
    const until = performance.now() + int('minutes', values.minutes, 10) * 60_000
    let seed = int('seed', values.seed, randomSeed())
    while (performance.now() < until) {
      // A soak goes on after a violation (each seed is its own run): it reports them all.
      await one(seed)
      seed = randomSeed()
    }
  } else {
    for (const seed of seeds) {
      const r = await one(seed)
      if (r.violation !== undefined) break
    }
  }
} finally {
  const path = resolve(values.report)
  mkdirSync(dirname(path), { recursive: true })
  const stepsRun = runs.reduce((n, r) => n + Math.max(0, r.steps.length - 1), 0)
  writeFileSync(
    path,
    `${JSON.stringify({ startedAt, finishedAt: new Date().toISOString(), stepsRun, runs }, null, 2)}\n`,
  )
  log(`${runs.length} run(s), ${stepsRun} steps; report: ${path}`)
  for (const r of runs) {
    const v = r.violation
    if (v === undefined) continue
    const names = [...new Set(v.found.map(f => f.invariant))].join(', ')
    log(
      `  violated ${names} at step ${v.step} (${v.op}): npm run simulate -- --seed ${r.seed} --steps ${v.step}`,
    )
  }
  rmSync(root, { recursive: true, force: true })
}
const violated = runs.some(r => r.violation !== undefined)
const errored = runs.some(r => r.error !== undefined)
process.exit(violated ? 1 : errored ? 2 : 0)
