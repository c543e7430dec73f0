// The shell that shares this instance's pool through a PoolStore: it seeds or adopts the
// shared membership, heartbeats, publishes this instance's own verdicts, re-reads the
// shared state on every notice, every reconnect and every `resync`, and feeds the facts to
// the pool, which alone decides verdicts. While the store is unreachable the instance runs
// on its last known pool and its own checks (fail-static) and refuses membership writes.
import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import type { Config, MemberConfig } from '../config/types.js'
import type { ProbeKind } from '../health/checker.js'
import type { Pool } from '../pool/pool.js'
import type { AdminState, Health, MemberEndpoint } from '../pool/types.js'
import { isRoutable } from '../pool/member-state.js'
import { RECORD_VERSION, type DrainLease, type MemberRecord } from './codec.js'
import {
  adminWrite,
  budgetLeft,
  drainRequest,
  removalWrite,
  upsertWrite,
} from './member-writes.js'
import { factsFor } from './facts.js'
import { removalsDone } from './membership.js'
import { applyMembership, warmVerdicts } from './adoption.js'
import { DamageRepair, type DamageHooks } from './damage.js'
import { healMembers } from './heal.js'
import { CONFIG_ERROR_RETRY_MS, type StoreFault } from './store-fault.js'
import { VerdictPublisher } from './verdict-publisher.js'
import {
  StoreUnavailableError,
  type DrainGrant,
  type MemberRepair,
  type MemberWrite,
  type PoolStore,
  type SharedSnapshot,
} from './store.js'

/** What the coordinator needs from the rest of the app. */
export interface CoordinatorHooks {
  /** Membership or verdicts changed: update the checker and republish the picker. */
  poolChanged(): void
  /** Which probe the checker runs for a member. */
  setProbeKind(member: string, kind: ProbeKind): void
  /** Open connections per member on this instance (all processes). */
  load(member: string): number
  /** Whether this instance has fenced itself (reported in its heartbeat). */
  fenced(): boolean
  /** A stored value was unreadable and skipped; records were repaired (damage.ts). */
  invalid: DamageHooks['invalid']
  repaired: DamageHooks['repaired']
  /** Connected or not, for metrics. */
  storeStatus(connected: boolean): void
  /** A full resync ran: ok, or failed. */
  synced(ok: boolean): void
}

/** Construction parameters. */
export interface CoordinatorOptions {
  readonly instanceId: string
  readonly version: string
  readonly host: string
  readonly coordination: Config['coordination']
  /** The config file's members: they seed a pool nobody seeded yet. */
  readonly seed: readonly MemberConfig[]
  /**
   * Whether to feed the pool the shared facts (peers' verdicts, sidecars, probe
   * assignments); default true. The embedded store of a single instance has no peer and
   * no sidecar to say anything, so its pool keeps the views of a pool without a store.
   */
  readonly sharedFacts?: boolean
}

/** Dependencies (I/O at the edges). */
export interface CoordinatorDeps {
  readonly store: PoolStore
  readonly pool: Pool
  readonly clock: Clock
  readonly log: Logger
  readonly hooks: CoordinatorHooks
  /** Wall clock ms (observation timestamps). */
  readonly wallNow?: () => number
}

/** What the pool API and /metrics say about coordination. */
export interface CoordinationStatus {
  readonly store: 'redis' | 'memory'
  readonly target: string
  readonly connected: boolean
  readonly instanceId: string
  readonly instances: readonly string[]
  readonly policy: Config['coordination']['policy']
  readonly probes: Config['coordination']['probes']
  readonly version: number
  /** Members this instance runs the /health probe for. */
  readonly probing: number
  readonly lastSyncAgoMs: number | null
  readonly drains: readonly { member: string; holder: string; expiresAt: string }[]
  /** Why the store cannot be used now (see store-fault.ts); undefined while it works. */
  readonly fault: StoreFault | undefined
}

/** See the file comment. */
export class Coordinator {
  readonly #o: CoordinatorOptions
  readonly #d: CoordinatorDeps
  #version = -1
  /** Whether the first adoption (the only one that takes warm-start verdicts) is done. */
  #warmed = false
  #members: ReadonlyMap<string, MemberRecord> = new Map()
  #last: SharedSnapshot | undefined
  #lastSyncAt: number | undefined
  #syncing: Promise<void> | undefined
  #again = false
  #timers: NodeJS.Timeout[] = []
  #closed = false
  readonly #kinds = new Map<string, ProbeKind>()
  #noticeTimer: NodeJS.Timeout | undefined
  readonly #publisher: VerdictPublisher
  readonly #damage: DamageRepair

  constructor(options: CoordinatorOptions, deps: CoordinatorDeps) {
    this.#o = options
    this.#d = deps
    this.#publisher = new VerdictPublisher({
      instanceId: options.instanceId,
      ttlMs: options.coordination.ttl,
      store: deps.store,
      log: deps.log,
      wallNow: deps.wallNow ?? Date.now,
    })
    this.#damage = new DamageRepair({
      instanceId: options.instanceId,
      store: deps.store,
      pool: deps.pool,
      log: deps.log,
      hooks: deps.hooks,
    })
  }

  get instanceId(): string {
    return this.#o.instanceId
  }

  get connected(): boolean {
    return this.#d.store.connected
  }

  /** Live instances (this one included), as of the last snapshot. */
  get instances(): readonly string[] {
    const ids = new Set(this.#last?.instances.keys() ?? [])
    ids.add(this.#o.instanceId)
    return [...ids].sort()
  }

  /** Connects, then seeds or adopts the shared pool; never throws for an unreachable store. */
  async start(): Promise<void> {
    const { store, log } = this.#d
    for (const warning of store.warnings ?? []) log.warn({ store: store.target }, warning)
    await store.start({
      status: (connected, error) => {
        this.#onStatus(connected, error)
      },
      fault: fault => {
        this.#onFault(fault)
      },
      notice: () => {
        // Notices come in bursts (a peer's batch, several peers at once): one re-read
        // per NOTICE_DEBOUNCE_MS is enough, and well inside the 1 s propagation budget.
        this.#noticeTimer ??= setTimeout(() => {
          this.#noticeTimer = undefined
          this.#scheduleSync()
        }, NOTICE_DEBOUNCE_MS)
      },
    })
    if (!store.connected) {
      log.warn(
        { store: store.target },
        'shared pool store unreachable at start: serving the config file members on own checks until it answers',
      )
    } else {
      await this.#sync()
    }
    const c = this.#o.coordination
    this.#timers.push(setInterval(() => void this.#heartbeat(), c.heartbeat))
    this.#timers.push(
      setInterval(() => {
        this.#scheduleSync(true)
      }, c.resync),
    )
    for (const t of this.#timers) t.unref()
  }

  /** Leaves the shared pool (peers stop counting this instance at once) and disconnects. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const t of this.#timers) clearInterval(t)
    this.#publisher.close()
    clearTimeout(this.#noticeTimer)
    await this.#syncing
    if (this.#d.store.connected) {
      await this.#d.store.leave(this.#o.instanceId).catch((err: unknown) => {
        this.#d.log.warn(
          { err },
          'could not leave the shared pool (peers will time it out)',
        )
      })
    }
    await this.#d.store.close()
  }

  /** Adds or replaces a member everywhere; throws StoreUnavailableError if the store is down. */
  async upsert(endpoint: MemberEndpoint, reason: string): Promise<MemberRecord> {
    return this.#write(upsertWrite(endpoint, reason))
  }

  /** Sets a member's admin state everywhere; undefined if no such member. */
  async setAdmin(
    id: string,
    admin: AdminState,
    reason: string,
  ): Promise<MemberRecord | undefined> {
    const old = this.#members.get(id)
    return old === undefined ? undefined : this.#write(adminWrite(old, admin, reason))
  }

  /** DELETE everywhere: drain on every instance, then the record goes once all are idle. */
  async remove(id: string): Promise<MemberRecord | undefined> {
    const old = this.#members.get(id)
    return old === undefined ? undefined : this.#write(removalWrite(old))
  }

  /**
   * Drains a member everywhere within the fleet-wide drain budget (drain-budget.ts), or
   * past it with `force`: the budget check, the lease (`holder`) and the draining record
   * are one atomic store step. Undefined if no such member.
   */
  async drain(
    id: string,
    holder: string,
    reason: string,
    force: boolean,
  ): Promise<DrainGrant | undefined> {
    const old = this.#members.get(id)
    if (old === undefined) return undefined
    const request = drainRequest(old, this.#d.pool.views(), {
      holder,
      reason,
      ttlMs: this.#o.coordination.drainLease,
      force,
    })
    const grant = await this.#d.store.drain(request, this.#o.instanceId)
    if (grant.ok) await this.#apply(grant.record)
    return grant
  }

  /** Drains that may start now (the corral_drain_budget gauge; member-writes.ts). */
  drainBudget(): number {
    return budgetLeft(this.#d.pool.views(), this.#last?.drains ?? new Map())
  }

  /** This instance's own verdict on a member changed: publish it (batched). */
  observed(member: string, health: Health, reason: string): void {
    this.#publisher.observe(member, health, reason, this.#kinds.get(member) ?? 'http')
  }

  /** For the pool API and metrics. */
  status(): CoordinationStatus {
    const s = this.#last
    let probing = 0
    for (const v of this.#d.pool.views())
      if ((this.#kinds.get(v.id) ?? 'http') === 'http') probing++
    return {
      store: this.#d.store.kind,
      target: this.#d.store.target,
      connected: this.#d.store.connected,
      instanceId: this.#o.instanceId,
      instances: this.instances,
      policy: this.#o.coordination.policy,
      probes: this.#o.coordination.probes,
      version: this.#version,
      probing,
      lastSyncAgoMs:
        this.#lastSyncAt === undefined
          ? null
          : Math.round(this.#d.clock.now() - this.#lastSyncAt),
      drains: [...(s?.drains ?? new Map<string, DrainLease>())].map(([member, d]) => ({
        member,
        holder: d.holder,
        expiresAt: new Date(d.expiresAt).toISOString(),
      })),
      fault: this.#d.store.fault,
    }
  }

  /** The live instances' records (heartbeats), as of the last snapshot. */
  peers(): SharedSnapshot['instances'] {
    return this.#last?.instances ?? new Map()
  }

  /** Each live instance's observations, as of the last snapshot. */
  observations(): SharedSnapshot['observations'] {
    return this.#last?.observations ?? new Map()
  }

  async #heartbeat(): Promise<void> {
    const { store, pool } = this.#d
    if (!store.connected || this.#closed) return
    const loads: Record<string, number> = {}
    const routable: string[] = []
    for (const v of pool.views()) {
      const n = this.#d.hooks.load(v.id)
      if (n > 0) loads[v.id] = n
      if (isRoutable(v.state)) routable.push(v.id)
    }
    try {
      await store.heartbeat(
        {
          v: RECORD_VERSION,
          id: this.#o.instanceId,
          host: this.#o.host,
          pid: process.pid,
          version: this.#o.version,
          startedAt: STARTED_AT,
          appliedVersion: Math.max(0, this.#version),
          loads,
          routable,
          fenced: this.#d.hooks.fenced(),
        },
        this.#o.coordination.ttl,
      )
    } catch (err) {
      this.#d.log.debug({ err }, 'heartbeat failed')
    }
  }

  /** One line per change of cause; a configuration error is an error, retried slowly. */
  #onFault(fault: StoreFault | undefined): void {
    const { log, store } = this.#d
    if (this.#closed) return
    if (fault === undefined) {
      log.info({ store: store.target }, 'shared pool store error cleared')
    } else if (fault.config) {
      log.error(
        { store: store.target, cause: fault.cause, error: fault.message },
        `shared pool store refused by configuration (${fault.cause}): ${fault.hint}; retrying every ${CONFIG_ERROR_RETRY_MS / 1000}s, serving the last known pool meanwhile`,
      )
    } else {
      log.warn(
        { store: store.target, cause: fault.cause, error: fault.message },
        `shared pool store error (${fault.cause}): ${fault.hint}`,
      )
    }
  }

  #onStatus(connected: boolean, error?: string): void {
    const { log, store, pool, clock, hooks } = this.#d
    hooks.storeStatus(connected)
    if (this.#closed) return
    if (connected) {
      log.info({ store: store.target }, 'shared pool store connected: resynchronising')
      // A reconnect always starts with a full read and a full republish.
      this.#version = -1
      void this.#heartbeat()
      this.#publisher.republishAll()
      this.#scheduleSync(true)
      return
    }
    log.warn(
      { store: store.target, error },
      'shared pool store unreachable: serving the last known pool on own checks (fail-static)',
    )
    const now = clock.now()
    for (const v of pool.views()) {
      pool.setSharedFacts(v.id, undefined, now)
      this.#setKind(v.id, 'http')
    }
    hooks.poolChanged()
  }

  #scheduleSync(full = false): void {
    if (full) this.#version = -1
    if (this.#syncing !== undefined) {
      this.#again = true
      return
    }
    this.#syncing = this.#sync().finally(() => {
      this.#syncing = undefined
      if (this.#again && !this.#closed) {
        this.#again = false
        this.#scheduleSync()
      }
    })
  }

  async #sync(): Promise<void> {
    const { store, log, hooks } = this.#d
    if (!store.connected || this.#closed) return
    let snap: SharedSnapshot
    try {
      snap = await store.snapshot(
        this.#o.coordination.ttl,
        this.#version >= 0 ? this.#version : undefined,
      )
    } catch (err) {
      hooks.synced(false)
      log.debug({ err }, 'shared pool resync failed')
      return
    }
    this.#damage.reportInvalid(snap.invalid)
    const repair = this.#needsRepair(snap)
    // Nothing of this instance's to seed (no config members): adopt what sidecars wrote.
    if ((repair !== undefined || !snap.seeded) && (await this.#reseed(repair))) return
    this.#last = snap
    this.#lastSyncAt = this.#d.clock.now()
    let repairs: readonly MemberRepair[] = []
    if (snap.members !== undefined) {
      const healed = healMembers(snap, snap.members, this.#members, id =>
        this.#d.pool.get(id),
      )
      repairs = healed.repairs
      this.#adoptMembers(snap, healed.members)
    }
    this.#version = snap.version
    this.#applyFacts(snap)
    const stale = this.#publisher.checkStored(snap.observations.get(this.#o.instanceId))
    if (stale > 0) this.#d.hooks.repaired('observation', stale)
    await this.#damage.repairMembers(repairs)
    await this.#finishRemovals(snap)
    hooks.synced(true)
  }

  /**
   * Why the shared membership must be rewritten from this instance's last good copy, or
   * undefined: its key holds another Redis type, or it vanished without any write (the
   * version did not move), i.e. something deleted it under corral. Adopting either as
   * "no members" would drain the whole pool.
   */
  /** Seeds or repairs; true if it wrote (or tried): then the next sync adopts. */
  async #reseed(repair: string | undefined): Promise<boolean> {
    const attempted = await this.#damage.reseed(repair)
    if (!attempted || this.#closed) return attempted
    this.#version = -1
    // Adopt what is there now (ours, or the instance that seeded first).
    this.#scheduleSync()
    return true
  }

  #needsRepair(snap: SharedSnapshot): string | undefined {
    if (this.#members.size === 0) return undefined
    if (snap.membersDamaged) return 'the members key holds another Redis type'
    return undefined
  }

  #adoptMembers(snap: SharedSnapshot, records: ReadonlyMap<string, MemberRecord>): void {
    // An empty, never-seeded pool with no config members: nothing to adopt yet.
    if (!snap.seeded && records.size === 0) return
    this.#members = records
    // Warm start is for this instance's start only: a member added later (e.g. a replica
    // re-registered by its sidecar after an upgrade) starts from health.initialState, not
    // from the verdict of its previous life.
    const warm = warmVerdicts(snap, this.#warmed ? 0 : this.#o.coordination.warmStart)
    this.#warmed = true
    const applied = applyMembership(this.#d.pool, records, warm, this.#d.clock.now())
    if (applied > 0) this.#d.hooks.poolChanged()
  }

  async #write(write: MemberWrite): Promise<MemberRecord> {
    const record = await this.#d.store.putMember(write, this.#o.instanceId)
    await this.#apply(record)
    return record
  }

  async #apply(record: MemberRecord): Promise<void> {
    const next = new Map(this.#members)
    next.set(record.member.id, record)
    // Apply our own write at once (the operator sees its effect in the answer); the
    // notice it published brings every other instance along.
    if (this.#last !== undefined) this.#adoptMembers(this.#last, next)
    else this.#members = next
    await Promise.resolve()
  }

  #applyFacts(snap: SharedSnapshot): void {
    if (this.#o.sharedFacts === false) return
    const { pool, clock, hooks } = this.#d
    const ids = pool.views().map(v => v.id)
    const facts = factsFor(snap, this.#o.instanceId, ids, this.#o.coordination.probes)
    const now = clock.now()
    const before = pool.version
    for (const [id, f] of facts) {
      pool.setSharedFacts(id, f.facts, now)
      this.#setKind(id, f.probe)
    }
    if (pool.version !== before) hooks.poolChanged()
  }

  #setKind(member: string, kind: ProbeKind): void {
    if ((this.#kinds.get(member) ?? 'http') === kind) return
    this.#kinds.set(member, kind)
    this.#d.hooks.setProbeKind(member, kind)
    // Peers trust an owner's verdict only while it says it probes /health: say so now.
    const last = this.#publisher.last(member)
    if (last !== undefined)
      this.#publisher.observe(member, last.health, last.reason, kind)
  }

  /**
   * Deletes the records of members being removed once every live instance has applied
   * the removal and has no connection left to them. Any instance may do it; it is
   * idempotent.
   */
  async #finishRemovals(snap: SharedSnapshot): Promise<void> {
    for (const id of removalsDone(this.#members, snap.instances, id =>
      this.#d.hooks.load(id),
    )) {
      try {
        await this.#d.store.deleteMember(id, this.#o.instanceId)
        this.#d.log.info(
          { member: id },
          'member removed from the shared pool after draining',
        )
      } catch (err) {
        this.#d.log.debug({ err, member: id }, 'could not delete a removed member yet')
      }
    }
  }
}

const STARTED_AT = Date.now()
/** Change notices within this window cause one re-read. */
export const NOTICE_DEBOUNCE_MS = 15

/** Re-exported for the app: the error a membership write throws while the store is down. */
export { StoreUnavailableError }
