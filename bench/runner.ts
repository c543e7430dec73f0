// Runs the selected workloads: for each workload, R rounds, each round every system once
// (A B A B …), each run bounded by the workload's timeout and cleaned up however it ends.

import { resolve } from 'node:path'
import { roundsFor, workloadDef, type SystemName, type WorkloadId } from './catalog.js'
import { loadNativeAddon } from '../src/proxy/native-loader.js'
import { Scope, type Env, type RunContext } from './context.js'
import { displayArgv, shellQuote, withoutRoot } from './procs.js'
import { systemBusyPercent } from './proc-stats.js'
import type {
  Background,
  CommandRecord,
  ConfigRecord,
  Failure,
  Sample,
} from './results.js'
import { WORKLOAD_IMPLS } from './workload-registry.js'

/** What the runner is asked to do. */
export interface Plan {
  readonly env: Env
  readonly smoke: boolean
  /** --rounds; undefined = each workload's default (roundsFor). */
  readonly rounds: number | undefined
  readonly durationS: number
  readonly workloads: readonly WorkloadId[]
  readonly systems: readonly SystemName[]
}

/** What it produced. */
export interface Outcome {
  readonly samples: Sample[]
  readonly failures: Failure[]
  readonly background: Background[]
  readonly commands: CommandRecord[]
  readonly configs: ConfigRecord[]
  readonly notes: string[]
}

/** Why a system cannot run here, or undefined. */
function systemUnavailable(system: SystemName, env: Env): string | undefined {
  switch (system) {
    case 'direct':
    case 'naive':
      return undefined
    case 'haproxy':
      return env.tools.haproxy === undefined ? 'haproxy not on PATH' : undefined
    case 'corral-native':
    case 'corral-native-log':
      if (env.corral === undefined)
        return 'corral CLI not built (dist/src/cli/main.js missing)'
      return nativeUnavailable()
    case 'corral':
    case 'corral-2w':
    case 'corral-nometrics':
    case 'corral-log':
      return env.corral === undefined
        ? 'corral CLI not built (dist/src/cli/main.js missing)'
        : undefined
    default: {
      const never: never = system
      return `unknown system ${String(never)}`
    }
  }
}

/** Runs the plan; progress goes to stderr. Never throws for a failed run. */
export async function runPlan(plan: Plan, log: (line: string) => void): Promise<Outcome> {
  const outcome: Outcome = {
    samples: [],
    failures: [],
    background: [],
    commands: [],
    configs: [],
    notes: [],
  }
  const note = (text: string) => {
    if (!outcome.notes.includes(text)) outcome.notes.push(text)
  }
  for (const id of plan.workloads) {
    const impl = WORKLOAD_IMPLS[id]
    const why = impl.unavailable(plan.env)
    if (why !== undefined) {
      note(`${id} skipped: ${why}.`)
      continue
    }
    const systems: SystemName[] = []
    for (const s of workloadDef(id).systems.filter(s => plan.systems.includes(s))) {
      const reason = systemUnavailable(s, plan.env)
      if (reason === undefined) systems.push(s)
      else note(`${s} not measured: ${reason}.`)
    }
    const rounds = roundsFor(id, plan.rounds)
    for (let round = 1; round <= rounds; round++) {
      for (const system of systems) {
        const busyPct = await systemBusyPercent(plan.smoke ? 100 : 500)
        if (busyPct !== undefined)
          outcome.background.push({ workload: id, system, round, busyPct })
        const busy =
          busyPct === undefined ? '' : ` (machine ${busyPct.toFixed(0)}% busy before)`
        log(`[round ${round}/${rounds}] ${id} / ${system}${busy} …`)
        const t0 = Date.now()
        const result = await runOne(plan, outcome, note, id, system, round)
        const took = ((Date.now() - t0) / 1000).toFixed(1)
        log(`    ${result} (${took} s)`)
      }
    }
  }
  return outcome
}

async function runOne(
  plan: Plan,
  outcome: Outcome,
  note: (text: string) => void,
  workload: WorkloadId,
  system: SystemName,
  round: number,
): Promise<string> {
  const impl = WORKLOAD_IMPLS[workload]
  const scope = new Scope()
  const timeoutMs = impl.timeoutMs(plan.durationS)
  const abort = new AbortController()
  const ctx: RunContext = {
    env: plan.env,
    smoke: plan.smoke,
    durationS: plan.durationS,
    round,
    workload,
    system,
    scope,
    signal: abort.signal,
    record: argv => {
      // Round 1 shows every step once; later rounds differ only in ports.
      if (round === 1)
        outcome.commands.push({
          workload,
          system,
          // dist/bench → the repository root.
          command: shellQuote(displayArgv(argv, resolve(plan.env.benchDir, '..', '..'))),
        })
    },
    attach: (file, text) => {
      // Reports are committed: no path of the machine they ran on (test/bench/procs).
      const root = resolve(plan.env.benchDir, '..', '..')
      if (round === 1)
        outcome.configs.push({
          workload,
          system,
          file: withoutRoot(file, root),
          text: clip(withoutRoot(text, root)),
        })
    },
    note,
  }
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort()
      reject(new Error(`timed out after ${timeoutMs / 1000} s`))
    }, timeoutMs)
  })
  try {
    const metrics = await Promise.race([impl.run(ctx), timeout])
    const parts: string[] = []
    for (const [metric, value] of Object.entries(metrics)) {
      outcome.samples.push({ workload, system, round, metric, value })
      parts.push(`${metric}=${Number.isInteger(value) ? value : value.toFixed(3)}`)
    }
    return parts.join(' ')
  } catch (err) {
    const message = describe(err)
    outcome.failures.push({ workload, system, round, message })
    return `FAILED: ${message}`
  } finally {
    clearTimeout(timer)
    abort.abort()
    // Slow teardown is worth knowing about (a proxy that does not exit on SIGTERM).
    for (const { name, ms } of await scope.close()) {
      if (ms > 2_000)
        note(`${name} took ${(ms / 1000).toFixed(1)} s to stop after ${workload}.`)
    }
  }
}

/** Most characters of a config kept in the JSON (the 1,000-member ones are ~40 KB). */
const MAX_CONFIG_CHARS = 4_000

function clip(text: string): string {
  if (text.length <= MAX_CONFIG_CHARS) return text
  const kept = text.slice(0, MAX_CONFIG_CHARS)
  const dropped = text.slice(MAX_CONFIG_CHARS).split('\n').length
  return `${kept.slice(0, kept.lastIndexOf('\n') + 1)}# … ${dropped} more lines\n`
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const cause = err.cause === undefined ? '' : `: ${describe(err.cause)}`
  return `${err.message}${cause}`
}

/** Why corral-native cannot run here (the addon is not built), or undefined. */
function nativeUnavailable(): string | undefined {
  const loaded = loadNativeAddon()
  return 'error' in loaded ? loaded.error : undefined
}
