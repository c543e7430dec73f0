// The periodic check: one timer and one Prober per member, results handed to the app.
// The app decides what a result means (pool/); schedule.ts decides when to probe; this
// module runs the probes and hands on their results.

import type { Clock } from '../clock.js'
import type { HealthConfig, ListenerConfig } from '../config/types.js'
import {
  checkProxyProtocol,
  effectiveProxyProtocol,
  type ProxyProtocolVersion,
} from '../config/proxy-protocol-schema.js'
import type { CheckResult, MemberEndpoint } from '../pool/types.js'
import { Prober, sameProbeTarget } from './probe.js'
import { probeReachability } from './reach.js'
import type { ProbeSettings, ProbeTarget } from './probe.js'
import {
  clearProbeTimer,
  intervalMs,
  nextDelayMs,
  scheduleProbe,
  type IntervalHint,
  type ProbeTimer,
} from './schedule.js'
import { probePort } from './target.js'

/**
 * What a member's probe is: "http" (the full /health request) or "tcp" (reachability
 * only, while another instance runs its /health probe: coordination probes "shared").
 */
export type ProbeKind = 'http' | 'tcp'

/** The part of a pino logger the checker uses. */
export interface HealthCheckerLog {
  debug(obj: object, msg: string): void
  warn(obj: object, msg: string): void
}

/** Options of a HealthChecker. */
export interface HealthCheckerOptions {
  readonly health: HealthConfig
  /** Resolves a `health.port` that names a listener. */
  readonly listeners: readonly ListenerConfig[]
  /** The pool's PROXY protocol default (config `proxyProtocol`). Default "off". */
  readonly proxyProtocol?: ProxyProtocolVersion
}

/** What a HealthChecker needs from its surroundings. */
export interface HealthCheckerDeps {
  readonly clock: Clock
  /**
   * Receives every probe result, never after close() was called; a hint set from inside
   * it (setIntervalHint) already applies to the member's next probe.
   */
  readonly onResult: (memberId: string, result: CheckResult, kind: ProbeKind) => void
  readonly log?: HealthCheckerLog
  /** Uniform in [0, 1); spreads probes. Default Math.random. */
  readonly random?: () => number
}

/** A member's probe machinery; replaced as a whole when its target changes. */
interface MemberCheck extends ProbeTimer {
  member: MemberEndpoint
  /** cancel() ends the running probe when the member is removed or replaced. */
  readonly prober: Prober
  hint: IntervalHint
  /** The running probe and its delivery; defined while a probe runs. */
  running: Promise<void> | undefined
  /** False once removed or replaced: its results are stale and are dropped. */
  active: boolean
}

// Idle connections must outlive the gap between two probes, or every probe pays a new
// TCP (and TLS) handshake. A member's Keep-Alive header still overrides this.
const KEEP_ALIVE_SLACK_MS = 1_000

function probeSettings(health: HealthConfig): ProbeSettings {
  return {
    path: health.path,
    timeoutMs: health.timeoutMs,
    expectStatus: health.expectStatus,
    maxBodyBytes: health.maxBodyBytes,
    headers: health.headers,
  }
}

/**
 * Probes every member on its own jittered schedule and reports each result through
 * `onResult`; membership and settings change without a restart.
 */
export class HealthChecker {
  #health: HealthConfig
  readonly #listeners: readonly ListenerConfig[]
  readonly #clock: Clock
  readonly #onResult: HealthCheckerDeps['onResult']
  readonly #log: HealthCheckerLog | undefined
  readonly #random: () => number
  readonly #checks = new Map<string, MemberCheck>()
  /** Probers of removed or replaced members, still closing. */
  readonly #retiring = new Set<Promise<void>>()
  #started = false
  readonly #kinds = new Map<string, ProbeKind>()
  #closing: Promise<void> | undefined
  #poolProxyProtocol: ProxyProtocolVersion

  constructor(options: HealthCheckerOptions, deps: HealthCheckerDeps) {
    this.#health = options.health
    this.#poolProxyProtocol = options.proxyProtocol ?? 'off'
    this.#listeners = options.listeners
    this.#clock = deps.clock
    this.#onResult = deps.onResult
    this.#log = deps.log
    this.#random = deps.random ?? Math.random
  }

  /**
   * Starts probing: each member's first probe comes after a random delay in
   * [0, interval), so members are not all probed in the same millisecond. Idempotent.
   */
  start(): void {
    if (this.#started || this.#closing !== undefined) return
    this.#started = true
    for (const check of this.#checks.values()) {
      this.#schedule(check, this.#random() * intervalMs(this.#health, check.hint))
    }
  }

  /**
   * Makes the checked members exactly `members`: a new member (once started) is probed at
   * once, a removed one stops (its running probe is aborted and its result dropped), one
   * whose probe address or port changed gets a new Prober and is probed at once, and any
   * other keeps its schedule and connection.
   */
  setMembers(members: readonly MemberEndpoint[]): void {
    if (this.#closing !== undefined) return
    // Resolve every target first: a bad probe port throws before anything changed.
    const targets = new Map(members.map(m => [m.id, this.#target(m)]))
    for (const [id, check] of this.#checks) {
      if (!targets.has(id)) {
        this.#retire(check)
        this.#checks.delete(id)
        this.#log?.debug({ member: id }, 'member check removed')
      }
    }
    for (const member of members) {
      const check = this.#checks.get(member.id)
      const target = targets.get(member.id) ?? this.#target(member)
      if (check !== undefined && sameProbeTarget(check.prober.target, target)) {
        check.member = member
        continue
      }
      const replacement = this.#create(member, target, check?.hint ?? 'steady')
      if (check !== undefined) this.#retire(check)
      this.#checks.set(member.id, replacement)
      this.#log?.debug(
        { member: member.id, address: target.address, port: target.port },
        check === undefined ? 'member check added' : 'member check target changed',
      )
      if (this.#started) void this.#run(replacement)
    }
  }

  /**
   * Applies reloaded health settings: a member whose probe target (scheme, port, TLS)
   * changed gets a new Prober on its current schedule, others keep their connection;
   * new intervals apply from each member's next schedule, or sooner if they are shorter.
   */
  updateHealthConfig(health: HealthConfig): void {
    if (this.#closing !== undefined) return
    // Resolve every target first: a bad probe port throws before anything changed.
    const targets = [...this.#checks].map(
      ([id, check]) => [id, check, this.#target(check.member, health)] as const,
    )
    this.#health = health
    const settings = probeSettings(health)
    for (const [id, check, target] of targets) {
      if (sameProbeTarget(check.prober.target, target)) {
        check.prober.setSettings(settings)
        this.#rescheduleIfSooner(check)
        continue
      }
      const replacement = this.#create(check.member, target, check.hint)
      const { dueAt } = check
      this.#retire(check)
      this.#checks.set(id, replacement)
      this.#log?.debug(
        { member: id, address: target.address, port: target.port },
        'member check target changed',
      )
      if (!this.#started) continue
      // Keep the member's place in the schedule so that a TLS change does not probe
      // every member at once; only a member caught mid-probe is probed again now.
      const delayMs = dueAt === undefined ? 0 : Math.max(0, dueAt - this.#clock.now())
      this.#schedule(replacement, delayMs)
      this.#rescheduleIfSooner(replacement)
    }
  }

  /** Applies a reloaded pool PROXY protocol default: affected members get a new Prober. */
  setPoolProxyProtocol(version: ProxyProtocolVersion): void {
    if (version === this.#poolProxyProtocol) return
    this.#poolProxyProtocol = version
    this.updateHealthConfig(this.#health)
  }

  /**
   * Switches a member between intervalMs, fastIntervalMs and downIntervalMs; takes effect
   * at the member's next schedule, or at once if its pending probe is further away than
   * the new interval. Unknown members are ignored.
   */
  setIntervalHint(memberId: string, hint: IntervalHint): void {
    const check = this.#checks.get(memberId)
    if (check === undefined || check.hint === hint) return
    check.hint = hint
    this.#rescheduleIfSooner(check)
  }

  /**
   * Stops probing: clears timers, waits for running probes (bounded by timeoutMs) without
   * reporting their results, and closes every connection. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown()
    return this.#closing
  }

  /** Like close(), but aborts running probes instead of waiting for them. */
  destroy(): Promise<void> {
    for (const check of this.#checks.values()) check.prober.cancel()
    return this.close()
  }

  async #shutdown(): Promise<void> {
    // #checks stays filled until the end so that destroy() can still abort running probes.
    const checks = [...this.#checks.values()]
    for (const check of checks) {
      check.active = false
      clearProbeTimer(check)
    }
    // Close after the running probe so that close() never fails a probe in flight.
    await Promise.all([
      ...checks.map(check => this.#closeProber(check)),
      ...this.#retiring,
    ])
    this.#checks.clear()
  }

  #target(member: MemberEndpoint, health: HealthConfig = this.#health): ProbeTarget {
    return {
      scheme: health.scheme,
      address: member.address,
      port: probePort(member, health, this.#listeners),
      tls: health.tls,
      proxyProtocol: {
        version: checkProxyProtocol(
          health.proxyProtocol,
          effectiveProxyProtocol(member, this.#poolProxyProtocol),
        ),
        source: health.proxyProtocolSource,
      },
    }
  }

  #create(member: MemberEndpoint, target: ProbeTarget, hint: IntervalHint): MemberCheck {
    const h = this.#health
    const longestIntervalMs = Math.max(h.intervalMs, h.fastIntervalMs, h.downIntervalMs)
    const prober = new Prober(
      {
        target,
        settings: probeSettings(h),
        keepAliveTimeoutMs: Math.ceil(
          longestIntervalMs * (1 + h.jitter) + h.timeoutMs + KEEP_ALIVE_SLACK_MS,
        ),
      },
      { clock: this.#clock },
    )
    return {
      member,
      prober,
      hint,
      timer: undefined,
      dueAt: undefined,
      running: undefined,
      active: true,
    }
  }

  /**
   * Sets which probe a member gets from now on (default "http"); takes effect at its next
   * probe. Ids of members not checked are remembered for when they are added.
   */
  setProbeKind(memberId: string, kind: ProbeKind): void {
    if (kind === 'http') this.#kinds.delete(memberId)
    else this.#kinds.set(memberId, kind)
  }

  /** Stops a removed or replaced member's probes and closes its connection in the background. */
  #retire(check: MemberCheck): void {
    check.active = false
    clearProbeTimer(check)
    check.prober.cancel()
    const closing = this.#closeProber(check)
    this.#retiring.add(closing)
    void closing.finally(() => this.#retiring.delete(closing))
  }

  /** Closes a member's connection once its running probe is over; never rejects. */
  async #closeProber(check: MemberCheck): Promise<void> {
    await check.running
    try {
      await check.prober.close()
    } catch (err) {
      // Nothing to recover: the connection is going away either way.
      this.#log?.warn(
        { member: check.member.id, err },
        'closing a probe connection failed',
      )
    }
  }

  #schedule(check: MemberCheck, requestedMs: number): void {
    scheduleProbe(check, this.#clock, requestedMs, () => void this.#run(check))
  }

  #rescheduleIfSooner(check: MemberCheck): void {
    if (check.dueAt === undefined) return
    const delayMs = nextDelayMs(this.#health, check.hint, this.#random)
    if (this.#clock.now() + delayMs < check.dueAt) this.#schedule(check, delayMs)
  }

  /** Runs one probe, reports it, then schedules the next: a member's probes never overlap. */
  async #run(check: MemberCheck): Promise<void> {
    // A timer only runs for an active check with nothing running; guard anyway.
    if (check.running !== undefined) return
    const running = this.#probeAndReport(check)
    check.running = running
    await running
    check.running = undefined
    if (!check.active) return
    this.#schedule(check, nextDelayMs(this.#health, check.hint, this.#random))
  }

  async #probeAndReport(check: MemberCheck): Promise<void> {
    const memberId = check.member.id
    const kind = this.#kinds.get(memberId) ?? 'http'
    const { target } = check.prober
    const result =
      kind === 'tcp'
        ? await probeReachability(
            target.address,
            target.port,
            this.#health.timeoutMs,
            this.#clock,
            target.proxyProtocol,
          )
        : await check.prober.probe()
    if (!check.active) return
    try {
      this.#onResult(memberId, result, kind)
    } catch (err) {
      // A failing observer must not stop the checks: log it and keep the schedule.
      if (this.#log === undefined) {
        process.emitWarning(`health result handler failed for member ${memberId}`, {
          detail: String(err),
        })
      } else {
        this.#log.warn({ member: memberId, err }, 'health result handler failed')
      }
    }
  }
}
