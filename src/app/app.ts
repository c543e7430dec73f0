// Composition root: one corral load balancer assembled from a Config. Each wiring
// concern has its own file in this folder (pool, data path, health, routing,
// coordination, discovery, metrics, admin, reload, shutdown); App builds them in
// dependency order, hands each the others it reports to, and owns the lifecycle.
// The decisions live in pool/ (pure) and the shells in their folders.
import type { Logger } from 'pino'
import { Registry } from 'prom-client'
import type { AdminServer } from '../admin/server.js'
import type { Clock } from '../clock.js'
import type { Config } from '../config/types.js'
import type { Coordinator } from '../coordination/coordinator.js'
import { createCoordinationMetrics } from '../metrics/coordination.js'
import { createMetrics, type Metrics } from '../metrics/registry.js'
import { RelayStatsExporter } from '../metrics/relay-export.js'
import type { Pool } from '../pool/pool.js'
import type { BoundListener } from '../proxy/data-plane.js'
import type { RelayStats } from '../proxy/stats.js'
import { memberSource } from '../admin/pool-document.js'
import { adminApi, startAdmin } from './admin.js'
import { createCoordination } from './coordination.js'
import { createDataPath } from './data-path.js'
import { Discovery } from './discovery.js'
import { createChecker, resultHandler } from './health.js'
import { memberOperations, type MemberOperations } from './member-operations.js'
import { collectMetrics, metricsText, type ScrapeSources } from './metrics.js'
import { createPool } from './pool.js'
import { memberJson, poolJson, type PoolApiSources } from './pool-api.js'
import {
  applyReload,
  recordFailedReload,
  type ReloadOutcome,
  type ReloadTarget,
} from './reload.js'
import { Routing } from './routing.js'
import { shutdown, type ShutdownParts } from './shutdown.js'

/** What the app needs from outside: a logger, a clock, a version string. */
export interface AppDeps {
  readonly log: Logger
  readonly clock: Clock
  readonly version: string
  /** Wall-clock ms, for timestamps in the API (default Date.now). */
  readonly wallNow?: () => number
  /**
   * Per-connection histograms (connect and connection duration); default true. Only the
   * benchmark turns them off, to measure what metrics cost the data path.
   */
  readonly dataPathHistograms?: boolean
  /** Extra environment for data-path worker processes (`workers` ≥ 1); default none. */
  readonly workerEnv?: Readonly<Record<string, string>>
}

/** Where the app ended up listening. */
export interface AppAddresses {
  readonly listeners: readonly BoundListener[]
  readonly adminPort: number
}

/** Every part of one app, in the shape each wiring file takes (structurally). */
type Parts = ScrapeSources & PoolApiSources & ReloadTarget & ShutdownParts

/** One corral load balancer: pool, health checker, data plane, admin API, metrics. */
export class App {
  #config: Config
  readonly #log: Logger
  readonly register = new Registry()
  readonly metrics: Metrics
  readonly pool: Pool
  /** Every member write goes through it: over Redis, or the embedded memory store. */
  readonly coordinator: Coordinator
  readonly #parts: Parts
  readonly #operations: MemberOperations
  #admin: AdminServer | undefined
  #listening = false
  #closing: Promise<{ forced: number }> | undefined

  constructor(config: Config, deps: AppDeps) {
    this.#config = config
    const { log, clock } = deps
    this.#log = log
    const metrics = createMetrics(this.register, { version: deps.version })
    this.metrics = metrics
    metrics.coordinationStoreUp.set(1)
    const coordinationMetrics = createCoordinationMetrics(this.register)
    const configNow = (): Config => this.#config
    // Callbacks below reach parts built after them through `this.#parts`: none of them
    // runs before the constructor returns.
    const pool = createPool(config, clock.now(), {
      log,
      metrics,
      config: configNow,
      closeConnectionsTo: id => {
        this.#parts.dataPath.closeConnectionsTo(id)
      },
    })
    this.pool = pool
    const onResult = resultHandler({
      pool,
      metrics,
      log,
      clock,
      observed: (member, health, reason) => {
        this.coordinator.observed(member, health, reason)
      },
      checker: () => this.#parts.checker,
      publish: () => {
        this.#parts.routing.publish()
      },
    })
    const { dataPath, choice } = createDataPath(config, {
      log,
      clock,
      metrics,
      histograms: deps.dataPathHistograms !== false,
      workerEnv: deps.workerEnv ?? {},
      passiveFailure: (member, result) => {
        onResult(member, result, 'passive')
      },
      memberIdle: member => {
        this.#parts.routing.removeIfIdle(member)
      },
    })
    const checker = createChecker(config, { clock, log }, onResult)
    const routing = new Routing({
      pool,
      dataPath,
      checker,
      clock,
      log,
      config: configNow,
    })
    routing.publish(true)
    checker.setMembers(pool.views())
    const { coordinator, fencing, shared } = createCoordination(config, {
      version: deps.version,
      pool,
      clock,
      log,
      ...(deps.wallNow !== undefined ? { wallNow: deps.wallNow } : {}),
      metrics,
      coordinationMetrics,
      poolChanged: () => {
        routing.membershipChanged(false)
      },
      setProbeKind: (member, kind) => {
        checker.setProbeKind(member, kind)
      },
      load: member => dataPath.load(member),
    })
    this.coordinator = coordinator
    this.#operations = memberOperations({
      pool,
      log,
      coordinator,
      drainBudget: config.coordination.drainBudget,
      membershipChanged: created => {
        routing.membershipChanged(created)
      },
      memberJson: v => memberJson(this.#parts, v),
    })
    const wallNow = deps.wallNow ?? Date.now
    const discovery = new Discovery(config, {
      register: this.register,
      log,
      clock,
      wallNow,
      views: () => pool.views(),
      sourceOf: v => memberSource(v, new Set(this.#config.members.map(m => m.id))),
      writes: this.#operations,
    })
    this.#parts = {
      pool,
      clock,
      log,
      wallNow,
      metrics,
      coordinationMetrics,
      relayExporter: new RelayStatsExporter(metrics),
      dataPath,
      dataPathChoice: choice,
      checker,
      routing,
      coordinator,
      fencing,
      shared,
      discovery,
      config: configNow,
      admin: () => this.#admin,
    }
    metrics.addCollectHook(() => {
      collectMetrics(this.#parts)
    })
    routing.warnIfEven()
  }

  /** The config in force. */
  get config(): Config {
    return this.#config
  }

  /** Binds listeners and the admin API, then starts checking. */
  async start(): Promise<AppAddresses> {
    const p = this.#parts
    // Join the shared pool first, so the listeners open on the shared membership (and a
    // warm start's verdicts) rather than on the config file's.
    await this.coordinator.start()
    const listeners = await p.dataPath.listen()
    this.#listening = true
    const api = adminApi({
      pool: this.pool,
      fencing: p.fencing,
      listening: () => this.#listening,
      poolJson: () => poolJson(p),
      operations: this.#operations,
      metrics: () => metricsText(this.register, p.dataPath),
    })
    const { admin, port: adminPort } = await startAdmin(this.#config, api, {
      register: this.register,
      log: this.#log,
    })
    this.#admin = admin
    p.checker.start()
    p.discovery.start()
    for (const l of listeners)
      this.#log.info({ listener: l.name, address: `${l.host}:${l.port}` }, 'listening')
    this.#log.info(
      { address: `${this.#config.admin.host}:${adminPort}` },
      'admin api listening',
    )
    return { listeners, adminPort }
  }

  /**
   * Applies a new config without dropping open connections: members, health settings,
   * balancing, timeouts and limits live; listener/admin/workers changes are reported as
   * needing a restart and otherwise ignored (reload.ts).
   */
  reload(next: Config): ReloadOutcome {
    const { config, outcome } = applyReload(this.#config, next, this.#parts)
    this.#config = config
    return outcome
  }

  /** Counts a reload that failed validation (the old config stays). */
  reloadFailed(): void {
    recordFailedReload(this.#parts)
  }

  /** Reopens the access log's file in every data-path process (SIGHUP, SIGUSR1). */
  reopenAccessLog(): void {
    this.#parts.dataPath.reopenAccessLog()
  }

  /**
   * SIGTERM: stop accepting, let connections finish up to timeouts.shutdown, stop checks
   * (shutdown.ts). `stoppedAccepting` runs once no process accepts new connections
   * (first call only).
   */
  close(stoppedAccepting?: () => void): Promise<{ forced: number }> {
    this.#closing ??= (() => {
      this.#listening = false
      return shutdown(this.#parts, this.#config.timeouts.shutdownMs, stoppedAccepting)
    })()
    return this.#closing
  }

  /** Per-(listener, member) data-path counters (tests and the admin API). */
  stats(): readonly RelayStats[] {
    return this.#parts.dataPath.stats()
  }
}
