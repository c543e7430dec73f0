// The live side of a run: the fleet, the model, the bounded settle, the invariant checks
// after it, and each operation applied to the processes (admin calls: admin-step.ts).
import type { LoadGenerator } from '../load.js'
import { damageStore, readRawStore } from './damage.js'
import type { Fleet } from './fleet.js'
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
  drainOutcomePossible,
  drainRoom,
  fileReloaded,
  leasesLost,
  settledOut,
  sidecarKilled,
  sidecarStarted,
  sidecarStopped,
  type ModelState,
} from './model.js'
import { healthz, hello, readView, type PoolView } from './observe.js'
import type { AdminCall, Op } from './ops.js'
import { adminCalls, budgetViolation } from './admin-step.js'

/** Bound on one step's settle (ms). */
export const SETTLE_MS = 15_000

/** How long the pool API must stand still before invariant 4 probes the data path (ms). */
export const DATA_PATH_GRACE_MS = 300

/** Resolves after ms: fault durations and poll intervals, not synchronisation. */
export const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms))

/** The live fleet, the model and the last settled views. */
export class Simulation {
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
    const r = await adminCalls(
      this.fleet,
      this.model,
      this.removals,
      this.downNow(),
      calls,
    )
    this.model = r.model
    return r
  }
}
