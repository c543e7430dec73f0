// Composition root: builds every object from a Config and wires events to logs and
// metrics. The decisions live in pool/ (pure); this file only connects the shells.
import type { Logger } from 'pino'
import { accessLogEvents } from './access-log/events.js'
import { Registry } from 'prom-client'
import type { Clock } from './clock.js'
import { diffConfig } from './config/diff.js'
import type { Config } from './config/types.js'
import { hostname } from 'node:os'
import {
  coordinationDocument,
  memberDocument,
  memberSource,
  poolSummary,
} from './admin/pool-document.js'
import { AdminServer, type AdminApi } from './admin/server.js'
import {
  adminSecurity,
  announceAdminSecurity,
  reloadAdminCertificates,
} from './app-admin-tls.js'
import { renderStatusPage } from './admin/status-page.js'
import { memberOperations, type ControlPlane } from './app-admin.js'
import { Discovery } from './app-discovery.js'
import { Coordinator } from './coordination/coordinator.js'
import { fencingFor, recordDrains } from './app-fencing.js'
import { QuorumLog } from './app-quorum.js'
import type { FencingMonitor } from './coordination/fencing-monitor.js'
import { RedisStore } from './coordination/redis-store.js'
import { HealthChecker, type ProbeKind } from './health/checker.js'
import {
  createCoordinationMetrics,
  recordStoreFault,
  type CoordinationMetrics,
} from './metrics/coordination.js'
import { recordMemberState, recordPool } from './metrics/control-plane-families.js'
import { createMetrics, forgetMember, type Metrics } from './metrics/registry.js'
import { mergeProcessMetrics } from './metrics/merge.js'
import { RelayStatsExporter } from './metrics/relay-export.js'
import { Pool, type PoolOptions } from './pool/pool.js'
import {
  type CheckResult,
  type MemberChange,
  type MemberEndpoint,
  type MemberState,
  type MemberView,
} from './pool/types.js'
import type { BoundListener } from './proxy/data-plane.js'
import {
  LocalDataPath,
  type DataPath,
  type DataPathEvents,
  type PickerSettings,
} from './proxy/data-path.js'
import { ClusterDataPath } from './proxy/workers.js'
import { chooseDataPath, type DataPathChoice } from './proxy/native-loader.js'
import type { RelayStats } from './proxy/stats.js'

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

/** The outcome of a config reload. */
export interface ReloadOutcome {
  readonly applied: boolean
  readonly warnings: readonly string[]
}

function poolOptions(config: Config): PoolOptions {
  return {
    thresholds: { rise: config.health.rise, fall: config.health.fall },
    initialHealth: config.health.initialState,
    // Shared facts only exist with a shared store; alone, the own verdict is the verdict.
    policy: config.redis !== undefined ? config.coordination.policy : 'local',
  }
}

/** This instance's id in a shared pool: configured, or hostname-pid. */
function instanceIdOf(config: Config): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9._:-]/g, '-')
      .slice(0, 40) || 'corral'
  return config.coordination.instanceId ?? `${host}-${process.pid}`
}

function endpointOf(m: MemberEndpoint): MemberEndpoint {
  return {
    id: m.id,
    address: m.address,
    ports: m.ports,
    weight: m.weight,
    source: 'config',
  }
}

/** Maps a probe result onto the health-check metric's result label. */
function checkResultLabel(r: CheckResult): 'success' | 'failure' | 'timeout' | 'error' {
  if (r.ok) return 'success'
  if (r.reason === 'timeout') return 'timeout'
  if (r.reason === 'bad-status') return 'failure'
  return 'error'
}

/** One corral load balancer: pool, health checker, data plane, admin API, metrics. */
export class App {
  #config: Config
  readonly #deps: AppDeps
  readonly #log: Logger
  readonly #clock: Clock
  readonly register = new Registry()
  readonly metrics: Metrics
  readonly pool: Pool
  readonly #checker: HealthChecker
  readonly #dataPath: DataPath
  #admin: AdminServer | undefined
  #pickerVersion = -1
  #listening = false
  #closing: Promise<{ forced: number }> | undefined
  readonly #relayExporter: RelayStatsExporter
  readonly #dataPathChoice: DataPathChoice
  /** Shares the pool through Redis; undefined when the pool lives in memory. */
  readonly coordinator: Coordinator | undefined
  readonly #coordinationMetrics: CoordinationMetrics
  /** Self-fencing (issue #11); undefined without a shared store. */
  readonly #fencing: FencingMonitor | undefined
  /** Members from DNS (issue #21): one source per `discovery:` entry. */
  readonly #discovery: Discovery

  constructor(config: Config, deps: AppDeps) {
    this.#config = config
    this.#deps = deps
    this.#log = deps.log
    this.#clock = deps.clock
    this.metrics = createMetrics(this.register, { version: deps.version })
    this.metrics.coordinationStoreUp.set(1)
    this.#coordinationMetrics = createCoordinationMetrics(this.register)
    this.#relayExporter = new RelayStatsExporter(this.metrics)
    this.pool = new Pool(poolOptions(config))
    this.pool.onChange(change => {
      this.#onMemberChange(change)
    })
    const now = this.#clock.now()
    for (const m of config.members) this.pool.upsert(endpointOf(m), now)
    const quorumLog = new QuorumLog(this.#log)
    quorumLog.update(this.pool.counts())
    this.pool.onCountsChanged(counts => {
      quorumLog.update(counts)
    })
    const events: Mutable<DataPathEvents> = {
      passiveFailure: (member, result) => {
        this.#onResult(member, result, 'passive')
      },
      memberIdle: member => {
        this.#removeIfIdle(member)
      },
      connectDuration: (member, seconds) => {
        this.metrics.connectDuration.observe({ member }, seconds)
      },
      connectionDuration: (listener, seconds) => {
        this.metrics.connectionDuration.observe({ listener }, seconds)
      },
    }
    if (deps.dataPathHistograms === false) {
      events.connectDuration = noop
      events.connectionDuration = noop
    }
    // Resolved once here; workers load the same addon (and fall back to JS on their own
    // if it fails there, which only a broken install could cause).
    const choice = chooseDataPath(config.dataPath)
    this.#dataPathChoice = choice
    this.metrics.dataPathInfo.set({ path: choice.path }, 1)
    if (choice.path === 'native') this.#log.info({ dataPath: 'native' }, 'data path')
    else if (config.dataPath === 'js') this.#log.info({ dataPath: 'js' }, 'data path')
    else
      this.#log.warn(
        { dataPath: 'js', reason: choice.reason },
        'native data path unavailable',
      )
    const dataOptions = {
      dataPath: choice.path,
      listeners: config.listeners,
      connectTimeoutMs: config.timeouts.connectMs,
      idleTimeoutMs: config.timeouts.idleMs,
      connectAttempts: config.limits.connectAttempts,
      maxConnections: config.limits.maxConnections,
      accessLog: config.accessLog,
    }
    events.accessLog = accessLogEvents(this.metrics, this.#log)
    this.#dataPath =
      config.workers > 0
        ? new ClusterDataPath(
            dataOptions,
            { workers: config.workers, log: this.#log, env: deps.workerEnv ?? {} },
            events,
          )
        : new LocalDataPath(dataOptions, this.#clock, events)
    this.#dataPath.publish(this.pool.views(), this.#pickerSettings())
    this.#pickerVersion = this.pool.version
    this.#checker = new HealthChecker(
      { health: config.health, listeners: config.listeners },
      {
        clock: this.#clock,
        onResult: (member, result, kind) => {
          this.#onResult(member, result, kind)
        },
        log: this.#log,
      },
    )
    this.#checker.setMembers(this.pool.views())
    this.coordinator =
      config.redis === undefined ? undefined : this.#coordinatorFor(config)
    this.#fencing = fencingFor(
      this.coordinator,
      this.pool,
      this.#log,
      this.#coordinationMetrics,
    )
    this.#discovery = new Discovery(config, {
      register: this.register,
      log: this.#log,
      clock: this.#clock,
      wallNow: this.#deps.wallNow ?? Date.now,
      views: () => this.pool.views(),
      sourceOf: v => this.#sourceOf(v),
      writes: memberOperations(this.#controlPlane()),
    })
    this.metrics.addCollectHook(() => {
      this.#collect()
    })
    this.#warnIfEven()
  }

  #sourceOf(v: MemberView): ReturnType<typeof memberSource> {
    return memberSource(v, new Set(this.#config.members.map(m => m.id)))
  }

  #coordinatorFor(config: Config): Coordinator | undefined {
    if (config.redis === undefined) return undefined
    const cm = this.#coordinationMetrics
    cm.info.reset()
    cm.info.set({ store: 'redis' }, 1)
    this.metrics.coordinationStoreUp.set(0)
    return new Coordinator(
      {
        instanceId: instanceIdOf(config),
        version: this.#deps.version,
        host: hostname(),
        coordination: config.coordination,
        seed: config.members,
      },
      {
        store: new RedisStore(config.redis),
        pool: this.pool,
        clock: this.#clock,
        log: this.#log.child({ component: 'coordination' }),
        ...(this.#deps.wallNow !== undefined ? { wallNow: this.#deps.wallNow } : {}),
        hooks: {
          poolChanged: () => {
            this.#membershipChanged(false)
          },
          setProbeKind: (member: string, kind: ProbeKind) => {
            this.#checker.setProbeKind(member, kind)
          },
          load: member => this.#dataPath.load(member),
          fenced: () => this.#fencing?.check().fenced ?? false,
          invalid: entry => {
            cm.invalidEntries.inc({ kind: entry.kind })
          },
          repaired: (kind, count) => {
            cm.repairs.inc({ kind }, count)
          },
          storeStatus: connected => {
            this.metrics.coordinationStoreUp.set(connected ? 1 : 0)
          },
          synced: ok => {
            cm.syncs.inc({ result: ok ? 'success' : 'failure' })
          },
        },
      },
    )
  }

  /** The config in force. */
  get config(): Config {
    return this.#config
  }

  /** Binds listeners and the admin API, then starts checking. */
  async start(): Promise<AppAddresses> {
    // Join the shared pool first, so the listeners open on the shared membership (and a
    // warm start's verdicts) rather than on the config file's.
    await this.coordinator?.start()
    const listeners = await this.#dataPath.listen()
    this.#listening = true
    const admin = new AdminServer(
      {
        host: this.#config.admin.host,
        port: this.#config.admin.port,
        ...adminSecurity(this.#config.admin),
        listenerNames: this.#config.listeners.map(l => l.name),
      },
      this.#adminApi(),
      (err, req) => {
        this.#log.error({ err, method: req.method, url: req.url }, 'admin request failed')
      },
    )
    this.#admin = admin
    announceAdminSecurity(admin, this.#config.admin, this.register, this.#log)
    const adminPort = await admin.listen()
    this.#checker.start()
    this.#discovery.start()
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
   * needing a restart and otherwise ignored.
   */
  reload(next: Config): ReloadOutcome {
    reloadAdminCertificates(this.#admin, this.#log)
    const plan = diffConfig(this.#config, next)
    const now = this.#clock.now()
    const old = this.#config
    // Restart-only keys keep their running values, so the next reload still warns and
    // member ports keep resolving against the listeners actually bound.
    this.#config = {
      ...next,
      listeners: old.listeners,
      admin: old.admin,
      workers: old.workers,
    }
    if (plan.healthChanged) {
      this.pool.setOptions(poolOptions(next), now)
      this.#checker.updateHealthConfig(next.health)
    }
    if (this.coordinator === undefined) {
      for (const m of [...plan.membersAdded, ...plan.membersChanged])
        this.pool.upsert(endpointOf(m), now)
      for (const id of plan.membersRemoved) {
        this.pool.requestRemoval(id, now)
        this.#removeIfIdle(id)
      }
    } else {
      void this.#reloadShared(plan.membersAdded, plan.membersChanged, plan.membersRemoved)
    }
    this.#dataPath.setOptions({
      connectTimeoutMs: next.timeouts.connectMs,
      idleTimeoutMs: next.timeouts.idleMs,
      connectAttempts: next.limits.connectAttempts,
      maxConnections: next.limits.maxConnections,
    })
    this.#checker.setMembers(this.pool.views())
    this.#publish(true)
    for (const w of plan.warnings) this.#log.warn({}, w)
    this.metrics.configReloads.inc({ result: 'success' })
    this.#log.info(
      {
        added: plan.membersAdded.map(m => m.id),
        removed: plan.membersRemoved,
        changed: plan.membersChanged.map(m => m.id),
        healthChanged: plan.healthChanged,
      },
      'config reloaded',
    )
    this.#warnIfEven()
    return { applied: true, warnings: plan.warnings }
  }

  /**
   * With a shared pool a reload's member edits are the operator's intent, applied to the
   * shared pool like admin API calls (docs/coordination.md). If the store is unreachable
   * they are not applied anywhere, and the log says so: send SIGHUP again once it is back.
   */
  async #reloadShared(
    added: readonly MemberEndpoint[],
    changed: readonly MemberEndpoint[],
    removed: readonly string[],
  ): Promise<void> {
    const c = this.coordinator
    if (c === undefined) return
    try {
      for (const m of [...added, ...changed])
        await c.upsert(endpointOf(m), 'config reload')
      for (const id of removed) await c.remove(id)
      this.#membershipChanged(added.length > 0)
    } catch (err) {
      this.#log.error(
        { err, added: added.map(m => m.id), removed },
        'config reload could not update the shared pool (store unreachable?): member changes not applied; send SIGHUP again once it answers',
      )
    }
  }

  /** Reopens the access log's file in every data-path process (SIGHUP, SIGUSR1). */
  reopenAccessLog(): void {
    this.#dataPath.reopenAccessLog()
  }

  /** Counts a reload that failed validation (the old config stays). */
  reloadFailed(): void {
    reloadAdminCertificates(this.#admin, this.#log)
    this.metrics.configReloads.inc({ result: 'failure' })
  }

  /**
   * SIGTERM: stop accepting, let connections finish up to timeouts.shutdown, stop checks.
   * `stoppedAccepting` runs once no process accepts new connections (first call only).
   */
  close(stoppedAccepting?: () => void): Promise<{ forced: number }> {
    this.#closing ??= (async () => {
      this.#listening = false
      await this.#discovery.close()
      const closing = this.#dataPath.close(
        this.#config.timeouts.shutdownMs,
        stoppedAccepting,
      )
      await this.#checker.close()
      const result = await closing
      await this.coordinator?.close()
      await this.#admin?.close()
      return result
    })()
    return this.#closing
  }

  /** Per-(listener, member) data-path counters (tests and the admin API). */
  stats(): readonly RelayStats[] {
    return this.#dataPath.stats()
  }

  #pickerSettings(): PickerSettings {
    const c = this.#config
    return {
      balance: c.balance,
      allDown: c.allDown,
      slowStartMs: c.slowStartMs,
      maxConnectionsPerMember: c.limits.maxConnectionsPerMember,
    }
  }

  /** Republishes the picker if routing-relevant pool state changed (or `force`). */
  #publish(force = false): void {
    if (!force && this.pool.version === this.#pickerVersion) return
    this.#pickerVersion = this.pool.version
    this.#dataPath.publish(this.pool.views(), this.#pickerSettings())
  }

  #onResult(member: string, result: CheckResult, source: ProbeKind | 'passive'): void {
    if (source !== 'passive') {
      if (!result.ok)
        this.#log.debug(
          { member, reason: result.reason, detail: result.detail },
          'check failed',
        )
      this.metrics.healthChecks.inc({ member, result: checkResultLabel(result) })
      if (result.latencyMs !== undefined) {
        this.metrics.healthCheckDuration.observe({ member }, result.latencyMs / 1000)
      }
    }
    const step = this.pool.observe(member, result, this.#clock.now())
    if (step === undefined) return
    // Deduplicated inside: only a changed verdict (or probe kind) reaches the store.
    this.coordinator?.observed(member, step.health.health, step.health.reason)
    this.#checker.setIntervalHint(
      member,
      this.pool.isPending(member)
        ? 'pending'
        : step.health.health === 'down'
          ? 'down'
          : 'steady',
    )
    if (step.change === 'pending' && source === 'passive') {
      this.#log.warn({ member, reason: describe(result) }, 'member connect failed')
    }
    this.#publish()
  }

  #onMemberChange(change: MemberChange): void {
    const { id, from, to, reason } = change
    const level = to === 'down' && from !== 'absent' ? 'warn' : 'info'
    this.#log[level]({ member: id, from, to, reason }, 'member state changed')
    if (from !== 'absent' && to !== 'absent') {
      this.metrics.transitions.inc({ member: id, from, to })
    }
    if (to === 'absent') forgetMember(this.metrics, id)
    else recordMemberState(this.metrics, id, to)
    if (
      to === 'down' &&
      from === 'up' &&
      this.#config.health.onMarkedDown === 'close-connections'
    ) {
      this.#dataPath.closeConnectionsTo(id)
      this.#log.warn({ member: id }, 'closing the connections of a member marked down')
    }
  }

  #removeIfIdle(id: string): void {
    const view = this.pool.get(id)
    if (view?.removing === true && this.#dataPath.load(id) === 0) {
      this.pool.remove(id, this.#clock.now(), 'removed after draining')
      this.#checker.setMembers(this.pool.views())
      this.#publish()
      this.#warnIfEven()
    }
  }

  #warnIfEven(): void {
    const n = this.pool.views().length
    if (n > 0 && n % 2 === 0) {
      this.#log.warn(
        { size: n, failuresTolerated: Math.floor((n - 1) / 2) },
        `pool has an even number of members (${n}): it tolerates no more failures than ${n - 1} would`,
      )
    }
  }

  /** Refreshes gauges and moves data-path counters into prom-client at scrape time. */
  #collect(): void {
    const now = this.#clock.now()
    const counts: Record<MemberState, number> = {
      up: 0,
      down: 0,
      draining: 0,
      disabled: 0,
    }
    let live = 0
    for (const v of this.pool.views()) {
      counts[v.state]++
      if (v.health === 'up') live++
      this.metrics.memberDownSeconds.set(
        { member: v.id },
        v.state === 'up' ? 0 : Math.max(0, (now - v.stateSince) / 1000),
      )
    }
    recordPool(this.metrics, counts, live)
    const status = this.coordinator?.status()
    this.#coordinationMetrics.instances.set(status?.instances.length ?? 1)
    recordStoreFault(this.#coordinationMetrics, status?.fault)
    recordDrains(this.#coordinationMetrics, status, this.#fencing, this.coordinator)
    this.#coordinationMetrics.probedMembers.set(
      status?.probing ?? this.pool.views().length,
    )
    this.#relayExporter.export(this.#dataPath.stats())
    this.#discovery.collect()
  }

  #memberJson(v: MemberView): Record<string, unknown> {
    return memberDocument(v, this.#documentContext())
  }

  #documentContext(): Parameters<typeof memberDocument>[1] {
    const c = this.coordinator
    return {
      now: this.#clock.now(),
      wallNow: (this.#deps.wallNow ?? Date.now)(),
      listeners: this.#config.listeners,
      configIds: new Set(this.#config.members.map(m => m.id)),
      load: member => this.#dataPath.load(member),
      ...(c !== undefined
        ? {
            shared: (member: string) => {
              const peers: Record<string, string> = {}
              for (const [id, obs] of c.observations()) {
                const o = obs.get(member)
                if (o !== undefined) peers[id] = `${o.health} (${o.probe})`
              }
              return { peers }
            },
          }
        : {}),
    }
  }

  #poolJson(): Record<string, unknown> {
    const views = this.pool.views()
    const ctx = this.#documentContext()
    return {
      summary: {
        ...poolSummary(views),
        failingOpen: this.#dataPath.failingOpen,
        balance: this.#config.balance,
        activeConnections: this.#dataPath.activeConnections,
        workers: this.#config.workers,
        loadsSynced: this.#dataPath.loadsSynced,
        dataPath: this.#dataPathChoice.path,
        dataPathReason: this.#dataPathChoice.reason,
        poolSynced: this.#dataPath.poolSynced,
        coordination: coordinationDocument(
          this.coordinator?.status(),
          this.#fencing?.check(),
          this.coordinator?.drainBudget(),
        ),
      },
      members: views.map(v => memberDocument(v, ctx)),
      discovery: this.#discovery.document(),
    }
  }

  /** Membership or shared verdicts changed: checker, picker, finished removals. */
  #membershipChanged(created: boolean): void {
    const views = this.pool.views()
    this.#checker.setMembers(views)
    this.#publish()
    for (const v of views) if (v.removing) this.#removeIfIdle(v.id)
    if (created) this.#warnIfEven()
  }

  /** The exposition: this process's registry, plus the workers' merged in (merge.ts). */
  async #metricsText(): Promise<{ contentType: string; body: string }> {
    const contentType = this.register.contentType
    const workers = (await this.#dataPath.workerMetrics?.()) ?? []
    if (workers.length === 0) return { contentType, body: await this.register.metrics() }
    const own = await this.register.getMetricsAsJSON()
    const merged = mergeProcessMetrics(own, workers)
    return { contentType, body: await merged.metrics() }
  }

  /** What member mutations need (the admin API and DNS discovery share them). */
  #controlPlane(): ControlPlane {
    return {
      pool: this.pool,
      log: this.#log,
      coordinator: this.coordinator,
      drainBudget: this.#config.coordination.drainBudget,
      now: () => this.#clock.now(),
      membershipChanged: created => {
        this.#membershipChanged(created)
      },
      memberJson: v => this.#memberJson(v),
    }
  }

  #adminApi(): AdminApi {
    return {
      pool: () => this.#poolJson(),
      ready: () => {
        if (!this.#listening) return { ready: false, reason: 'not listening' }
        const fence = this.#fencing?.check()
        if (fence?.fenced === true) return { ready: false, reason: fence.reason }
        const up = this.pool.views().filter(v => v.state === 'up').length
        return up > 0
          ? { ready: true, reason: `${up} member(s) up` }
          : { ready: false, reason: 'no member is up' }
      },
      ...memberOperations(this.#controlPlane()),
      metrics: async () => this.#metricsText(),
      statusPage: () => renderStatusPage(),
    }
  }
}

function describe(r: CheckResult): string {
  return r.ok ? 'ok' : `${r.reason}: ${r.detail}`
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

function noop(): void {
  // Histograms switched off (benchmark only).
}
