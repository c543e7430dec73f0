// PoolStore in memory, for one process: tests, tools, and several Coordinators sharing one
// instance. Same semantics as redis-store.ts (versions, the seeded flag, TTL'd heartbeats
// and observations, notices to every subscriber, drain leases with a budget, force-seed
// repair), with time from an injected wall clock instead of Redis TIME. Records are held
// already parsed: nothing untrusted reaches it, so `invalid` is always empty.
import type { Clock } from '../clock.js'
import {
  memberRecordSchema,
  parseRecord,
  RECORD_VERSION,
  type DrainLease,
  type InstanceRecord,
  type MemberRecord,
  type Observation,
  type SidecarRecord,
  type Verdict,
} from './codec.js'
import {
  drainDecision,
  leaseIsVoid,
  releasesLease,
  standingOf,
  type BudgetStanding,
} from './drain-budget.js'
import { TOMBSTONES } from './redis-scripts.js'
import {
  StoreUnavailableError,
  type DrainGrant,
  type DrainRequest,
  type MemberRepair,
  type MemberWrite,
  type PoolStore,
  type SharedSnapshot,
  type StoreEvents,
  type StoreNotice,
} from './store.js'

/** Wall-clock milliseconds (Date.now() in production): the one clock of every instance. */
export const wallClock: Clock = { now: () => Date.now() }

interface InstanceEntry {
  /** Last heartbeat (the instances ZSET score in Redis). */
  readonly seenAt: number
  readonly record: InstanceRecord
  /** The instance key's TTL. */
  readonly expiresAt: number
}

interface ObservationsEntry {
  readonly byMember: Map<string, Observation>
  /** The observations hash's TTL, refreshed by heartbeats and writes. */
  expiresAt: number
}

/** See the file comment. `close()` takes effect once every `start()` has been closed. */
export class MemoryStore implements PoolStore {
  readonly kind = 'memory'
  readonly target = 'memory'
  readonly #clock: Clock
  readonly #subscribers = new Set<StoreEvents>()
  readonly #members = new Map<string, MemberRecord>()
  #version = 0
  #seeded = false
  readonly #instances = new Map<string, InstanceEntry>()
  readonly #observations = new Map<string, ObservationsEntry>()
  readonly #verdicts = new Map<string, Verdict>()
  readonly #sidecars = new Map<string, SidecarRecord>()
  readonly #drains = new Map<string, DrainLease>()
  /** Tombstones: member id → version of its delete (insertion order = age). */
  readonly #removed = new Map<string, number>()
  #opened = 0
  #reachable = true

  /** `clock` gives wall-clock ms (default Date.now()). */
  constructor(clock: Clock = wallClock) {
    this.#clock = clock
  }

  get connected(): boolean {
    return this.#opened > 0 && this.#reachable
  }

  start(events: StoreEvents): Promise<void> {
    this.#opened++
    this.#subscribers.add(events)
    if (this.#reachable) events.status(true)
    return Promise.resolve()
  }

  close(): Promise<void> {
    if (this.#opened > 0) this.#opened--
    if (this.#opened === 0) this.#subscribers.clear()
    return Promise.resolve()
  }

  /**
   * Simulates losing (false) or regaining (true) the store: every call fails with
   * StoreUnavailableError meanwhile, and subscribers get the status change.
   */
  setReachableForTest(reachable: boolean): void {
    if (this.#reachable === reachable) return
    this.#reachable = reachable
    for (const s of this.#subscribers) {
      if (reachable) s.status(true)
      else s.status(false, 'memory store unreachable (test)')
    }
  }

  snapshot(ttlMs: number, knownVersion?: number): Promise<SharedSnapshot> {
    return this.#run(() => {
      const now = this.#clock.now()
      const instances = new Map<string, InstanceRecord>()
      const observations = new Map<string, ReadonlyMap<string, Observation>>()
      for (const [id, e] of this.#instances) {
        // A live heartbeat whose record expired is not counted (as in Redis).
        if (e.seenAt < now - ttlMs || e.expiresAt <= now) continue
        instances.set(id, e.record)
        const obs = this.#observations.get(id)
        observations.set(
          id,
          obs !== undefined && obs.expiresAt > now ? new Map(obs.byMember) : new Map(),
        )
      }
      const sidecars = new Map<string, SidecarRecord>()
      for (const [m, s] of this.#sidecars) if (s.at + s.ttlMs > now) sidecars.set(m, s)
      this.#reapVoidLeases()
      const drains = new Map<string, DrainLease>()
      for (const [m, d] of this.#drains) if (d.expiresAt > now) drains.set(m, d)
      return {
        now,
        version: this.#version,
        members: knownVersion === this.#version ? undefined : new Map(this.#members),
        membersMissing: this.#members.size === 0,
        unreadableMembers: new Map(),
        removed: new Map(this.#removed),
        membersDamaged: false,
        seeded: this.#seeded,
        instances,
        observations,
        sidecars,
        drains,
        verdicts: new Map(this.#verdicts),
        invalid: [],
      }
    })
  }

  seed(members: readonly MemberWrite[], by: string, force = false): Promise<boolean> {
    return this.#run(() => {
      if (!force && this.#seeded) return false
      if (force) this.#members.clear()
      const rev = ++this.#version
      for (const m of members) this.#members.set(m.member.id, this.#record(m, by, rev))
      this.#seeded = true
      this.#notify('members', by)
      return true
    })
  }

  putMember(write: MemberWrite, by: string): Promise<MemberRecord> {
    return this.#run(() => {
      const cur = this.#members.get(write.member.id)
      if (cur !== undefined && write.ifAbsent === true) return cur
      const kept =
        write.keepAdmin === true && cur !== undefined && !cur.removing
          ? cur.admin
          : write.admin
      const removing =
        write.removing || (write.keepRemoving === true && cur?.removing === true)
      const final = { ...write, admin: kept, removing }
      const record = this.#record(final, by, this.#version + 1)
      this.#version++
      if (write.unseeded !== true) this.#seeded = true
      this.#members.set(write.member.id, record)
      this.#removed.delete(write.member.id)
      if (releasesLease(final)) this.#drains.delete(write.member.id)
      this.#notify('members', by)
      return record
    })
  }

  repairMembers(repairs: readonly MemberRepair[], by: string): Promise<number> {
    return this.#run(() => {
      // Records here are never damaged: only a missing one (no tombstone since the copy)
      // can be put back.
      const todo = repairs.filter(r => {
        const id = r.write.member.id
        const tomb = this.#removed.get(id)
        return (
          r.found === undefined &&
          !this.#members.has(id) &&
          !(tomb !== undefined && tomb >= r.rev)
        )
      })
      if (todo.length === 0) return 0
      const rev = ++this.#version
      for (const r of todo)
        this.#members.set(r.write.member.id, this.#record(r.write, by, rev))
      this.#notify('members', by)
      return todo.length
    })
  }

  deleteMember(id: string, by: string, keepLease = false): Promise<number | undefined> {
    return this.#run(() => {
      if (!keepLease) this.#drains.delete(id)
      if (!this.#members.delete(id)) return undefined
      this.#version++
      this.#removed.delete(id)
      this.#removed.set(id, this.#version)
      if (this.#removed.size > TOMBSTONES) {
        for (const oldest of this.#removed.keys()) {
          this.#removed.delete(oldest)
          break
        }
      }
      this.#notify('members', by)
      return this.#version
    })
  }

  heartbeat(record: InstanceRecord, ttlMs: number): Promise<void> {
    return this.#run(() => {
      const now = this.#clock.now()
      this.#instances.set(record.id, { seenAt: now, record, expiresAt: now + ttlMs })
      // Instances gone for ten TTLs are forgotten entirely (as in Redis).
      for (const [id, e] of this.#instances) {
        if (e.seenAt < now - 10 * ttlMs) this.#instances.delete(id)
      }
      const obs = this.#observations.get(record.id)
      if (obs !== undefined) obs.expiresAt = now + ttlMs
    })
  }

  leave(instance: string): Promise<void> {
    return this.#run(() => {
      this.#instances.delete(instance)
      this.#observations.delete(instance)
      this.#notify('instances', instance)
    })
  }

  putObservation(
    instance: string,
    member: string,
    observation: Observation,
    ttlMs: number,
  ): Promise<void> {
    return this.#run(() => {
      const now = this.#clock.now()
      let obs = this.#observations.get(instance)
      if (obs === undefined || obs.expiresAt <= now) {
        obs = { byMember: new Map(), expiresAt: now + ttlMs }
        this.#observations.set(instance, obs)
      }
      obs.byMember.set(member, observation)
      obs.expiresAt = now + ttlMs
      this.#verdicts.set(member, {
        v: RECORD_VERSION,
        health: observation.health,
        by: instance,
        at: observation.at,
      })
      this.#notify('observations', instance)
    })
  }

  async putObservations(
    instance: string,
    entries: readonly { readonly member: string; readonly observation: Observation }[],
    ttlMs: number,
  ): Promise<void> {
    for (const e of entries)
      await this.putObservation(instance, e.member, e.observation, ttlMs)
  }

  putSidecar(member: string, record: SidecarRecord): Promise<void> {
    return this.#run(() => {
      this.#sidecars.set(member, record)
      this.#notify('sidecars', record.id)
    })
  }

  deleteSidecar(member: string): Promise<void> {
    return this.#run(() => {
      this.#sidecars.delete(member)
      this.#notify('sidecars', member)
    })
  }

  drain(request: DrainRequest, by: string): Promise<DrainGrant> {
    return this.#run((): DrainGrant => {
      const id = request.write.member.id
      if (!this.#members.has(id)) return { ok: false, missing: true }
      const now = this.#clock.now()
      this.#reapVoidLeases()
      for (const [m, lease] of this.#drains)
        if (lease.expiresAt <= now) this.#drains.delete(m)
      const standings = new Map<string, BudgetStanding>()
      for (const [m, r] of this.#members) standings.set(m, standingOf(r))
      const d = drainDecision(standings, this.#drains, new Set(request.down), id)
      if (!request.force && !d.fits) return { ok: false, out: d.out, budget: d.budget }
      const lease: DrainLease = {
        v: RECORD_VERSION,
        holder: request.holder,
        token: request.holder,
        reason: request.write.reason.slice(0, 500),
        at: now,
        expiresAt: now + request.ttlMs,
      }
      // Already leaving: stays so, and takes no lease (it would be void).
      const leaving = this.#members.get(id)?.removing === true
      if (!leaving) this.#drains.set(id, lease)
      const write = leaving ? { ...request.write, removing: true } : request.write
      const record = this.#record(write, by, ++this.#version)
      this.#members.set(id, record)
      this.#notify('members', by)
      return { ok: true, lease, record }
    })
  }

  /** Drops leases whose member is back in rotation or leaving (drain-budget.ts leaseIsVoid). */
  #reapVoidLeases(): void {
    for (const m of [...this.#drains.keys()]) {
      const r = this.#members.get(m)
      if (r !== undefined && leaseIsVoid(standingOf(r))) this.#drains.delete(m)
    }
  }

  releaseDrain(member: string, holder: string): Promise<void> {
    return this.#run(() => {
      const lease = this.#drains.get(member)
      if (lease?.holder !== holder) return
      this.#drains.delete(member)
      this.#notify('drains', holder)
    })
  }

  /** The record as Redis would store it, checked by the same codec the readers use. */
  #record(write: MemberWrite, by: string, rev: number): MemberRecord {
    const raw = JSON.stringify({
      v: RECORD_VERSION,
      member: {
        id: write.member.id,
        address: write.member.address,
        ports: write.member.ports,
        weight: write.member.weight,
        ...(write.member.source !== undefined ? { source: write.member.source } : {}),
        ...(write.member.proxyProtocol !== undefined
          ? { proxyProtocol: write.member.proxyProtocol }
          : {}),
      },
      admin: write.admin,
      removing: write.removing,
      rev,
      by,
      reason: write.reason,
      at: this.#clock.now(),
    })
    const parsed = parseRecord(memberRecordSchema, 'written record', raw)
    if (!parsed.ok)
      throw new Error(`corral wrote a record it cannot read: ${parsed.error}`)
    return parsed.value
  }

  /** Every subscriber hears it, the writer included, after the write returns (pub/sub). */
  #notify(kind: StoreNotice['kind'], from: string): void {
    const notice: StoreNotice = { kind, from }
    for (const s of this.#subscribers) {
      queueMicrotask(() => {
        s.notice(notice)
      })
    }
  }

  #run<T>(command: () => T): Promise<T> {
    if (!this.connected) {
      return Promise.reject(
        new StoreUnavailableError('memory store is closed or unreachable'),
      )
    }
    try {
      return Promise.resolve(command())
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)))
    }
  }
}
