// Entry point of the benchmark suite (issue #5): `npm run bench`, or
// `node dist/bench/run.js --smoke` in CI. See --help and docs/benchmarks.md.

import { existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseOptions, USAGE, type Options } from './args.js'
import { DEFAULT_ROUNDS, roundsFor } from './catalog.js'
import type { CorralLauncher } from './context.js'
import { findTools, machineInfo, openFilesLimits, planPinning } from './machine.js'
import { readResultJson, writeDocs, writeResultJson } from './output.js'
import { checkRegressions, regressionLines } from './regressions.js'
import { killAllChildren } from './procs.js'
import { reportProfiles } from './profiles.js'
import type { BenchResult, RegressionCheck } from './results.js'
import { runPlan } from './runner.js'

const benchDir = dirname(fileURLToPath(import.meta.url))
/** The repository root: dist/bench/run.js → ../.. */
const repoRoot = resolve(benchDir, '..', '..')

/** A path relative to the repository when inside it, else absolute. */
function displayPath(path: string): string {
  const rel = relative(repoRoot, path)
  return rel.startsWith('..') ? path : rel
}

function log(line: string): void {
  process.stderr.write(line + '\n')
}

/** The committed report the regression guard compares against. */
const PREVIOUS_REPORT = join(repoRoot, 'bench', 'results', 'latest.json')

/** The previous report, read before this run overwrites it; else why there is none. */
function readPrevious(): BenchResult | string {
  if (!existsSync(PREVIOUS_REPORT)) return `no ${displayPath(PREVIOUS_REPORT)}`
  try {
    return readResultJson(PREVIOUS_REPORT)
  } catch (err) {
    return `${displayPath(PREVIOUS_REPORT)} unreadable: ${err instanceof Error ? err.message : String(err)}`
  }
}

function corralLauncher(): { launcher: CorralLauncher | undefined; detail: string } {
  const cli = join(repoRoot, 'dist', 'src', 'cli', 'main.js')
  if (existsSync(cli)) {
    return {
      launcher: { entry: cli },
      detail: `the CLI, \`node ${relative(repoRoot, cli)} lb --config <file> --log-level warn\`.`,
    }
  }
  return {
    launcher: undefined,
    detail: 'not measured: dist/src/cli/main.js does not exist (run `npm run build`).',
  }
}

async function main(): Promise<number> {
  let options: Options
  try {
    options = parseOptions(process.argv.slice(2))
  } catch (err) {
    log(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`)
    return 2
  }
  if (options.help) {
    process.stdout.write(USAGE)
    return 0
  }
  // docs/ is rewritten only by a default run; smoke runs and runs with --out (partial or
  // experimental) put the markdown and SVG next to their JSON instead.
  const toDocs = !options.smoke && options.out === undefined
  const docsDir = (outDir: string) => (toDocs ? join(repoRoot, 'docs') : outDir)
  if (options.reportFrom !== undefined) {
    const result = readResultJson(options.reportFrom)
    const outDir = options.out ?? dirname(options.reportFrom)
    for (const p of writeDocs(docsDir(outDir), result)) log(`wrote ${p}`)
    return 0
  }

  // Smoke runs write nothing into the tree, so CI stays clean.
  const outDir = resolve(
    options.out ??
      (options.smoke
        ? mkdtempSync(join(tmpdir(), 'corral-bench-smoke-'))
        : 'bench/results'),
  )
  const startedAt = new Date().toISOString()
  const scratch = join(outDir, 'tmp', startedAt.replace(/[:.]/g, '-'))
  mkdirSync(scratch, { recursive: true })
  const profileDir = options.profile ? join(outDir, 'profiles') : undefined
  if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true })

  const previous = readPrevious()
  const tools = findTools()
  const pin = planPinning(tools)
  const limits = openFilesLimits() ?? { soft: 1024, hard: 1024 }
  const corral = corralLauncher()
  const notes = [pin.description]
  const raiseNofile =
    limits.soft < limits.hard && tools.prlimit !== undefined ? limits.hard : undefined
  notes.push(
    `Open-files limit: soft ${limits.soft}, hard ${limits.hard}` +
      (raiseNofile === undefined
        ? '.'
        : `; children started with prlimit --nofile=${raiseNofile}.`),
  )
  if (tools.haproxy === undefined) notes.push('haproxy not on PATH: no HAProxy baseline.')
  if (options.rounds === undefined) {
    for (const id of options.only) {
      const rounds = roundsFor(id, undefined)
      if (rounds !== DEFAULT_ROUNDS) notes.push(`${id}: ${rounds} rounds (its default).`)
    }
  }
  log(`corral bench: results in ${outDir}, logs in ${scratch}`)
  log(`corral: ${corral.detail}`)

  const profilesBefore = new Set(profileDir === undefined ? [] : readdirSync(profileDir))
  const outcome = await runPlan(
    {
      env: {
        benchDir,
        workDir: scratch,
        logDir: scratch,
        tools,
        pin,
        corral: corral.launcher,
        profileDir,
        openFilesSoft: limits.soft,
        openFilesHard: limits.hard,
        raiseNofile,
      },
      smoke: options.smoke,
      rounds: options.rounds,
      durationS: options.durationS,
      workloads: options.only,
      systems: options.systems,
    },
    log,
  )
  const profiles =
    profileDir === undefined
      ? []
      : readdirSync(profileDir)
          .filter(f => f.endsWith('.cpuprofile') && !profilesBefore.has(f))
          .map(f => join(profileDir, f))
  if (profileDir !== undefined && profiles.length === 0) {
    notes.push(
      `--profile: corral wrote no profile to ${displayPath(profileDir)} ` +
        '(node writes it on a normal exit; corral must exit cleanly on SIGTERM).',
    )
  }
  const unchecked: BenchResult = {
    version: 1,
    startedAt,
    finishedAt: new Date().toISOString(),
    mode: options.smoke ? 'smoke' : 'full',
    rounds: options.rounds ?? DEFAULT_ROUNDS,
    durationS: options.durationS,
    argv: process.argv.slice(2),
    machine: machineInfo(tools),
    corral: {
      source: corral.launcher === undefined ? 'unavailable' : 'cli',
      detail: corral.detail,
    },
    notes: [...notes, ...outcome.notes],
    samples: outcome.samples,
    failures: outcome.failures,
    background: outcome.background,
    commands: outcome.commands,
    configs: outcome.configs,
    profiles: reportProfiles(profiles, displayPath),
  }
  const regressions: RegressionCheck =
    typeof previous === 'string'
      ? { status: 'skipped', reason: previous }
      : checkRegressions(previous, unchecked)
  for (const line of regressionLines(regressions)) log(line)
  const result: BenchResult = { ...unchecked, regressions }
  log(`wrote ${writeResultJson(outDir, result)}`)
  for (const p of writeDocs(docsDir(outDir), result)) log(`wrote ${p}`)
  if (outcome.failures.length > 0) {
    log(`${outcome.failures.length} run(s) failed; see the Failures section.`)
    return 1
  }
  return 0
}

// Children are in their own process groups: kill them on every way out.
process.on('exit', killAllChildren)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    log(`${signal}: stopping child processes`)
    killAllChildren()
    process.exit(130)
  })
}

main().then(
  code => {
    process.exitCode = code
  },
  (err: unknown) => {
    log(
      `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
    )
    killAllChildren()
    process.exitCode = 1
  },
)
