// The data path spread over worker processes (config `workers` ≥ 1). The primary keeps
// the one control plane (checks, pool, admin, metrics) and publishes pool snapshots;
// each worker accepts on the shared listening sockets and relays. Connections are
// distributed by the kernel (cluster SCHED_NONE): PERF-NOTES.md measured round-robin
// hand-off through the primary as slower than a single process for short connections.
import cluster, { type Worker } from 'node:cluster'
import { fileURLToPath } from 'node:url'
import type { MetricObjectWithValues, MetricValue } from 'prom-client'
import type { Logger } from 'pino'
import { isRoutable } from '../pool/member-state.js'
import type { MemberView } from '../pool/types.js'
import type { BoundListener, DataPlaneOptions } from './data-plane.js'
import {
  routingView,
  type DataPath,
  type DataPathEvents,
  type LiveDataOptions,
  type PickerSettings,
} from './data-path.js'
import type { RelayStats } from './stats.js'
import { isFromWorker, type FromWorker, type ToWorker } from './worker-protocol.js'

/** The worker process entry point (compiled). */
export const WORKER_ENTRY = fileURLToPath(
  new URL('../cli/worker-main.js', import.meta.url),
)

/** How often merged connection counts go out to workers (least-connections across workers). */
export const LOADS_BROADCAST_MS = 50
/** How long a metrics scrape waits for a worker's answer. */
export const METRICS_TIMEOUT_MS = 2_000
/** Delay before replacing a worker that died on its own. */
export const RESPAWN_DELAY_MS = 500

/** Settings of the worker group. */
export interface ClusterOptions {
  readonly workers: number
  readonly log: Logger
  /**
   * Extra environment for every worker, on top of the primary's (cli/lb.ts puts the
   * glibc malloc settings of malloc-tunables.ts here). Default none.
   */
  readonly env?: Readonly<Record<string, string>>
}

interface WorkerState {
  readonly worker: Worker
  loads: Map<string, number>
  /** The last 'loads' broadcast this worker applied. */
  ackedSeq: number
  /** The last 'pool' snapshot this worker routes with. */
  poolAckedSeq: number
  /** Set by close(): called when the worker says it stopped accepting. */
  stoppedAccepting?: () => void
}

/** Runs the data path in `workers` child processes; see the file comment. */
export class ClusterDataPath implements DataPath {
  #options: DataPlaneOptions
  readonly #cluster: ClusterOptions
  readonly #events: DataPathEvents
  readonly #workers = new Map<number, WorkerState>()
  #latest:
    { seq: number; members: readonly MemberView[]; settings: PickerSettings } | undefined
  #poolSeq = 0
  #failingOpen = false
  #stopping = false
  #loadsTimer: NodeJS.Timeout | undefined
  #nextRequest = 1
  /** When an access-log failure was last logged (epoch ms). */
  #accessLogFailedAt = 0
  #loadsSeq = 0
  readonly #pending = new Map<
    number,
    {
      left: number
      results: MetricObjectWithValues<MetricValue<string>>[][]
      done: () => void
    }
  >()
  readonly #closed = new Map<number, number>()

  constructor(
    options: DataPlaneOptions,
    clusterOptions: ClusterOptions,
    events: DataPathEvents,
  ) {
    this.#options = options
    this.#cluster = clusterOptions
    this.#events = events
    // Kernel distribution: each worker accepts on the shared socket itself.
    cluster.schedulingPolicy = cluster.SCHED_NONE
    cluster.setupPrimary({ exec: WORKER_ENTRY, args: [], silent: false })
  }

  /** Forks the workers; resolves once every one of them is listening. */
  async listen(): Promise<readonly BoundListener[]> {
    const started = await Promise.all(
      Array.from({ length: this.#cluster.workers }, (_, i) => this.#fork(i + 1)),
    )
    const first = started[0]
    if (first === undefined) throw new Error('no workers')
    this.#cluster.log.info({ workers: started.length }, 'data-path workers listening')
    return first
  }

  publish(members: readonly MemberView[], settings: PickerSettings): void {
    const views = members.map(routingView)
    const latest = { seq: ++this.#poolSeq, members: views, settings }
    this.#latest = latest
    const anyUp = members.some(m => isRoutable(m.state))
    this.#failingOpen = !anyUp && settings.allDown === 'fail-open'
    this.#broadcast({ t: 'pool', ...latest })
  }

  setOptions(options: LiveDataOptions): void {
    // Restart-only options (data path, access log) stay for workers forked later.
    this.#options = { ...this.#options, ...options, listeners: this.#options.listeners }
    this.#broadcast({ t: 'options', options })
  }

  load(member: string): number {
    let n = 0
    for (const w of this.#workers.values()) n += w.loads.get(member) ?? 0
    return n
  }

  get activeConnections(): number {
    let n = 0
    for (const w of this.#workers.values()) for (const v of w.loads.values()) n += v
    return n
  }

  /**
   * Whether every worker has applied the latest connection counts (least-connections is
   * exact across workers only then; it converges within LOADS_BROADCAST_MS plus IPC).
   */
  get loadsSynced(): boolean {
    if (this.#loadsTimer !== undefined) return false
    for (const w of this.#workers.values()) if (w.ackedSeq < this.#loadsSeq) return false
    return true
  }

  /** Whether every worker acknowledged the last published pool snapshot. */
  get poolSynced(): boolean {
    for (const w of this.#workers.values())
      if (w.poolAckedSeq < this.#poolSeq) return false
    return true
  }

  get failingOpen(): boolean {
    return this.#failingOpen
  }

  /** Workers export their own data-path metrics (see workerMetrics); nothing here. */
  stats(): readonly RelayStats[] {
    return []
  }

  closeConnectionsTo(member: string): void {
    this.#broadcast({ t: 'close-member', member })
  }

  reopenAccessLog(): void {
    this.#broadcast({ t: 'reopen-log' })
  }

  /** Every worker's metrics as JSON, for AggregatorRegistry.aggregate. */
  async workerMetrics(): Promise<MetricObjectWithValues<MetricValue<string>>[][]> {
    const id = this.#nextRequest++
    const targets = [...this.#workers.values()].filter(w => w.worker.isConnected())
    if (targets.length === 0) return []
    const results: MetricObjectWithValues<MetricValue<string>>[][] = []
    await new Promise<void>(resolve => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        this.#cluster.log.warn(
          { missing: targets.length - results.length },
          'worker metrics timed out',
        )
        resolve()
      }, METRICS_TIMEOUT_MS)
      this.#pending.set(id, {
        left: targets.length,
        results,
        done: () => {
          clearTimeout(timer)
          resolve()
        },
      })
      for (const w of targets) this.#send(w.worker, { t: 'metrics-request', id })
    })
    return results
  }

  /**
   * Tells every worker to stop accepting and drain; calls `stoppedAccepting` once each
   * has closed its listening sockets (or exited); resolves when all have exited.
   */
  async close(
    deadlineMs: number,
    stoppedAccepting?: () => void,
  ): Promise<{ readonly forced: number }> {
    this.#stopping = true
    if (this.#loadsTimer !== undefined) clearTimeout(this.#loadsTimer)
    const states = [...this.#workers.values()]
    const stopped = states.map(
      state =>
        new Promise<void>(resolve => {
          if (state.worker.isDead()) {
            resolve()
            return
          }
          state.stoppedAccepting = resolve
          state.worker.once('exit', () => {
            resolve()
          })
        }),
    )
    void Promise.all(stopped).then(() => stoppedAccepting?.())
    const exits = states.map(
      ({ worker }) =>
        new Promise<void>(resolve => {
          if (worker.isDead()) {
            resolve()
            return
          }
          const kill = setTimeout(() => {
            worker.kill('SIGKILL')
          }, deadlineMs + 5_000)
          worker.once('exit', () => {
            clearTimeout(kill)
            resolve()
          })
          this.#send(worker, { t: 'shutdown', deadlineMs })
        }),
    )
    await Promise.all(exits)
    let forced = 0
    for (const n of this.#closed.values()) forced += n
    return { forced }
  }

  /** Forks the worker for `slot` (1 to N; a replacement takes the slot of the dead one). */
  #fork(slot: number): Promise<readonly BoundListener[]> {
    const worker = cluster.fork({
      ...this.#cluster.env,
      CORRAL_WORKER: '1',
      CORRAL_WORKER_SLOT: String(slot),
    })
    const state: WorkerState = { worker, loads: new Map(), ackedSeq: 0, poolAckedSeq: 0 }
    this.#workers.set(worker.id, state)
    return new Promise((resolve, reject) => {
      let listening = false
      worker.on('message', (message: unknown) => {
        if (!isFromWorker(message)) return
        if (message.t === 'ready') {
          this.#send(worker, { t: 'init', options: this.#options })
          if (this.#latest !== undefined)
            this.#send(worker, { t: 'pool', ...this.#latest })
        } else if (message.t === 'listening') {
          listening = true
          resolve(message.listeners)
        } else if (message.t === 'listen-error') {
          reject(new Error(message.message))
        } else {
          this.#onMessage(state, message)
        }
      })
      worker.on('exit', (code, signal) => {
        this.#workers.delete(worker.id)
        for (const member of state.loads.keys()) this.#memberMaybeIdle(member)
        this.#scheduleLoads()
        if (!listening) {
          reject(new Error(`worker ${worker.id} exited before listening (code ${code})`))
          return
        }
        if (this.#stopping) return
        this.#cluster.log.error(
          { worker: worker.id, code, signal },
          'data-path worker died: replacing it',
        )
        setTimeout(() => {
          if (this.#stopping) return
          this.#fork(slot).then(
            () => {
              this.#cluster.log.info(
                { workers: this.#workers.size },
                'data-path worker replaced',
              )
            },
            (err: unknown) => {
              this.#cluster.log.error({ err }, 'cannot replace data-path worker')
            },
          )
        }, RESPAWN_DELAY_MS).unref()
      })
    })
  }

  #onMessage(state: WorkerState, message: FromWorker): void {
    switch (message.t) {
      case 'passive':
        this.#events.passiveFailure(message.member, message.result)
        break
      case 'load':
        for (const [member, n] of Object.entries(message.loads)) {
          state.loads.set(member, n)
          if (n === 0) this.#memberMaybeIdle(member)
        }
        this.#scheduleLoads()
        break
      case 'metrics': {
        const pending = this.#pending.get(message.id)
        if (pending === undefined) break
        pending.results.push([...message.metrics])
        if (--pending.left === 0) {
          this.#pending.delete(message.id)
          pending.done()
        }
        break
      }
      case 'stopped-accepting':
        state.stoppedAccepting?.()
        break
      case 'closed':
        this.#closed.set(state.worker.id, message.forced)
        break
      case 'loads-ack':
        state.ackedSeq = Math.max(state.ackedSeq, message.seq)
        break
      case 'pool-ack':
        state.poolAckedSeq = Math.max(state.poolAckedSeq, message.seq)
        break
      case 'access-log-failed':
        // Workers retry every 50 ms while the destination fails: one line a minute.
        if (Date.now() - this.#accessLogFailedAt >= 60_000) {
          this.#accessLogFailedAt = Date.now()
          this.#cluster.log.error(
            { error: message.message, destination: this.#options.accessLog?.destination },
            'access log destination failed: lines wait in memory, then are dropped',
          )
        }
        break
      case 'ready':
      case 'listening':
      case 'listen-error':
        break
      default: {
        const unknown: never = message
        this.#cluster.log.warn({ message: unknown }, 'unexpected worker message')
      }
    }
  }

  #memberMaybeIdle(member: string): void {
    if (this.load(member) === 0) this.#events.memberIdle(member)
  }

  #scheduleLoads(): void {
    if (this.#loadsTimer !== undefined || this.#stopping) return
    this.#loadsTimer = setTimeout(() => {
      this.#loadsTimer = undefined
      const loads: Record<string, Record<string, number>> = {}
      for (const [id, w] of this.#workers) loads[String(id)] = Object.fromEntries(w.loads)
      this.#broadcast({ t: 'loads', seq: ++this.#loadsSeq, loads })
    }, LOADS_BROADCAST_MS)
    this.#loadsTimer.unref()
  }

  #broadcast(message: ToWorker): void {
    for (const { worker } of this.#workers.values()) this.#send(worker, message)
  }

  #send(worker: Worker, message: ToWorker): void {
    if (!worker.isConnected()) return
    worker.send(message, (err: Error | null) => {
      if (err !== null && !this.#stopping) {
        this.#cluster.log.warn(
          { worker: worker.id, err },
          'cannot reach data-path worker',
        )
      }
    })
  }
}
