// The shell that shares this instance's pool through a PoolStore: it seeds or adopts the
// shared membership, heartbeats, publishes this instance's own verdicts, re-reads the
// shared state on every notice, every reconnect and every `resync`, and feeds the facts to
// the pool, which alone decides verdicts. While the store is unreachable the instance runs
// on its last known pool and its own checks (fail-static) and refuses membership writes.
import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import type { Config, MemberConfig } from '../config/load.js'
import type { ProbeKind } from '../health/checker.js'
import type { Pool } from '../pool/pool.js'
import type { AdminState, Health, MemberEndpoint } from '../pool/types.js'
import { isRoutable } from '../pool/member-state.js'
import {
  RECORD_VERSION,
  type DrainLease,
  type MemberRecord,
  type Observation,
} from './codec.js'
import { drainDecision, type BudgetStanding } from './drain-budget.js'
import { factsFor } from './facts.js'
import { membershipOps } from './membership.js'
import { healMembers } from './heal.js'
import {
  StoreUnavailableError,
  type DrainGrant,
  type InvalidEntry,
  type MemberRepair,
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
  /** A stored value was unreadable and skipped. */
  invalid(entry: InvalidEntry): void
  /** Damaged or vanished records of this kind were rewritten from good copies. */
  repaired(kind: 'member' | 'observation', count: number): void
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
  /** What this instance last published per member: health and probe kind. */
  readonly #published = new Map<
    string,
    { health: Health; probe: ProbeKind; reason: string }
  >()
  readonly #kinds = new Map<string, ProbeKind>()
  readonly #dirty = new Set<string>()
  #publishTimer: NodeJS.Timeout | undefined
  #noticeTimer: NodeJS.Timeout | undefined
  /** Invalid keys already logged (one line per key per distinct error). */
  readonly #logged = new Map<string, string>()

  constructor(options: CoordinatorOptions, deps: CoordinatorDeps) {
    this.#o = options
    this.#d = deps
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
    await store.start({
      status: (connected, error) => {
        this.#onStatus(connected, error)
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
    clearTimeout(this.#publishTimer)
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
    const old = this.#members.get(endpoint.id)
    const record = await this.#d.store.putMember(
      {
        member: endpoint,
        // Upserting cancels a pending removal, as in the local pool.
        admin: old === undefined || old.removing ? 'enabled' : old.admin,
        removing: false,
        reason,
      },
      this.#o.instanceId,
    )
    await this.#apply(record)
    return record
  }

  /** Sets a member's admin state everywhere; undefined if no such member. */
  async setAdmin(
    id: string,
    admin: AdminState,
    reason: string,
  ): Promise<MemberRecord | undefined> {
    const old = this.#members.get(id)
    if (old === undefined) return undefined
    const record = await this.#d.store.putMember(
      {
        member: old.member,
        admin,
        removing: admin === 'enabled' ? false : old.removing,
        reason,
      },
      this.#o.instanceId,
    )
    await this.#apply(record)
    return record
  }

  /** DELETE everywhere: drain on every instance, then the record goes once all are idle. */
  async remove(id: string): Promise<MemberRecord | undefined> {
    const old = this.#members.get(id)
    if (old === undefined) return undefined
    const record = await this.#d.store.putMember(
      {
        member: old.member,
        admin: 'draining',
        removing: true,
        reason: 'removal requested',
      },
      this.#o.instanceId,
    )
    await this.#apply(record)
    return record
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
    // Only health is this instance's to judge: admin states come from the store itself,
    // inside the script (a view may still show a drain another instance just ended).
    const down = this.#d.pool
      .views()
      .filter(v => v.id !== id && v.health === 'down')
      .map(v => v.id)
    const grant = await this.#d.store.drain(
      {
        write: { member: old.member, admin: 'draining', removing: old.removing, reason },
        holder,
        ttlMs: this.#o.coordination.drainLease,
        down,
        force,
      },
      this.#o.instanceId,
    )
    if (grant.ok) await this.#apply(grant.record)
    return grant
  }

  /**
   * How many more drains may start now (the corral_drain_budget gauge): floor((N-1)/2)
   * for N members less the members out, as drain-budget.ts counts them, from this
   * instance's pool and its last snapshot's leases.
   */
  drainBudget(): number {
    const standings = new Map<string, BudgetStanding>()
    const down = new Set<string>()
    for (const v of this.#d.pool.views()) {
      standings.set(v.id, v.removing ? 'removing' : v.admin)
      if (v.health === 'down') down.add(v.id)
    }
    const leases = this.#last?.drains ?? new Map<string, DrainLease>()
    const d = drainDecision(standings, leases, down, undefined)
    return Math.max(0, d.budget - d.out.length)
  }

  /**
   * This instance's own verdict on a member changed, or its probe kind did: publish it.
   * Changes within PUBLISH_BATCH_MS go out together (one script, one notice): a restart
   * with 1,000 members must not send 1,000 notices to every peer.
   */
  observed(member: string, health: Health, reason: string): void {
    const probe = this.#kinds.get(member) ?? 'http'
    const last = this.#published.get(member)
    if (last?.health === health && last.probe === probe) return
    this.#published.set(member, { health, probe, reason })
    this.#dirty.add(member)
    this.#publishTimer ??= setTimeout(() => {
      this.#publishTimer = undefined
      void this.#publishDirty()
    }, PUBLISH_BATCH_MS)
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

  async #publishDirty(): Promise<void> {
    if (!this.#d.store.connected || this.#closed) return
    const at = Math.round((this.#d.wallNow ?? Date.now)())
    const entries: { member: string; observation: Observation }[] = []
    for (const member of this.#dirty) {
      const p = this.#published.get(member)
      if (p === undefined) continue
      entries.push({
        member,
        observation: {
          v: RECORD_VERSION,
          health: p.health,
          probe: p.probe,
          reason: p.reason.slice(0, 500),
          at,
        },
      })
    }
    this.#dirty.clear()
    try {
      await this.#d.store.putObservations(
        this.#o.instanceId,
        entries,
        this.#o.coordination.ttl,
      )
    } catch (err) {
      // The reconnect republishes every verdict; nothing is lost.
      this.#d.log.debug({ err }, 'could not publish observations')
    }
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

  #onStatus(connected: boolean, error?: string): void {
    const { log, store, pool, clock, hooks } = this.#d
    hooks.storeStatus(connected)
    if (this.#closed) return
    if (connected) {
      log.info({ store: store.target }, 'shared pool store connected: resynchronising')
      // A reconnect always starts with a full read and a full republish.
      this.#version = -1
      void this.#heartbeat()
      for (const member of this.#published.keys()) this.#dirty.add(member)
      void this.#publishDirty()
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
    this.#reportInvalid(snap.invalid)
    const repair = this.#needsRepair(snap)
    if (repair !== undefined || !snap.seeded) {
      await this.#seed(repair)
      return
    }
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
    this.#checkOwnObservations(snap)
    if (repairs.length > 0) await this.#repair(repairs)
    await this.#finishRemovals(snap)
    hooks.synced(true)
  }

  /**
   * Why the shared membership must be rewritten from this instance's last good copy, or
   * undefined: its key holds another Redis type, or it vanished without any write (the
   * version did not move), i.e. something deleted it under corral. Adopting either as
   * "no members" would drain the whole pool.
   */
  #needsRepair(snap: SharedSnapshot): string | undefined {
    if (this.#members.size === 0) return undefined
    if (snap.membersDamaged) return 'the members key holds another Redis type'
    return undefined
  }

  /** Rewrites damaged or vanished records from this instance's good copies (healMembers). */
  async #repair(repairs: readonly MemberRepair[]): Promise<void> {
    const { store, log, hooks } = this.#d
    try {
      const n = await store.repairMembers(repairs, this.#o.instanceId)
      if (n === 0) return
      hooks.repaired('member', n)
      log.warn(
        {
          members: repairs.map(r => r.write.member.id),
          damaged: repairs.filter(r => r.found !== undefined).length,
          vanished: repairs.filter(r => r.found === undefined).length,
        },
        'repaired damaged shared pool records from the last good copy',
      )
    } catch (err) {
      // The next resync tries again; meanwhile the good copies stay in force here.
      log.debug({ err }, 'could not repair damaged shared pool records yet')
    }
  }

  /**
   * This instance's own verdicts in the store must match what it published: a damaged,
   * deleted or expired observations hash is republished whole (the verdicts hash with it).
   */
  #checkOwnObservations(snap: SharedSnapshot): void {
    const mine = snap.observations.get(this.#o.instanceId)
    if (mine === undefined || this.#published.size === 0 || this.#closed) return
    let stale = 0
    for (const [member, p] of this.#published) {
      const o = mine.get(member)
      if (o?.health !== p.health || o.probe !== p.probe) {
        this.#dirty.add(member)
        stale++
      }
    }
    if (stale === 0 || this.#publishTimer !== undefined) return
    this.#d.hooks.repaired('observation', stale)
    this.#publishTimer = setTimeout(() => {
      this.#publishTimer = undefined
      void this.#publishDirty()
    }, PUBLISH_BATCH_MS)
  }

  /**
   * Seeds a never-seeded (or emptied: Redis restarted without persistence) shared pool
   * with this instance's current pool, which is the config file's at first start and the
   * last shared state after that, so nothing is lost; `repair` forces the rewrite.
   */
  async #seed(repair: string | undefined): Promise<void> {
    const { store, log, pool } = this.#d
    const writes = pool
      .views()
      .filter(v => !v.removing)
      .map(v => ({
        member: { id: v.id, address: v.address, ports: v.ports, weight: v.weight },
        admin: v.admin,
        removing: false,
        reason: repair !== undefined ? 'restored after damage' : 'seeded',
      }))
    if (writes.length > 0 || repair !== undefined) {
      const wrote = await store
        .seed(writes, this.#o.instanceId, repair !== undefined)
        .catch(() => false)
      if (wrote && repair !== undefined) {
        this.#d.hooks.repaired('member', writes.length)
        log.warn(
          { members: writes.length, why: repair },
          'repaired the shared pool from the last good copy',
        )
      } else if (wrote) {
        log.info(
          { members: writes.length },
          "seeded the shared pool from this instance's pool",
        )
      }
    }
    if (this.#closed) return
    this.#version = -1
    // Adopt what is there now (ours, or the instance that seeded first).
    if (writes.length > 0 || repair !== undefined) this.#scheduleSync()
  }

  #adoptMembers(snap: SharedSnapshot, records: ReadonlyMap<string, MemberRecord>): void {
    const { pool, clock } = this.#d
    const seeded = snap.seeded || records.size > 0
    // An empty, never-seeded pool with no config members: nothing to adopt yet.
    if (!seeded) return
    this.#members = records
    // Warm start is for this instance's start only: a member added later (e.g. a replica
    // re-registered by its sidecar after an upgrade) starts from health.initialState, not
    // from the verdict of its previous life.
    const warmMs = this.#warmed ? 0 : this.#o.coordination.warmStart
    this.#warmed = true
    const warm = (id: string): Health | undefined => {
      const v = snap.verdicts.get(id)
      return v !== undefined && warmMs > 0 && snap.now - v.at <= warmMs
        ? v.health
        : undefined
    }
    const now = clock.now()
    const ops = membershipOps(records, pool.views(), warm)
    for (const op of ops) {
      switch (op.op) {
        case 'upsert':
          pool.upsert(op.endpoint, now, op.initial)
          break
        case 'admin':
          pool.setAdmin(op.id, op.admin, now, op.reason)
          break
        case 'request-removal':
          pool.requestRemoval(op.id, now)
          break
        default: {
          const unknown: never = op
          throw new Error(`unknown membership op ${JSON.stringify(unknown)}`)
        }
      }
    }
    if (ops.length > 0) this.#d.hooks.poolChanged()
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
    const last = this.#published.get(member)
    if (last !== undefined) this.observed(member, last.health, last.reason)
  }

  /**
   * Deletes the records of members being removed once every live instance has applied
   * the removal and has no connection left to them. Any instance may do it; it is
   * idempotent.
   */
  async #finishRemovals(snap: SharedSnapshot): Promise<void> {
    for (const [id, r] of this.#members) {
      if (!r.removing) continue
      let idle = this.#d.hooks.load(id) === 0
      for (const inst of snap.instances.values()) {
        if (inst.appliedVersion < r.rev || (inst.loads[id] ?? 0) > 0) idle = false
      }
      if (!idle) continue
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

  #reportInvalid(entries: readonly InvalidEntry[]): void {
    for (const e of entries) {
      this.#d.hooks.invalid(e)
      if (this.#logged.get(e.key) === e.error) continue
      this.#logged.set(e.key, e.error)
      this.#d.log.warn(
        { key: e.key, kind: e.kind, error: e.error },
        'ignored an unreadable shared pool entry (the last good value stays in force)',
      )
    }
    if (this.#logged.size > 10_000) this.#logged.clear()
  }
}

const STARTED_AT = Date.now()
/** Own verdict changes within this window are published together. */
export const PUBLISH_BATCH_MS = 20
/** Change notices within this window cause one re-read. */
export const NOTICE_DEBOUNCE_MS = 15

/** Re-exported for the app: the error a membership write throws while the store is down. */
export { StoreUnavailableError }
