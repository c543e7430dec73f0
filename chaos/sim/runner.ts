// Runs one plan against a real fleet: each step's operation, the model updated from what
// succeeded, a bounded settle, then every invariant on every live instance. Stops at the
// first violation.
import type { LoadGenerator } from '../load.js'
import { LoadGenerator as Load } from '../load.js'
import type { ChaosCert } from '../tls-cert.js'
import { Fleet } from './fleet.js'
import type { Violation } from './invariants.js'
import { initialModel } from './model.js'
import { describeOp, type Plan } from './ops.js'
import { Simulation } from './simulation.js'

/** One step as the report shows it. */
export interface StepReport {
  readonly index: number
  readonly op: string
  readonly outcome: string
  readonly settleMs: number
  /** Health verdicts matched the replicas within the bound (else invariant 4 skipped). */
  readonly healthSettled: boolean
}

/** The outcome of one run. */
export interface RunReport {
  readonly seed: number
  readonly replicas: number
  readonly stepsPlanned: number
  readonly steps: StepReport[]
  readonly violation?: {
    readonly step: number
    readonly op: string
    readonly found: Violation[]
  }
  readonly error?: string
  readonly durationMs: number
}

/** Runs `plan`; `log` prints progress lines. */
export async function runPlan(
  plan: Plan,
  dir: string,
  cert: ChaosCert,
  log: (line: string) => void,
): Promise<RunReport> {
  const started = performance.now()
  const steps: StepReport[] = []
  const u = plan.universe
  const base = {
    seed: plan.seed,
    replicas: u.replicas.length,
    stepsPlanned: plan.steps.length,
    steps,
  }
  let fleet: Fleet | undefined
  let load: LoadGenerator | undefined
  try {
    log(
      `fleet: ${u.lbs.length} LBs, replicas ${u.replicas.join(' ')} (sidecars ${u.sidecarReplicas.join(' ')}; file lists ${u.fileMembers.join(' ')})`,
    )
    fleet = await Fleet.start(dir, cert, u)
    load = new Load(
      [...fleet.lbs.values()].map(lb => ({
        lb: lb.name,
        httpPort: lb.ports.http ?? 0,
        httpsPort: lb.ports.https ?? 0,
      })),
      {
        ratePerSec: 4,
        requestTimeoutMs: 4_000,
        maxAttempts: 100_000,
        maxDurationMs: 3_600_000,
        ca: cert.cert,
      },
    )
    load.start()
    const sim = new Simulation(
      fleet,
      load,
      initialModel(u.fileMembers, u.sidecarReplicas),
    )
    const first = await sim.settle()
    steps.push({ index: 0, op: 'start', outcome: 'fleet up', ...first })
    const v0 = await sim.check(first.healthSettled)
    if (v0.length > 0) return done({ violation: { step: 0, op: 'start', found: v0 } })
    for (const [i, op] of plan.steps.entries()) {
      const index = i + 1
      const text = describeOp(op)
      const stepStart = Date.now()
      const { outcome, found } = await sim.apply(op)
      const settled = await sim.settle()
      steps.push({ index, op: text, outcome, ...settled })
      log(
        `step ${index}: ${text} → ${outcome} (settled in ${settled.settleMs} ms${settled.healthSettled ? '' : ', health still moving'})`,
      )
      const more = await sim.check(settled.healthSettled)
      if (op.kind === 'redis-crash' || op.kind === 'redis-pause')
        more.push(...sim.outageFailures(stepStart, Date.now()))
      const all = [...found, ...more]
      if (all.length > 0)
        return done({ violation: { step: index, op: text, found: all } })
    }
    return done({})
  } catch (err) {
    return done({ error: err instanceof Error ? err.message : String(err) })
  } finally {
    await load?.stop()
    await fleet?.close()
  }

  function done(extra: Partial<RunReport>): RunReport {
    return { ...base, ...extra, durationMs: Math.round(performance.now() - started) }
  }
}
