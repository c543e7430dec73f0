// The sidecar beside one replica: checks the replica's /health with the load balancer's
// own checker and rise/fall state machine, registers the member in the shared pool and
// heartbeats its verdict; a down verdict makes every load balancer evict it at once.
// Redis may come and go: the checks go on, and the member is re-registered on reconnect.
// SIGTERM handling is drain.ts; signals and exit codes are cli/sidecar.ts.
import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import type { MemberRecord } from '../coordination/codec.js'
import type { PoolStore, SharedSnapshot } from '../coordination/store.js'
import { HealthChecker } from '../health/checker.js'
import {
  describeResult,
  initialHealth,
  isPending,
  observe,
  type MemberHealth,
} from '../pool/member-state.js'
import type { CheckResult, Health } from '../pool/types.js'
import type { SidecarConfig } from './config.js'
import { Registration } from './registration.js'

/** What the sidecar needs from its surroundings. */
export interface SidecarDeps {
  readonly store: PoolStore
  readonly clock: Clock
  readonly log: Logger
  /** Wall clock ms (record timestamps). Default Date.now. */
  readonly wallNow?: () => number
}

/** Every this many heartbeats the sidecar checks that its member is still registered. */
const VERIFY_EVERY = 5

/** See the file comment. */
export class Sidecar {
  readonly config: SidecarConfig
  readonly registration: Registration
  readonly #d: SidecarDeps
  readonly #checker: HealthChecker
  #health: MemberHealth
  #registered = false
  /** Set once SIGTERM handling began: never re-register (enabled) after that. */
  #draining = false
  #beats = 0
  #timer: NodeJS.Timeout | undefined
  #closed = false
  #registering: Promise<void> | undefined
  /** Whether this run released its member's drain lease (see #releaseLeaseOnceUp). */
  #leaseReleased = false
  readonly #noticeWaiters = new Set<() => void>()

  constructor(config: SidecarConfig, deps: SidecarDeps) {
    this.config = config
    this.#d = deps
    this.registration = new Registration(
      {
        member: { ...config.member, source: 'sidecar' },
        holder: `sidecar:${config.member.id}`,
        ttlMs: config.heartbeat.ttlMs,
      },
      { store: deps.store, wallNow: deps.wallNow ?? Date.now },
    )
    this.#health = initialHealth(
      config.health.initialState,
      config.health,
      deps.clock.now(),
    )
    this.#checker = new HealthChecker(
      { health: config.health, listeners: [] },
      {
        clock: deps.clock,
        log: deps.log,
        onResult: (_member, result) => {
          this.#onResult(result)
        },
      },
    )
    this.#checker.setMembers([config.member])
  }

  /** The member's current verdict by the sidecar's own checks. */
  get health(): Health {
    return this.#health.health
  }

  /** Whether the shared pool store is reachable now. */
  get connected(): boolean {
    return this.#d.store.connected
  }

  /** Starts checking and connecting; never throws for an unreachable store. */
  async start(): Promise<void> {
    const { store, log } = this.#d
    this.#checker.start()
    await store.start({
      status: (connected, error) => {
        if (connected) {
          log.info({ store: store.target }, 'shared pool store connected: registering')
          this.#registered = false
          void this.#ensureRegistered()
        } else {
          log.warn(
            { store: store.target, error },
            'shared pool store unreachable: still checking, will re-register when it answers',
          )
        }
      },
      notice: () => {
        for (const wake of this.#noticeWaiters) wake()
      },
    })
    if (!store.connected) {
      log.warn(
        { store: store.target },
        'shared pool store unreachable at start: checking the replica, registering once it answers',
      )
    }
    this.#timer = setInterval(() => {
      void this.#beat()
    }, this.config.heartbeat.intervalMs)
    this.#timer.unref()
  }

  /** Reads the shared state; throws StoreUnavailableError when unreachable. */
  async snapshot(): Promise<SharedSnapshot> {
    return this.#d.store.snapshot(this.config.heartbeat.ttlMs)
  }

  /** Resolves after `ms`, on the next store notice, or on abort, whichever comes first. */
  async pause(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted === true) return
    await new Promise<void>(resolve => {
      const done = (): void => {
        clearTimeout(timer)
        this.#noticeWaiters.delete(done)
        signal?.removeEventListener('abort', done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      this.#noticeWaiters.add(done)
      signal?.addEventListener('abort', done)
    })
  }

  /** From now on the member is being drained: periodic re-registration stops. */
  beginDrain(): void {
    this.#draining = true
  }

  /** Whether SIGTERM handling began. */
  isDraining(): boolean {
    return this.#draining
  }

  /** Stops checking and heartbeating and disconnects; idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (this.#timer !== undefined) clearInterval(this.#timer)
    // The store first: closing it fails a registration stuck retrying against an
    // unreachable Redis at once, instead of the exit waiting for that attempt to time out.
    await this.#d.store.close()
    await Promise.all([this.#checker.close(), this.#registering?.catch(() => undefined)])
  }

  #onResult(result: CheckResult): void {
    const h = this.config.health
    const step = observe(this.#health, result, this.#d.clock.now(), h)
    this.#health = step.health
    this.#checker.setIntervalHint(
      this.config.member.id,
      isPending(step.health, h)
        ? 'pending'
        : step.health.health === 'down'
          ? 'down'
          : 'steady',
    )
    if (step.change !== 'changed') return
    this.#d.log.info(
      {
        member: this.config.member.id,
        health: step.health.health,
        reason: step.reason,
        result: describeResult(result),
      },
      step.health.health === 'down'
        ? 'replica failing its check: publishing down (load balancers evict it at once)'
        : 'replica passing its check: publishing up',
    )
    // Publish at once rather than at the next heartbeat: that is the point of a sidecar.
    void this.#publish()
  }

  async #publish(): Promise<void> {
    if (!this.#d.store.connected || this.#closed) return
    try {
      await this.registration.heartbeat(this.#health.health, this.#health.reason)
    } catch (err) {
      this.#d.log.debug({ err }, 'sidecar heartbeat failed')
    }
  }

  async #beat(): Promise<void> {
    if (this.#closed || !this.#d.store.connected) return
    this.#beats++
    if (!this.#registered || this.#beats % VERIFY_EVERY === 0) {
      if (!this.#draining) this.#registered = false
      await this.#ensureRegistered()
    }
    await this.#publish()
    await this.#releaseLeaseOnceUp()
  }

  /**
   * The lease a previous run of this sidecar kept while its replica was out (see
   * Registration.deregister) ends once the replica is registered and passes its checks:
   * only then may the next drain of the budget start.
   */
  async #releaseLeaseOnceUp(): Promise<void> {
    if (this.#leaseReleased || !this.#registered || this.#draining) return
    if (this.#health.health !== 'up') return
    try {
      await this.registration.releaseLease()
      this.#leaseReleased = true
    } catch (err) {
      this.#d.log.debug({ err }, 'could not release the drain lease yet (retried)')
    }
  }

  /** Registers the member unless already done (or draining); one attempt at a time. */
  async #ensureRegistered(): Promise<void> {
    if (this.#registering !== undefined) return this.#registering
    this.#registering = this.#register().finally(() => {
      this.#registering = undefined
    })
    return this.#registering
  }

  async #register(): Promise<void> {
    if (this.#registered || this.#draining || this.#closed) return
    const { log } = this.#d
    const id = this.config.member.id
    try {
      await this.#publish()
      const snap = await this.snapshot()
      if (snap.members === undefined || snap.unreadableMembers.has(id)) {
        // Damaged, not absent (docs/coordination.md): registering now would overwrite an
        // operator's drain or disable with "enabled". The load balancers repair it; retry.
        log.debug({ member: id }, 'the shared record is unreadable: registration waits')
        return
      }
      const current: MemberRecord | undefined = snap.members.get(id)
      // SIGTERM may have come while the snapshot was read.
      if (this.isDraining()) return
      const record = await this.registration.register(current)
      if (record !== current) {
        log.info(
          { member: id, address: record.member.address, rev: record.rev },
          'member registered in the shared pool',
        )
      }
      this.#registered = true
    } catch (err) {
      log.debug(
        { err, member: id },
        'registration failed (retried at the next heartbeat)',
      )
    }
  }
}
