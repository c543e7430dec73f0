// PoolStore on Redis (ioredis): standalone via `url` (redis:// or rediss://) or Sentinel
// via `sentinels` + `name`. Commands fail fast while disconnected (enableOfflineQueue:
// false): an admin write must fail now, not land minutes later after the operator was told
// it failed. Pub/sub runs on a second connection (a subscribed connection can run nothing
// else) and only says "something changed"; the owner re-reads the snapshot on every notice,
// on every reconnect and periodically.
import { Redis } from 'ioredis'
import type { RedisConfig } from '../config/coordination-schema.js'
import {
  drainLeaseSchema,
  memberRecordSchema,
  parseRecord,
  RECORD_VERSION,
  type InstanceRecord,
  type MemberRecord,
  type Observation,
  type SidecarRecord,
  type Verdict,
} from './codec.js'
import type { OutMember, OutReason } from './drain-budget.js'
import { poolKeys, type PoolKeys } from './keys.js'
import {
  COMMAND_TIMEOUT_MS,
  connectionOptions,
  notice,
  parseNotice,
  redactUrl,
  SCRIPTS,
  type Commands,
} from './redis-connection.js'
import { readRedisSecrets } from './redis-secrets.js'
import { asString, decodeSnapshot } from './snapshot-decode.js'
import { classifyStoreError, type StoreFault } from './store-fault.js'
import {
  StoreUnavailableError,
  type DrainGrant,
  type DrainRequest,
  type MemberRepair,
  type MemberWrite,
  type PoolStore,
  type SharedSnapshot,
  type StoreEvents,
} from './store.js'

/** Timed-out commands in a row after which the connection counts as stalled. */
const STALLED_AFTER_TIMEOUTS = 2

/** See the file comment. */
export class RedisStore implements PoolStore {
  readonly kind = 'redis'
  readonly target: string
  readonly warnings: readonly string[]
  readonly #keys: PoolKeys
  readonly #prefix: string
  readonly #client: Redis & Commands
  readonly #subscriber: Redis
  #connected = false
  #events: StoreEvents | undefined
  #closed = false
  /** Commands in a row that timed out (see #run). */
  #timeouts = 0
  /** Why Redis cannot be used now; undefined while it works. */
  #fault: StoreFault | undefined

  constructor(config: RedisConfig) {
    this.#prefix = config.prefix
    this.#keys = poolKeys(config.prefix)
    this.warnings =
      config.tls?.insecure === true
        ? [
            'redis.tls.insecure: true: the Redis certificate and host name are not verified (testing only)',
          ]
        : []
    const options = connectionOptions(
      config,
      readRedisSecrets(config),
      () => this.#fault?.config === true,
    )
    this.target =
      config.sentinels !== undefined
        ? `sentinel ${config.name ?? 'mymaster'} via ${config.sentinels.map(s => `${s.host}:${s.port}`).join(',')}`
        : redactUrl(config.url ?? '')
    const client =
      config.url !== undefined && config.sentinels === undefined
        ? new Redis(config.url, options)
        : new Redis(options)
    for (const [name, s] of Object.entries(SCRIPTS)) client.defineCommand(name, s)
    this.#client = client as Redis & Commands
    // The subscriber may queue its SUBSCRIBE until connected; ioredis re-subscribes on
    // every reconnect by itself.
    this.#subscriber = client.duplicate({ enableOfflineQueue: true })
  }

  get connected(): boolean {
    return this.#connected
  }

  /** Why Redis cannot be used now (classified); undefined while it works. */
  get fault(): StoreFault | undefined {
    return this.#fault
  }

  async start(events: StoreEvents): Promise<void> {
    this.#events = events
    this.#client.on('ready', () => {
      this.#setFault(undefined)
      this.#setConnected(true)
    })
    this.#client.on('close', () => {
      this.#setConnected(false, 'connection closed')
    })
    this.#client.on('error', (err: Error) => {
      const fault = classifyStoreError(err)
      // A closed connection also fails its pending commands ("max retries per request"):
      // that echo must not hide the cause already known.
      if (fault.cause !== 'other' || this.#fault === undefined) this.#setFault(fault)
      this.#setConnected(false, err.message)
    })
    this.#subscriber.on('error', () => {
      // The command connection reports the same outage; one line per change is enough.
    })
    this.#subscriber.on('message', (_channel: string, message: string) => {
      const notice = parseNotice(message)
      if (notice !== undefined) events.notice(notice)
    })
    void this.#subscriber.subscribe(this.#keys.events).catch((err: unknown) => {
      // Retried by ioredis on reconnect (autoResubscribe); the periodic resync covers the
      // gap. An ACL without the channel is a fault of its own: say so.
      const fault = classifyStoreError(err)
      if (fault.cause === 'no_permission') this.#setFault(fault)
    })
    await this.#client.connect().catch((err: unknown) => {
      this.#setConnected(false, err instanceof Error ? err.message : String(err))
    })
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#client.disconnect()
    this.#subscriber.disconnect()
    await Promise.resolve()
  }

  async snapshot(ttlMs: number, knownVersion?: number): Promise<SharedSnapshot> {
    const k = this.#keys
    const reply = await this.#run(() =>
      this.#client.snapshot(
        k.instances,
        k.version,
        k.members,
        k.seeded,
        k.sidecars,
        k.drains,
        k.verdicts,
        k.removed,
        String(ttlMs),
        knownVersion === undefined ? '' : String(knownVersion),
        `${this.#prefix}:instance:`,
        `${this.#prefix}:obs:`,
      ),
    )
    return decodeSnapshot(this.#keys, reply)
  }

  async seed(
    members: readonly MemberWrite[],
    by: string,
    force = false,
  ): Promise<boolean> {
    const k = this.#keys
    const argv = [notice('members', by), force ? 'force' : '']
    for (const m of members) argv.push(m.member.id, this.#memberJson(m, by))
    const r = await this.#run(() =>
      this.#client.seed(k.members, k.version, k.events, k.seeded, ...argv),
    )
    return r === 1
  }

  async putMember(write: MemberWrite, by: string): Promise<MemberRecord> {
    const k = this.#keys
    const json = this.#memberJson(write, by)
    const raw = await this.#run(() =>
      this.#client.putMember(
        k.members,
        k.version,
        k.events,
        k.seeded,
        k.drains,
        k.removed,
        write.member.id,
        json,
        notice('members', by),
        write.keepAdmin === true
          ? 'keep-admin'
          : write.keepRemoving === true
            ? 'keep-removing'
            : '',
        write.unseeded === true ? 'no-seed' : '',
        write.ifAbsent === true ? 'if-absent' : '',
      ),
    )
    return stored(raw)
  }

  async repairMembers(repairs: readonly MemberRepair[], by: string): Promise<number> {
    if (repairs.length === 0) return 0
    const k = this.#keys
    const argv = [notice('members', by)]
    for (const r of repairs) {
      argv.push(
        r.write.member.id,
        r.found ?? '',
        this.#memberJson(r.write, by),
        String(r.rev),
      )
    }
    return this.#run(() =>
      this.#client.repairMembers(k.members, k.version, k.events, k.removed, ...argv),
    )
  }

  async deleteMember(
    id: string,
    by: string,
    keepLease = false,
  ): Promise<number | undefined> {
    const k = this.#keys
    const v = await this.#run(() =>
      this.#client.deleteMember(
        k.members,
        k.version,
        k.events,
        k.drains,
        k.removed,
        id,
        notice('members', by),
        keepLease ? 'keep' : '',
      ),
    )
    return v < 0 ? undefined : v
  }

  async heartbeat(record: InstanceRecord, ttlMs: number): Promise<void> {
    const k = this.#keys
    await this.#run(() =>
      this.#client.heartbeat(
        k.instances,
        k.instance(record.id),
        k.observations(record.id),
        record.id,
        JSON.stringify(record),
        String(ttlMs),
      ),
    )
  }

  async leave(instance: string): Promise<void> {
    const k = this.#keys
    await this.#run(() =>
      this.#client.leave(
        k.instances,
        k.instance(instance),
        k.observations(instance),
        k.events,
        instance,
        notice('instances', instance),
      ),
    )
  }

  async putObservation(
    instance: string,
    member: string,
    observation: Observation,
    ttlMs: number,
  ): Promise<void> {
    const k = this.#keys
    const verdict: Verdict = {
      v: RECORD_VERSION,
      health: observation.health,
      by: instance,
      at: observation.at,
    }
    await this.#run(() =>
      this.#client.putObservation(
        k.observations(instance),
        k.verdicts,
        k.events,
        member,
        JSON.stringify(observation),
        JSON.stringify(verdict),
        String(ttlMs),
        notice('observations', instance),
      ),
    )
  }

  async putObservations(
    instance: string,
    entries: readonly { readonly member: string; readonly observation: Observation }[],
    ttlMs: number,
  ): Promise<void> {
    if (entries.length === 0) return
    const k = this.#keys
    const argv = [String(ttlMs), notice('observations', instance)]
    for (const { member, observation } of entries) {
      const verdict: Verdict = {
        v: RECORD_VERSION,
        health: observation.health,
        by: instance,
        at: observation.at,
      }
      argv.push(member, JSON.stringify(observation), JSON.stringify(verdict))
    }
    await this.#run(() =>
      this.#client.putObservations(
        k.observations(instance),
        k.verdicts,
        k.events,
        ...argv,
      ),
    )
  }

  async putSidecar(member: string, record: SidecarRecord): Promise<void> {
    const k = this.#keys
    await this.#run(() =>
      this.#client.putSidecar(
        k.sidecars,
        k.events,
        member,
        JSON.stringify(record),
        notice('sidecars', record.id),
      ),
    )
  }

  async deleteSidecar(member: string): Promise<void> {
    const k = this.#keys
    await this.#run(() =>
      this.#client.putSidecar(
        k.sidecars,
        k.events,
        member,
        '',
        notice('sidecars', member),
      ),
    )
  }

  async drain(request: DrainRequest, by: string): Promise<DrainGrant> {
    const k = this.#keys
    const json = this.#memberJson(request.write, by)
    const reply = await this.#run(() =>
      this.#client.drain(
        k.members,
        k.version,
        k.events,
        k.seeded,
        k.drains,
        request.write.member.id,
        request.holder,
        request.write.reason.slice(0, 500),
        String(request.ttlMs),
        json,
        notice('members', by),
        request.force ? 'force' : '',
        ...request.down,
      ),
    )
    if (reply[0] === -1) return { ok: false, missing: true }
    if (reply[0] === 1) {
      const where = `${k.drains}[${request.write.member.id}]`
      const lease = parseRecord(drainLeaseSchema, where, asString(reply[1]))
      if (!lease.ok)
        throw new StoreUnavailableError(`unexpected drain lease: ${lease.error}`)
      return { ok: true, lease: lease.value, record: stored(asString(reply[2])) }
    }
    const out: OutMember[] = []
    for (let i = 2; i + 2 < reply.length; i += 3) {
      const holder = asString(reply[i + 2])
      out.push({
        member: asString(reply[i]),
        why: outReason(asString(reply[i + 1])),
        ...(holder !== '' ? { holder } : {}),
      })
    }
    out.sort((a, b) => (a.member < b.member ? -1 : a.member > b.member ? 1 : 0))
    return { ok: false, out, budget: Number(reply[1]) }
  }

  async releaseDrain(member: string, holder: string): Promise<void> {
    const k = this.#keys
    await this.#run(() =>
      this.#client.releaseDrain(
        k.drains,
        k.events,
        member,
        holder,
        notice('drains', holder),
      ),
    )
  }

  #memberJson(m: MemberWrite, by: string): string {
    // No rev: the script splices it in front (see redis-scripts.ts).
    return JSON.stringify({
      v: RECORD_VERSION,
      member: {
        id: m.member.id,
        address: m.member.address,
        ports: m.member.ports,
        weight: m.member.weight,
        ...(m.member.source !== undefined ? { source: m.member.source } : {}),
        ...(m.member.proxyProtocol !== undefined
          ? { proxyProtocol: m.member.proxyProtocol }
          : {}),
      },
      admin: m.admin,
      removing: m.removing,
      by,
      reason: m.reason,
      at: Date.now(),
    })
  }

  async #run<T>(command: () => Promise<T>): Promise<T> {
    if (!this.#connected) {
      throw new StoreUnavailableError(`redis at ${this.target} is unreachable`)
    }
    try {
      const reply = await command()
      this.#timeouts = 0
      return reply
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      // A command the ACL user may not run (or a key it may not touch) fails every time.
      if (message.startsWith('NOPERM')) this.#setFault(classifyStoreError(err))
      if (message === 'Command timed out' && ++this.#timeouts >= STALLED_AFTER_TIMEOUTS) {
        // A connection that stopped answering (a partition, a hung server) is not "up":
        // report the store down and reconnect both connections (ioredis' backoff; the
        // subscriber re-subscribes), instead of timing out every command on it forever.
        this.#timeouts = 0
        this.#setConnected(
          false,
          `no reply within ${COMMAND_TIMEOUT_MS} ms, ${STALLED_AFTER_TIMEOUTS} times in a row: reconnecting`,
        )
        this.#client.disconnect(true)
        this.#subscriber.disconnect(true)
      }
      throw new StoreUnavailableError(`redis at ${this.target}: ${message}`, {
        cause: err,
      })
    }
  }

  #setFault(fault: StoreFault | undefined): void {
    if (this.#closed || this.#fault?.cause === fault?.cause) return
    this.#fault = fault
    this.#events?.fault?.(fault)
  }

  #setConnected(connected: boolean, error?: string): void {
    if (this.#connected === connected || this.#closed) return
    this.#connected = connected
    this.#events?.status(connected, error)
  }
}

/** Parses the record a script stored (the caller's JSON, rev and kept states spliced in). */
function stored(raw: string): MemberRecord {
  const parsed = parseRecord(memberRecordSchema, 'written record', raw)
  if (!parsed.ok) throw new Error(`corral wrote a record it cannot read: ${parsed.error}`)
  return parsed.value
}

const OUT_REASONS: readonly OutReason[] = [
  'draining',
  'disabled',
  'down',
  'unreadable',
  'left',
]

function outReason(s: string): OutReason {
  return OUT_REASONS.find(r => r === s) ?? 'unreadable'
}
