// Runs one plan against a real fleet: each step's operation, the model updated from what
// succeeded, a bounded settle, then every invariant on every live instance. Stops at the
// first violation.
import type { LoadGenerator } from '../load.js'
import { LoadGenerator as Load } from '../load.js'
import type { ChaosCert } from '../tls-cert.js'
import { damageStore, readRawStore } from './damage.js'
import { Fleet } from './fleet.js'
import {
  agreedUncertain,
  dataPathViolations,
  leaseViolations,
  membershipViolations,
  sameStates,
  storeViolations,
  type Violation,
} from './invariants.js'
import {
  adoptObserved,
  applyAdmin,
  drainOutcomePossible,
  drainRoom,
  concurrentEffect,
  fileReloaded,
  initialModel,
  leasesLost,
  markUncertain,
  settledOut,
  sidecarKilled,
  sidecarStarted,
  sidecarStopped,
  type ModelState,
} from './model.js'
import { adminCall, healthz, hello, readView, type PoolView } from './observe.js'
import { describeOp, type AdminCall, type Op, type Plan } from './ops.js'

/** Bound on one step's settle (ms). */
export const SETTLE_MS = 15_000

/** How long the pool API must stand still before invariant 4 probes the data path (ms). */
export const DATA_PATH_GRACE_MS = 300

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

const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms))

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

/** The live fleet, the model and the last settled views. */
class Simulation {
  /** Members that were up on every instance at the last settle. */
  private upEverywhere = new Set<string>()
  /** Each LB's routable members at the last settle (for the outage check). */
  private routableBefore = new Map<string, number>()

  constructor(
    private readonly fleet: Fleet,
    private readonly load: LoadGenerator,
    public model: ModelState,
  ) {}

  private async views(): Promise<(PoolView | undefined)[]> {
    return Promise.all([...this.fleet.lbs.values()].map(lb => readView(lb)))
  }

  /** Whether each member's health on every view matches its replica (running, healthy). */
  private healthMatches(views: readonly PoolView[]): boolean {
    for (const v of views)
      for (const [id, m] of v.members) {
        const r = this.fleet.replicaState.get(id)
        const want = r?.running === true && r.healthy ? 'up' : 'down'
        if (m.health !== want) return false
      }
    return true
  }

  /** Waits (bounded) until every view matches the model and health matches the replicas. */
  async settle(): Promise<{ settleMs: number; healthSettled: boolean }> {
    const t0 = performance.now()
    let last: readonly PoolView[] = []
    while (performance.now() - t0 < SETTLE_MS) {
      const maybe = await this.views()
      const views = maybe.filter((v): v is PoolView => v !== undefined)
      last = views
      if (views.length === maybe.length) {
        const agreed = agreedUncertain(this.model, views)
        if (agreed !== undefined) {
          const candidate = adoptObserved(this.model, agreed)
          const store = await readRawStore(this.fleet.store.url).catch(() => undefined)
          if (
            store !== undefined &&
            storeViolations(candidate, store.members).length === 0 &&
            views.every(v => membershipViolations(candidate, v).length === 0)
          ) {
            this.model = candidate
            if (this.healthMatches(views)) {
              this.remember(views)
              return { settleMs: Math.round(performance.now() - t0), healthSettled: true }
            }
          }
        }
      }
      await sleep(250)
    }
    // Health still moving: members not up everywhere in the last read may be out.
    this.remember(last)
    return { settleMs: Math.round(performance.now() - t0), healthSettled: false }
  }

  private remember(views: readonly PoolView[]): void {
    const up = new Set<string>()
    for (const id of this.model.members.keys())
      if (views.every(v => v.members.get(id)?.state === 'up')) up.add(id)
    this.upEverywhere = up
    this.routableBefore = new Map(
      views.map(v => [
        v.lb,
        [...v.members.values()].filter(m => m.state === 'up').length,
      ]),
    )
    this.model = settledOut(this.model, up)
  }

  /** Members that may be down everywhere now (not seen up everywhere at the last settle). */
  private downNow(): ReadonlySet<string> {
    const out = new Set<string>()
    for (const id of this.model.members.keys())
      if (!this.upEverywhere.has(id)) out.add(id)
    return out
  }

  /** Invariants 1-5 after a settle. */
  async check(healthSettled: boolean): Promise<Violation[]> {
    const found: Violation[] = []
    // 5: liveness first: a dead instance explains everything else.
    for (const lb of this.fleet.lbs.values()) {
      if (!lb.running)
        found.push({
          invariant: '5 liveness',
          where: lb.name,
          expected: 'running',
          actual: `exited; stderr: ${lb.stderrText.slice(-500)}`,
        })
      else if (!(await healthz(lb)))
        found.push({
          invariant: '5 liveness',
          where: lb.name,
          expected: '/healthz 200',
          actual: 'no answer',
        })
      if (/Unhandled|uncaught/i.test(lb.stderrText))
        found.push({
          invariant: '5 liveness',
          where: lb.name,
          expected: 'no unhandled error',
          actual: lb.stderrText.slice(-500),
        })
    }
    for (const id of this.model.sidecars)
      if (!this.fleet.sidecarRunning(id))
        found.push({
          invariant: '5 liveness',
          where: `sidecar-${id}`,
          expected: 'running',
          actual: `exited; stderr: ${this.fleet.sidecars.get(id)?.stderrText.slice(-500) ?? ''}`,
        })
    if (found.length > 0) return found
    const maybe = await this.views()
    const views = maybe.filter((v): v is PoolView => v !== undefined)
    for (const v of views) found.push(...membershipViolations(this.model, v))
    const store = await readRawStore(this.fleet.store.url)
    if (process.env.SIM_TRACE === '1')
      process.stderr.write(
        `  trace: leases ${JSON.stringify([...store.leases])}; ${views.map(v => `${v.lb} ${[...v.members].map(([id, m]) => `${id}:${m.state}/${m.admin}`).join(' ')}`).join('; ')}\n`,
      )
    found.push(...storeViolations(this.model, store.members))
    found.push(...leaseViolations(this.model, store.leases, views))
    if (healthSettled && found.length === 0)
      for (const v of views) found.push(...(await this.dataPath(v)))
    return found
  }

  /** Invariant 4 on one instance: probe connections while its pool API stands still. */
  private async dataPath(before: PoolView): Promise<Violation[]> {
    const lb = this.fleet.lb(before.lb)
    const port = lb.ports.http ?? 0
    // The API is the primary's pool; its workers get each new picker over IPC. A change
    // the API shows has DATA_PATH_GRACE_MS to reach them before connections are judged.
    await sleep(DATA_PATH_GRACE_MS)
    const steady = await readView(lb)
    if (steady === undefined || !sameStates(before, steady)) return []
    const answered: string[] = []
    const tries = Math.max(4, 2 * before.members.size)
    for (let i = 0; i < tries; i++) {
      const r = await hello(port, 2_000)
      if (r.replica !== undefined) answered.push(r.replica)
    }
    const after = await readView(lb)
    if (after === undefined || !sameStates(before, after)) return []
    return dataPathViolations(before, answered)
  }

  /** Invariant 5's outage clause: failed client connections while Redis was out. */
  outageFailures(fromMs: number, toMs: number): Violation[] {
    const failed = this.load.attempts.filter(
      a =>
        a.atMs >= fromMs &&
        a.atMs < toMs &&
        !a.ok &&
        (this.routableBefore.get(a.lb) ?? 0) > 0,
    )
    if (failed.length === 0) return []
    return [
      {
        invariant: '5 liveness',
        where: [...new Set(failed.map(a => a.lb))].join(', '),
        expected: '0 failed client connections during the Redis outage',
        actual: `${failed.length} failed (${[...new Set(failed.map(a => a.cause ?? '?'))].join(', ')})`,
      },
    ]
  }

  /** Members deleted earlier in the current step (their removal may still be pending). */
  private readonly removals = new Set<string>()

  /** Runs one operation; updates the model from what succeeded. */
  async apply(op: Op): Promise<{ outcome: string; found: Violation[] }> {
    const f = this.fleet
    this.removals.clear()
    switch (op.kind) {
      case 'admin': {
        if (!op.burst) return this.admin(op.calls)
        const outcomes: string[] = []
        const found: Violation[] = []
        for (const c of op.calls) {
          const r = await this.admin([c])
          outcomes.push(r.outcome)
          found.push(...r.found)
        }
        return { outcome: outcomes.join(' then '), found }
      }
      case 'sidecar-start':
        if (f.sidecarRunning(op.replica)) return { outcome: 'already running', found: [] }
        await f.startSidecar(op.replica)
        this.model = sidecarStarted(this.model, op.replica)
        return { outcome: 'registered', found: [] }
      case 'sidecar-kill':
        if (!f.sidecarRunning(op.replica)) return { outcome: 'not running', found: [] }
        await f.killSidecar(op.replica)
        this.model = sidecarKilled(this.model, op.replica)
        return { outcome: 'killed', found: [] }
      case 'sidecar-term': {
        if (!f.sidecarRunning(op.replica)) return { outcome: 'not running', found: [] }
        const bounds = drainRoom(this.model, op.replica, this.downNow())
        const code = await f.stopSidecar(op.replica)
        const drained = code === 0
        this.model = sidecarStopped(this.model, op.replica, drained)
        const outcome = drained ? 'granted' : 'refused'
        const found: Violation[] = drainOutcomePossible(bounds, outcome, 0)
          ? []
          : [budgetViolation(`sidecar-${op.replica}`, outcome, bounds)]
        return { outcome: `exit ${code ?? 'signal'} (${outcome})`, found }
      }
      case 'replica-health':
        await f.setReplicaHealth(op.replica, op.healthy)
        return { outcome: 'set', found: [] }
      case 'replica-kill':
        await f.killReplica(op.replica)
        return { outcome: 'killed', found: [] }
      case 'replica-restart':
        await f.restartReplica(op.replica)
        return { outcome: 'restarted', found: [] }
      case 'replica-pause':
        await f.pauseReplica(op.replica, 3_000)
        return { outcome: 'stopped 3 s, continued', found: [] }
      case 'lb-crash':
        await f.crashLb(op.lb, 500)
        return { outcome: 'restarted', found: [] }
      case 'lb-hup': {
        const before = f.files.get(op.lb) ?? []
        await f.reloadLb(op.lb, op.members)
        this.model = fileReloaded(this.model, before, op.members)
        return { outcome: 'reloaded', found: [] }
      }
      case 'redis-crash':
        await f.store.kill()
        await sleep(2_000)
        await f.store.restart()
        this.model = leasesLost(this.model)
        return { outcome: 'restarted empty', found: [] }
      case 'redis-pause':
        f.store.pause()
        await sleep(3_000)
        f.store.resume()
        return { outcome: 'stopped 3 s, continued', found: [] }
      case 'damage': {
        const what = await damageStore(f.store.url, op.damage, {
          lbs: f.universe.lbs,
          members: f.universe.replicas,
        })
        if (op.damage === 'lease-garbage' || op.damage === 'drains-deleted')
          this.model = leasesLost(this.model)
        return { outcome: what, found: [] }
      }
    }
  }

  /** One or two admin calls at once (on different members and instances). */
  private async admin(
    calls: readonly AdminCall[],
  ): Promise<{ outcome: string; found: Violation[] }> {
    const before = this.model
    const down = this.downNow()
    const answers = await Promise.all(calls.map(c => this.call(c)))
    const found: Violation[] = []
    const ok = (status: number): boolean => status >= 200 && status < 300
    for (const [i, c] of calls.entries()) {
      const a = answers[i] ?? { status: 0, body: '' }
      const others = calls
        .map((o, j) => ({ ...o, ok: ok(answers[j]?.status ?? 0) }))
        .filter((_, j) => j !== i)
      if (c.verb === 'drain' && !c.force && before.members.has(c.member)) {
        const bounds = drainRoom(before, c.member, down)
        const granted = a.status === 200
        if (granted || a.status === 409) {
          const concurrent = concurrentEffect(
            before,
            others,
            granted ? 'granted' : 'refused',
          )
          const outcome = granted ? 'granted' : 'refused'
          if (!drainOutcomePossible(bounds, outcome, concurrent))
            found.push(
              budgetViolation(`${c.lb}: drain ${c.member}`, outcome, bounds, a.body),
            )
        }
      }
      if (ok(a.status)) {
        this.model = applyAdmin(this.model, c.verb, c.member)
        // An enable cancels a removal still in progress (Coordinator.setAdmin), which
        // ends as soon as the member is idle: after a delete in the same step, either.
        if (c.verb === 'delete') this.removals.add(c.member)
        else if (c.verb === 'put') this.removals.delete(c.member)
        else if (c.verb === 'enable' && this.removals.delete(c.member))
          this.model = markUncertain(this.model, c.member)
      } else if (a.status === 0) this.model = markUncertain(this.model, c.member)
      else if (a.status >= 500 && a.status !== 503)
        found.push({
          invariant: '5 liveness',
          where: `${c.lb}: ${c.verb} ${c.member}`,
          expected: 'an answer (2xx, 404, 409 or 503)',
          actual: `${a.status} ${a.body.slice(0, 300)}`,
        })
    }
    return { outcome: answers.map(a => String(a.status)).join(' ∥ '), found }
  }

  private async call(c: AdminCall): Promise<{ status: number; body: string }> {
    const lb = this.fleet.lb(c.lb)
    const path = `/api/v1/members/${c.member}`
    switch (c.verb) {
      case 'put': {
        const p = this.fleet.memberPorts(c.member)
        return adminCall(lb, 'PUT', path, {
          address: '127.0.0.1',
          ports: { http: p.http, https: p.https, health: p.health },
        })
      }
      case 'delete':
        return adminCall(lb, 'DELETE', path)
      case 'drain':
        return adminCall(lb, 'POST', `${path}/drain${c.force ? '?force=true' : ''}`)
      case 'enable':
      case 'disable':
        return adminCall(lb, 'POST', `${path}/${c.verb}`)
    }
  }
}

function budgetViolation(
  where: string,
  outcome: 'granted' | 'refused',
  bounds: { least: number; most: number },
  body = '',
): Violation {
  return {
    invariant: '3 leases',
    where,
    expected:
      outcome === 'granted'
        ? `refused: the budget had no room (at most ${bounds.most} more drains)`
        : `granted: the budget had room for at least ${bounds.least} more drain(s) (members really out do not fill it)`,
    actual: `${outcome}${body === '' ? '' : `: ${body.slice(0, 300)}`}`,
  }
}
