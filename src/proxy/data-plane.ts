// The data path of one process: a Server per listener, the latest Picker, and every
// open relay. It reports (passive failures, stats); it decides nothing about health.
import { createServer, type Server, type Socket } from 'node:net'
import { AccessLog, type AccessLogDeps } from '../access-log/access-log.js'
import type { Clock } from '../clock.js'
import type { AccessLogConfig } from '../config/access-log-schema.js'
import type { ListenerConfig } from '../config/types.js'
import type { ProxyProtocolVersion } from '../config/proxy-protocol-schema.js'
import { CorralError } from '../errors.js'
import type { Picker } from '../pool/picker.js'
import type { CheckResult } from '../pool/types.js'
import { NO_DELAY } from './connect.js'
import { Relay } from './relay.js'
import {
  sharedNativeEngine,
  type NativeAcceptor,
  type NativeEngine,
} from './native-engine.js'
import { acceptNatively, nativeAcceptor } from './native-listener.js'
import { loadNativeAddon, type DataPathKind } from './native-loader.js'
import { NativeRelay } from './native-relay.js'
import { listenerContext, type ListenerContext } from './listener-context.js'
import { RelayList } from './relay-list.js'
import {
  accountBytes,
  factsOf,
  interim,
  logLimit,
  traceAddresses,
  type AnyRelay,
} from './relay-report.js'
import { newRelayStats, type ConnectionOutcome, type RelayStats } from './stats.js'

/** Data-path settings (all durations in ms). */
export interface DataPlaneOptions {
  readonly listeners: readonly ListenerConfig[]
  readonly connectTimeoutMs: number
  readonly idleTimeoutMs: number
  readonly connectAttempts: number
  /** Most open client connections in this process; more are closed at once. */
  readonly maxConnections: number
  /**
   * Who moves the bytes: "native" (the relay thread of native/, if it loads in this
   * process; else JS) or "js". Default "js". Fixed at construction.
   */
  readonly dataPath?: DataPathKind
  /**
   * With the native data path: whether the relay thread also accepts and connects
   * (issue #14 step two), so no net.Socket exists per connection. Default true; false
   * keeps JS accept + connect with a hand-over of both fds (step one).
   */
  readonly nativeAccept?: boolean
  /** The connection access log (off when absent or not enabled). Fixed at construction. */
  readonly accessLog?: AccessLogConfig
  /** PROXY protocol for members without their own setting. Default "off". */
  readonly proxyProtocol?: ProxyProtocolVersion
  /** With v2: how long the header waits for the client's first bytes (SNI). Default 0. */
  readonly proxyProtocolSniWaitMs?: number
}

/** What the data plane reports to its owner. */
export interface DataPlaneDeps {
  readonly clock: Clock
  /** The picker in force at startup (replaced with setPicker). */
  readonly picker: Picker
  /** A client connection could not reach a member. */
  readonly passiveFailure: (member: string, result: CheckResult) => void
  readonly connectDuration?: (member: string, seconds: number) => void
  readonly connectionDuration?: (listener: string, seconds: number) => void
  /** A member's local active-connection count changed (for least-connections across workers). */
  readonly loadChanged?: (member: string, active: number) => void
  /** Shared server handles (cluster workers pass `exclusive: false`). */
  readonly exclusive?: boolean
  /** Access-log counters (lines written, dropped) and destination failures. */
  readonly accessLogEvents?: Pick<AccessLogDeps, 'written' | 'dropped' | 'failed'>
}

/** A listener's bound address, once listening. */
export interface BoundListener {
  readonly name: string
  readonly host: string
  readonly port: number
}

interface ListenerRuntime {
  readonly config: ListenerConfig
  readonly server: Server
  readonly ctx: ListenerContext
  readonly acceptor: NativeAcceptor
  /** The engine's listener index while the relay thread accepts for it, else -1. */
  nativeIndex: number
  /** Stats for connections no member took (member ""). */
  readonly unrouted: RelayStats
}

/** Accepts client connections on every listener and relays them to picked members. */
export class DataPlane {
  #options: DataPlaneOptions
  readonly #deps: DataPlaneDeps
  #picker: Picker
  readonly #listeners: ListenerRuntime[] = []
  readonly #relays = new RelayList<AnyRelay>()
  /** The native relay thread, when this data plane uses it. */
  readonly #engine: NativeEngine | undefined
  /** Why the native data path is not used (undefined when it is). */
  readonly jsReason: string | undefined
  #sweeper: NodeJS.Timeout | undefined = undefined
  readonly #load = new Map<string, number>()
  readonly #stats = new Map<string, RelayStats>()
  #closing = false
  #idleWaiters: (() => void)[] = []
  /** This process's access log, when enabled. */
  readonly #accessLog: AccessLog | undefined

  constructor(options: DataPlaneOptions, deps: DataPlaneDeps) {
    this.#options = options
    this.#deps = deps
    this.#picker = deps.picker
    const native = options.dataPath === 'native' ? loadNativeAddon() : undefined
    if (native !== undefined && 'addon' in native) {
      this.#engine = sharedNativeEngine(native.addon)
      this.jsReason = undefined
    } else {
      this.#engine = undefined
      this.jsReason = native?.error ?? 'dataPath: js'
    }
    const logConfig = options.accessLog
    const events = deps.accessLogEvents
    this.#accessLog =
      logConfig?.enabled === true
        ? new AccessLog(logConfig, String(process.pid), {
            now: () => deps.clock.now(),
            wallNow: Date.now,
            random: Math.random,
            written: events?.written ?? noop,
            dropped: events?.dropped ?? noop,
            failed: events?.failed ?? noop,
          })
        : undefined
    // The relay thread reports what the log needs (local address, SNI, first bytes) only
    // when asked: with the log off it costs nothing there either.
    if (this.#accessLog !== undefined) this.#engine?.trace()
  }

  /** Reopens the access log's file (logrotate); no-op without one. */
  reopenAccessLog(): void {
    this.#accessLog?.reopen()
  }

  /** The data path this plane runs (native only if the addon loaded here). */
  get dataPath(): DataPathKind {
    return this.#engine === undefined ? 'js' : 'native'
  }

  /** Listeners whose connections the relay thread accepts (native accept). */
  get nativeListeners(): number {
    return this.#listeners.filter(l => l.nativeIndex >= 0).length
  }

  /** Replaces the routing decision for new connections; open relays are unaffected. */
  setPicker(picker: Picker): void {
    this.#picker = picker
  }

  /** Applies reloaded timeouts and limits to new connections (listeners stay as bound). */
  setOptions(options: Omit<DataPlaneOptions, 'listeners'>): void {
    this.#options = { ...this.#options, ...options, listeners: this.#options.listeners }
    for (const l of this.#listeners) {
      l.ctx.connectTimeoutMs = options.connectTimeoutMs
      l.ctx.idleTimeoutMs = options.idleTimeoutMs
      l.ctx.connectAttempts = options.connectAttempts
      l.ctx.proxyProtocol = options.proxyProtocol ?? 'off'
      l.ctx.proxyProtocolSniWaitMs = options.proxyProtocolSniWaitMs ?? 0
    }
    if (this.#sweeper !== undefined) this.#startSweeper()
  }

  /** The picker in force. */
  get picker(): Picker {
    return this.#picker
  }

  /** Open relays in this process. */
  get activeConnections(): number {
    return this.#relays.size
  }

  /** Active connections to a member in this process. */
  localLoad(member: string): number {
    return this.#load.get(member) ?? 0
  }

  /** Binds every listener; rejects with LISTEN_FAILED naming the listener and address. */
  async listen(): Promise<readonly BoundListener[]> {
    const bound: BoundListener[] = []
    for (const config of this.#options.listeners) {
      const runtime = this.#createListener(config)
      this.#listeners.push(runtime)
      await new Promise<void>((resolve, reject) => {
        const onError = (err: Error): void => {
          reject(
            new CorralError(
              'LISTEN_FAILED',
              `listener ${config.name}: cannot listen on ${config.host}:${config.port}: ${err.message}`,
              { cause: err },
            ),
          )
        }
        runtime.server.once('error', onError)
        runtime.server.listen(
          {
            host: config.host,
            port: config.port,
            backlog: 4096,
            exclusive: this.#deps.exclusive ?? true,
          },
          () => {
            runtime.server.removeListener('error', onError)
            resolve()
          },
        )
      })
      const address = runtime.server.address()
      if (address === null || typeof address === 'string')
        throw new Error('unexpected address')
      bound.push({ name: config.name, host: address.address, port: address.port })
      // Native accept: the relay thread takes over accepting where it can.
      if (this.#engine !== undefined && this.#options.nativeAccept !== false)
        await acceptNatively(this.#engine, runtime)
    }
    this.#startSweeper()
    return bound
  }

  #stopAccepting(): void {
    for (const l of this.#listeners) {
      // Natively first: the dup keeps the socket listening after libuv closes its fd.
      if (l.nativeIndex >= 0) this.#engine?.unlisten(l.nativeIndex)
      l.nativeIndex = -1
      l.server.close()
    }
  }

  /** Counters per (listener, member), including bytes of open relays up to now. */
  stats(): readonly RelayStats[] {
    this.#relays.forEachRemovable(accountBytes)
    return [...this.#stats.values(), ...this.#listeners.map(l => l.unrouted)]
  }

  /** Closes every open relay to a member (on-marked-down close-connections). */
  closeConnectionsTo(member: string): number {
    let closed = 0
    for (const relay of this.#relays.snapshot()) {
      if (relay.member?.id === member) {
        relay.destroy('member_down')
        closed++
      }
    }
    return closed
  }

  /** Stops accepting; resolves when open relays finished or `deadlineMs` passed (then destroys them). */
  async close(deadlineMs: number): Promise<{ readonly forced: number }> {
    this.#closing = true
    // server.close() stops accepting at once; its callback waits for every connection,
    // which is what the deadline below bounds, so it is not awaited here.
    this.#stopAccepting()
    // Timeouts still apply while draining; the sweeper stops once nothing is left.
    const forced = await this.#drain(deadlineMs)
    this.#stopSweeper()
    await this.#accessLog?.close()
    return { forced }
  }

  /** Waits for open relays to finish; past `deadlineMs` destroys them and says how many. */
  async #drain(deadlineMs: number): Promise<number> {
    if (this.#relays.size === 0) return 0
    const idle = new Promise<void>(resolve => this.#idleWaiters.push(resolve))
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<'deadline'>(resolve => {
      timer = setTimeout(() => {
        resolve('deadline')
      }, deadlineMs)
    })
    const result = await Promise.race([idle, deadline])
    clearTimeout(timer)
    if (result !== 'deadline') return 0
    const forced = this.#relays.size
    for (const relay of this.#relays.snapshot()) relay.destroy('drain_deadline')
    // The close records of the relays just destroyed come on their 'close' events.
    if (this.#accessLog !== undefined && forced > 0) await this.#whenIdle(1_000)
    return forced
  }

  /** Stops accepting without waiting for anything (used by destroy paths and tests). */
  destroy(): void {
    this.#closing = true
    this.#stopAccepting()
    for (const relay of this.#relays.snapshot()) relay.destroy('shutdown')
    this.#stopSweeper()
    void this.#accessLog?.close()
  }

  /** Resolves when no relay is open, or after `ms`. */
  async #whenIdle(ms: number): Promise<void> {
    if (this.#relays.size === 0) return
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      new Promise<void>(resolve => this.#idleWaiters.push(resolve)),
      new Promise<void>(resolve => (timer = setTimeout(resolve, ms))),
    ])
    clearTimeout(timer)
  }

  /**
   * One timer for the whole data plane enforces every relay's connect and idle timeout
   * (a timer per socket, re-armed on every read and write, cost ~5% of the throughput of
   * short connections and 1.4% of keep-alive CPU). A connect timeout fires up to one
   * period late; an idle timeout up to two (activity is noticed at the next sweep).
   */
  #startSweeper(): void {
    this.#stopSweeper()
    const clock = this.#deps.clock
    const log = this.#accessLog
    const interimMs = log?.interimMs ?? 0
    this.#sweeper = setInterval(() => {
      const now = clock.now()
      this.#relays.forEachRemovable(relay => {
        relay.sweep(now)
        if (interimMs > 0 && log !== undefined) interim(log, relay, now, interimMs)
      })
    }, sweepPeriodMs(this.#options))
    this.#sweeper.unref()
  }

  #stopSweeper(): void {
    if (this.#sweeper !== undefined) clearInterval(this.#sweeper)
    this.#sweeper = undefined
  }

  #statsFor(listener: string, member: string): RelayStats {
    const key = `${listener}\u0000${member}`
    let s = this.#stats.get(key)
    if (s === undefined) {
      s = newRelayStats(listener, member)
      this.#stats.set(key, s)
    }
    return s
  }

  #createListener(config: ListenerConfig): ListenerRuntime {
    const deps = this.#deps
    const relays = this.#relays
    const engine = this.#engine
    const accessLog = this.#accessLog
    const ctx = listenerContext({
      listener: config,
      settings: this.#options,
      clock: deps.clock,
      engine,
      accessLog,
      load: this.#load,
      relays,
      picker: () => this.#picker,
      statsFor: member => this.#statsFor(config.name, member),
      ...(deps.loadChanged !== undefined ? { loadChanged: deps.loadChanged } : {}),
      passiveFailure: deps.passiveFailure,
      ...(deps.connectDuration !== undefined
        ? { connectDuration: deps.connectDuration }
        : {}),
      ...(deps.connectionDuration !== undefined
        ? { connectionDuration: deps.connectionDuration }
        : {}),
      idle: () => {
        const waiters = this.#idleWaiters
        this.#idleWaiters = []
        for (const w of waiters) w()
      },
    })
    const unrouted = newRelayStats(config.name, '')
    // Native: no byte may reach JS before the relay thread takes the fd (native-relay.ts).
    const server = createServer({
      allowHalfOpen: true,
      pauseOnConnect: engine !== undefined,
      noDelay: NO_DELAY,
    })
    server.on('connection', (client: Socket) => {
      if (this.#closing) {
        client.destroy()
        return
      }
      if (relays.size >= this.#options.maxConnections) {
        // Over the global limit: close at once (the client sees a prompt close, never a hang).
        client.on('error', noop)
        if (accessLog !== undefined)
          logLimit(accessLog, config.name, trace => {
            traceAddresses(trace, client)
          })
        client.destroy()
        unrouted.outcomes.rejected_limit++
        return
      }
      const relay =
        engine === undefined
          ? new Relay(client, ctx)
          : new NativeRelay(client, ctx, engine)
      if (relay.trace !== null) traceAddresses(relay.trace, client)
      const rejected: ConnectionOutcome | undefined = relay.start()
      if (rejected !== undefined) {
        unrouted.outcomes[rejected]++
        // A JS relay still closes (and is logged) on its client's 'close'; this one not.
        if (
          accessLog !== undefined &&
          relay instanceof NativeRelay &&
          relay.trace !== null
        )
          accessLog.record(relay.trace, factsOf(relay, 'close'))
        return
      }
      relays.add(relay)
    })
    server.on('error', noop)
    // Native accept: the same admission as the 'connection' handler above.
    const acceptor = nativeAcceptor(engine, {
      listener: config.name,
      ctx,
      unrouted,
      accessLog,
      closing: () => this.#closing,
      full: () => relays.size >= this.#options.maxConnections,
      add: relay => {
        relays.add(relay)
      },
    })
    return { config, server, ctx, unrouted, acceptor, nativeIndex: -1 }
  }
}

/** How often timeouts are checked: an eighth of the shorter one, within [10 ms, 1 s]. */
export function sweepPeriodMs(options: {
  readonly connectTimeoutMs: number
  readonly idleTimeoutMs: number
}): number {
  const shorter = Math.min(options.connectTimeoutMs, options.idleTimeoutMs)
  return Math.min(1_000, Math.max(10, Math.floor(shorter / 8)))
}

function noop(): void {
  // Errors on sockets we are closing anyway carry no information worth handling.
}
