// Composition root: builds every object from a Config and wires events to logs and
// metrics. The decisions live in pool/ (pure); this file only connects the shells.
import type { Logger } from 'pino'
import { AggregatorRegistry, Registry } from 'prom-client'
import type { Clock } from './clock.js'
import { diffConfig } from './config/diff.js'
import type { Config } from './config/load.js'
import { AdminServer, type AdminApi, type MemberOpResult } from './admin/server.js'
import { renderStatusPage } from './admin/status-page.js'
import { HealthChecker } from './health/checker.js'
import { memberPort } from './health/target.js'
import {
  createMetrics,
  forgetMember,
  recordMemberState,
  recordPool,
  type Metrics,
} from './metrics/registry.js'
import { failuresTolerated, hasQuorum } from './metrics/quorum.js'
import { RelayStatsExporter } from './metrics/relay-export.js'
import { Pool, type PoolOptions } from './pool/pool.js'
import {
  MEMBER_STATES,
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
  }
}

function endpointOf(m: MemberEndpoint): MemberEndpoint {
  return { id: m.id, address: m.address, ports: m.ports, weight: m.weight }
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

  constructor(config: Config, deps: AppDeps) {
    this.#config = config
    this.#deps = deps
    this.#log = deps.log
    this.#clock = deps.clock
    this.metrics = createMetrics(this.register, { version: deps.version })
    this.metrics.coordinationStoreUp.set(1)
    this.#relayExporter = new RelayStatsExporter(this.metrics)
    this.pool = new Pool(poolOptions(config))
    this.pool.onChange(change => {
      this.#onMemberChange(change)
    })
    const now = this.#clock.now()
    for (const m of config.members) this.pool.upsert(endpointOf(m), now)
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
    }
    this.#dataPath =
      config.workers > 0
        ? new ClusterDataPath(
            dataOptions,
            { workers: config.workers, log: this.#log },
            events,
          )
        : new LocalDataPath(dataOptions, this.#clock, events)
    this.#dataPath.publish(this.pool.views(), this.#pickerSettings())
    this.#pickerVersion = this.pool.version
    this.#checker = new HealthChecker(
      { health: config.health, listeners: config.listeners },
      {
        clock: this.#clock,
        onResult: (member, result) => {
          this.#onResult(member, result, 'probe')
        },
        log: this.#log,
      },
    )
    this.#checker.setMembers(this.pool.views())
    this.metrics.addCollectHook(() => {
      this.#collect()
    })
    this.#warnIfEven()
  }

  /** The config in force. */
  get config(): Config {
    return this.#config
  }

  /** Binds listeners and the admin API, then starts checking. */
  async start(): Promise<AppAddresses> {
    const listeners = await this.#dataPath.listen()
    this.#listening = true
    const admin = new AdminServer(
      {
        host: this.#config.admin.host,
        port: this.#config.admin.port,
        ...(this.#config.admin.token !== undefined
          ? { token: this.#config.admin.token }
          : {}),
        listenerNames: this.#config.listeners.map(l => l.name),
      },
      this.#adminApi(),
      (err, req) => {
        this.#log.error({ err, method: req.method, url: req.url }, 'admin request failed')
      },
    )
    this.#admin = admin
    const adminPort = await admin.listen()
    this.#checker.start()
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
    for (const m of [...plan.membersAdded, ...plan.membersChanged])
      this.pool.upsert(endpointOf(m), now)
    for (const id of plan.membersRemoved) {
      this.pool.requestRemoval(id, now)
      this.#removeIfIdle(id)
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

  /** Counts a reload that failed validation (the old config stays). */
  reloadFailed(): void {
    this.metrics.configReloads.inc({ result: 'failure' })
  }

  /** SIGTERM: stop accepting, let connections finish up to timeouts.shutdown, stop checks. */
  close(): Promise<{ forced: number }> {
    this.#closing ??= (async () => {
      this.#listening = false
      const closing = this.#dataPath.close(this.#config.timeouts.shutdownMs)
      await this.#checker.close()
      const result = await closing
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

  #onResult(member: string, result: CheckResult, source: 'probe' | 'passive'): void {
    if (source === 'probe') {
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
    for (const v of this.pool.views()) {
      counts[v.state]++
      this.metrics.memberDownSeconds.set(
        { member: v.id },
        v.state === 'up' ? 0 : Math.max(0, (now - v.stateSince) / 1000),
      )
    }
    recordPool(this.metrics, counts)
    this.#relayExporter.export(this.#dataPath.stats())
  }

  #memberJson(v: MemberView): Record<string, unknown> {
    const now = this.#clock.now()
    const wallNow = (this.#deps.wallNow ?? Date.now)()
    const wall = (at: number): string => new Date(wallNow - (now - at)).toISOString()
    const last = v.recent.at(-1)
    const ports = Object.fromEntries(
      this.#config.listeners.map(l => [l.name, memberPort(v, l)]),
    )
    const checkJson = (r: {
      at: number
      result: CheckResult
    }): Record<string, unknown> => ({
      at: wall(r.at),
      ok: r.result.ok,
      ...(r.result.ok ? {} : { reason: r.result.reason, detail: r.result.detail }),
      ...(r.result.latencyMs !== undefined
        ? { latencyMs: Math.round(r.result.latencyMs * 10) / 10 }
        : {}),
      ...(r.result.status !== undefined ? { status: r.result.status } : {}),
    })
    return {
      id: v.id,
      address: v.address,
      ports,
      weight: v.weight,
      state: v.state,
      health: v.health,
      admin: v.admin,
      reason: v.reason,
      since: wall(v.stateSince),
      secondsInState: Math.round((now - v.stateSince) / 100) / 10,
      activeConnections: this.#dataPath.load(v.id),
      lastCheck: last === undefined ? null : checkJson(last),
      recentChecks: v.recent.map(checkJson),
      removing: v.removing,
    }
  }

  #poolJson(): Record<string, unknown> {
    const views = this.pool.views()
    const up = views.filter(v => v.state === 'up').length
    const size = views.length
    return {
      summary: {
        size,
        up,
        states: Object.fromEntries(
          MEMBER_STATES.map(s => [s, views.filter(v => v.state === s).length]),
        ),
        failuresTolerated: failuresTolerated(size, up),
        quorum: hasQuorum(size, up),
        evenSize: size > 0 && size % 2 === 0,
        failingOpen: this.#dataPath.failingOpen,
        balance: this.#config.balance,
        activeConnections: this.#dataPath.activeConnections,
        workers: this.#config.workers,
        loadsSynced: this.#dataPath.loadsSynced,
        dataPath: this.#dataPathChoice.path,
        dataPathReason: this.#dataPathChoice.reason,
      },
      members: views.map(v => this.#memberJson(v)),
    }
  }

  /** The exposition: this process's registry, plus the workers' summed in (cluster mode). */
  async #metricsText(): Promise<{ contentType: string; body: string }> {
    const contentType = this.register.contentType
    const workers = (await this.#dataPath.workerMetrics?.()) ?? []
    if (workers.length === 0) return { contentType, body: await this.register.metrics() }
    const own = await this.register.getMetricsAsJSON()
    const merged = AggregatorRegistry.aggregate([own, ...workers])
    return { contentType, body: await merged.metrics() }
  }

  #adminApi(): AdminApi {
    const op = (id: string, fn: (now: number) => { ok: boolean }): MemberOpResult => {
      const r = fn(this.#clock.now())
      const view = this.pool.get(id)
      this.#publish()
      if (!r.ok || view === undefined) return { ok: false, error: 'not-found' }
      return { ok: true, member: this.#memberJson(view) }
    }
    return {
      pool: () => this.#poolJson(),
      ready: () => {
        if (!this.#listening) return { ready: false, reason: 'not listening' }
        const up = this.pool.views().filter(v => v.state === 'up').length
        return up > 0
          ? { ready: true, reason: `${up} member(s) up` }
          : { ready: false, reason: 'no member is up' }
      },
      drain: id =>
        op(id, now => this.pool.setAdmin(id, 'draining', now, 'drained by operator')),
      enable: id =>
        op(id, now => this.pool.setAdmin(id, 'enabled', now, 'enabled by operator')),
      disable: id =>
        op(id, now => this.pool.setAdmin(id, 'disabled', now, 'disabled by operator')),
      upsert: member => {
        const created = this.pool.get(member.id) === undefined
        const view = this.pool.upsert(endpointOf(member), this.#clock.now())
        this.#checker.setMembers(this.pool.views())
        this.#publish()
        this.#log.info(
          { member: member.id, address: member.address, created },
          'member upserted via api',
        )
        if (created) this.#warnIfEven()
        return { member: this.#memberJson(view), created }
      },
      remove: id => {
        const r = op(id, now => this.pool.requestRemoval(id, now))
        if (r.ok) this.#removeIfIdle(id)
        return r
      },
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
