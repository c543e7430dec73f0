// The JS side of the native relay thread of this process: slot allocation for adopted
// connections, live byte counters (a Float64Array the relay thread writes), native
// listeners and their accepted connections, the member address table, and the events
// routed back to their owners. One per process, started on first use; it holds the event
// loop open only while connections are relayed (see native/addon.c).
import { constants } from 'node:os'
import type { NativeAddon } from './native-loader.js'

/** Why a native relay ended (native/relay.h enum relay_reason). */
export type NativeCloseReason = 'done' | 'error' | 'idle' | 'forced' | 'stopped'

const REASONS: readonly NativeCloseReason[] = [
  'done',
  'error',
  'idle',
  'forced',
  'stopped',
]

/** Event types and layout of the addon's event batches (native/addon.c). */
const EV_CLOSED = 0
const EV_ACCEPTED = 1
const EV_CONNECTED = 2
const EV_CONNECT_FAILED = 3
const EV_HELLO = 4
const EVENT_STRIDE = 9
const VERDICT_STRIDE = 6
/** native/relay.h RELAY_NO_ID: accepted and closed at once, every slot in use. */
const NO_ID = 0xffff_ffff

/** errno number → name (ECONNREFUSED), as Node names connect errors. */
const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([k, v]) => [v, k]))

/** The errno name for a number, e.g. 111 → "ECONNREFUSED". */
export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(errno) ?? `errno ${String(errno)}`
}

/** ETIMEDOUT: the relay thread's connect timeout passed. */
export const ETIMEDOUT = constants.errno.ETIMEDOUT

/** What the engine tells the owner of a connection when it closed. */
export interface NativeOwner {
  /**
   * `closer`: the side that ended first (0 client, 1 member, -1 unknown). With tracing
   * on, `firstAToBMs`/`firstBToAMs`: from the start of relaying to the first byte read
   * from the client / the member, in ms (0 = none, and always 0 without tracing).
   */
  nativeClosed(
    reason: NativeCloseReason,
    errno: number,
    aToB: number,
    bToA: number,
    closer: number,
    firstAToBMs: number,
    firstBToAMs: number,
  ): void
  /** Tracing: the client's first bytes, which start a TLS record (a ClientHello's). */
  nativeHello?(hello: Buffer): void
}

/** The owner of a natively accepted connection also hears how its connects went. */
export interface NativeAcceptedOwner extends NativeOwner {
  /** The member leg is up after `connectMs`; bytes are relayed. */
  nativeConnected(connectMs: number): void
  /** The connect failed (ETIMEDOUT: the connect timeout); answer with route or reject. */
  nativeConnectFailed(errno: number): void
}

/** Told of each connection a native listener accepted. */
export interface NativeAcceptor {
  /**
   * Returns the connection's owner, or undefined after rejecting it (engine.reject).
   * `local`/`localPort`: the address the client connected to (null when getsockname failed).
   */
  accepted(
    id: number,
    peer: string,
    peerPort: number,
    local: string | null,
    localPort: number | null,
  ): NativeAcceptedOwner | undefined
  /** A connection was closed at accept: every native slot was in use. */
  dropped(): void
}

/** Slots one process relays natively at once (adopted and accepted together). */
export const NATIVE_SLOTS = 65_536

/**
 * Slots below this are for connections JS accepted and hands over (adopt); the relay
 * thread allocates the rest to the connections it accepts itself.
 */
export const ADOPT_SLOTS = 16_384

/** Address table entries kept before the table is rebuilt from the ones still asked for. */
const MAX_TARGETS = 4_096

const LOW_16 = 0xffff

/** native/relay.h RELAY_MAX_LISTENERS. */
const MAX_LISTENERS = 64

/** Per-process owner of the addon's relay thread. */
export class NativeEngine {
  readonly #addon: NativeAddon
  readonly #counters: Float64Array
  readonly #owners: (NativeOwner | undefined)[]
  /** The id each owned slot's connection has (accepted ids carry a generation). */
  readonly #ids: Uint32Array
  readonly #free: number[] = []
  readonly #adoptSlots: number
  #active = 0
  readonly #acceptors: (NativeAcceptor | undefined)[] = []
  #nextListener = 0
  /** Member address table: "host\0port" → index; pushed to the addon before use. */
  #targets = new Map<string, number>()
  #hosts: string[] = []
  #ports: number[] = []
  #targetsDirty = false
  /** Bumped whenever the table is rebuilt: callers caching indexes compare it. */
  targetsGeneration = 0
  #verdicts = new Float64Array(64 * VERDICT_STRIDE)
  #verdictCount = 0
  /** PROXY protocol headers of the queued verdicts, back to back (#headerBytes used). */
  #headers = Buffer.alloc(0)
  #headerBytes = 0
  #inBatch = false
  /** First-byte times per slot (see trace()); null until tracing is on. */
  #firsts: Float64Array | null = null

  constructor(addon: NativeAddon, slots = NATIVE_SLOTS, adoptSlots = ADOPT_SLOTS) {
    this.#addon = addon
    this.#counters = new Float64Array(2 * slots)
    this.#owners = new Array<NativeOwner | undefined>(slots).fill(undefined)
    this.#ids = new Uint32Array(slots)
    this.#adoptSlots = Math.min(adoptSlots, slots)
    for (let s = this.#adoptSlots - 1; s >= 0; s--) this.#free.push(s)
    addon.init(this.#counters, this.#onEvents, this.#adoptSlots)
  }

  /** Connections being relayed (or connected) now, adopted and accepted. */
  get active(): number {
    return this.#active
  }

  /**
   * Takes over two connected sockets' fds (dup()ed: the caller destroys its sockets
   * right after). Returns the id, or a reason the connection must stay in JS.
   */
  adopt(fdA: number, fdB: number, idleMs: number, owner: NativeOwner): number | string {
    const slot = this.#free.pop()
    if (slot === undefined) return `all ${String(this.#adoptSlots)} adopt slots in use`
    // The slot's counters still hold the previous connection's final bytes until the
    // relay thread picks this one up: zero them now, or a scrape in between would count
    // them for this relay (nothing else writes them: that connection is finished).
    this.#counters[2 * slot] = 0
    this.#counters[2 * slot + 1] = 0
    if (this.#firsts !== null) {
      this.#firsts[2 * slot] = 0
      this.#firsts[2 * slot + 1] = 0
    }
    // The addon takes a uint32; an idle timeout past ~49 days is as good as none.
    const r = this.#addon.add(slot, fdA, fdB, Math.min(idleMs, 0xffff_ffff))
    if (r !== 0) {
      this.#free.push(slot)
      return `native add failed: ${errnoName(-r)}`
    }
    this.#owners[slot] = owner
    this.#ids[slot] = slot
    this.#active++
    return slot
  }

  /**
   * Accepts natively on a dup of the listening socket `fd` from now on; returns the
   * listener index (for unlisten) or why not. The caller keeps its own socket open.
   */
  listen(fd: number, acceptor: NativeAcceptor): number | string {
    // Round robin over the 64 indexes, not the lowest free one: an accepted event still
    // on its way for a listener just closed must not reach a new one in the same index.
    let index = -1
    for (let k = 0; k < MAX_LISTENERS && index < 0; k++) {
      const i = (this.#nextListener + k) % MAX_LISTENERS
      if (this.#acceptors[i] === undefined) index = i
    }
    if (index < 0) return `all ${String(MAX_LISTENERS)} native listeners in use`
    this.#nextListener = (index + 1) % MAX_LISTENERS
    const r = this.#addon.listen(index, fd)
    if (r !== 0) return `native listen failed: ${errnoName(-r)}`
    this.#acceptors[index] = acceptor
    return index
  }

  /**
   * Whether libuv no longer watches the listening socket `fd` (it is removed when it
   * was registered; libuv registers a new listener at its next poll phase).
   */
  detachFromLibuv(fd: number): boolean {
    return this.#addon.forget(fd)
  }

  /** Stops accepting on a native listener before returning. */
  unlisten(index: number): void {
    this.#addon.unlisten(index)
    this.#acceptors[index] = undefined
  }

  /**
   * The table index of a member address (an IP address: resolve hostnames first);
   * verdicts name their member by index. Indexes stay valid while targetsGeneration does.
   */
  target(host: string, port: number): number {
    const key = `${host}\u0000${String(port)}`
    let index = this.#targets.get(key)
    if (index !== undefined) return index
    if (this.#hosts.length >= MAX_TARGETS) {
      // Members come and go (sidecars, reloads): start over rather than grow for ever.
      // Verdicts copy the address when submitted, so queued ones are unaffected.
      this.#flushVerdicts()
      this.#targets = new Map()
      this.#hosts = []
      this.#ports = []
      this.targetsGeneration++
    }
    index = this.#hosts.length
    this.#hosts.push(host)
    this.#ports.push(port)
    this.#targets.set(key, index)
    this.#targetsDirty = true
    return index
  }

  /**
   * Connects accepted connection `id` to table entry `target` (see target()); the relay
   * thread writes `header` (PROXY protocol) to the member before any client byte.
   */
  route(
    id: number,
    target: number,
    connectTimeoutMs: number,
    idleMs: number,
    header?: Buffer,
  ): void {
    this.#verdict(id, target, connectTimeoutMs, idleMs, header)
  }

  /** Closes accepted connection `id` that waits for a verdict; its close event follows. */
  reject(id: number): void {
    this.#verdict(id, -1, 0, 0)
  }

  /** Closes a relayed connection now; its owner hears of it through nativeClosed. */
  close(id: number): void {
    this.#addon.close(id)
  }

  /** Bytes moved so far in connection `id`, a→b (client → member). */
  bytesAToB(id: number): number {
    return this.#counters[2 * (id & LOW_16)] ?? 0
  }

  /** Bytes moved so far in connection `id`, b→a (member → client). */
  bytesBToA(id: number): number {
    return this.#counters[2 * (id & LOW_16) + 1] ?? 0
  }

  /**
   * Turns on what the access log needs from the relay thread (idempotent; for the rest
   * of the process): local addresses at accept, the client's first bytes when they start
   * a TLS record (nativeHello), first-byte times (firstAToBMs/firstBToAMs, and with each
   * close). Nothing of it runs while it is off.
   */
  trace(): void {
    if (this.#firsts !== null) return
    this.#firsts = new Float64Array(this.#counters.length)
    this.#addon.trace(this.#firsts)
  }

  /**
   * Tracing: ms from the start of relaying to the first byte read from the client in
   * connection `id` so far; 0 = none yet (or tracing off).
   */
  firstAToBMs(id: number): number {
    return this.#firsts?.[2 * (id & LOW_16)] ?? 0
  }

  /** Tracing: as firstAToBMs, for the first byte read from the member. */
  firstBToAMs(id: number): number {
    return this.#firsts?.[2 * (id & LOW_16) + 1] ?? 0
  }

  /** Whether a socket (not yet adopted) has a pending error such as a reset; reads nothing. */
  hasFailed(fd: number): boolean {
    return this.#addon.peek(fd) < 0
  }

  /** Stops the relay thread (tests); open connections close with reason "stopped". */
  stop(): void {
    this.#addon.stop()
  }

  #verdict(
    id: number,
    target: number,
    connectTimeoutMs: number,
    idleMs: number,
    header?: Buffer,
  ): void {
    if ((this.#verdictCount + 1) * VERDICT_STRIDE > this.#verdicts.length) {
      const grown = new Float64Array(this.#verdicts.length * 2)
      grown.set(this.#verdicts)
      this.#verdicts = grown
    }
    const at = this.#verdictCount++ * VERDICT_STRIDE
    const v = this.#verdicts
    v[at] = id
    v[at + 1] = target
    v[at + 2] = connectTimeoutMs
    v[at + 3] = idleMs
    v[at + 4] = this.#headerBytes
    v[at + 5] = header?.length ?? 0
    if (header !== undefined && header.length > 0) this.#addHeader(header)
    // Inside an event batch all verdicts go out together (one wakeup of the relay
    // thread); outside (after a DNS lookup) at once.
    if (!this.#inBatch) this.#flushVerdicts()
  }

  /** Appends a header to the batch's header bytes (the addon copies them at submit). */
  #addHeader(header: Buffer): void {
    const needed = this.#headerBytes + header.length
    if (needed > this.#headers.length) {
      const grown = Buffer.alloc(Math.max(needed, 2 * this.#headers.length, 1024))
      this.#headers.copy(grown, 0, 0, this.#headerBytes)
      this.#headers = grown
    }
    header.copy(this.#headers, this.#headerBytes)
    this.#headerBytes = needed
  }

  #flushVerdicts(): void {
    if (this.#verdictCount === 0) return
    if (this.#targetsDirty) {
      this.#addon.setTargets(this.#hosts, this.#ports)
      this.#targetsDirty = false
    }
    if (this.#headerBytes > 0) {
      this.#addon.submit(
        this.#verdicts,
        this.#verdictCount,
        this.#headers.subarray(0, this.#headerBytes),
      )
    } else this.#addon.submit(this.#verdicts, this.#verdictCount)
    this.#verdictCount = 0
    this.#headerBytes = 0
  }

  /** One batch of relay-thread events (native/addon.c describes the layout). */
  #onEvents = (
    events: Float64Array,
    peers: readonly string[],
    hellos: readonly (Buffer | undefined)[],
  ): void => {
    this.#inBatch = true
    let peer = 0
    let hello = 0
    try {
      for (let at = 0; at < events.length; at += EVENT_STRIDE) {
        const type = events[at]
        const id = events[at + 1] ?? 0
        const slot = id & LOW_16
        const x = events[at + 2] ?? 0
        if (type === EV_ACCEPTED) {
          const acceptor = this.#acceptors[x]
          // The peer's address, then (hasLocal) the local one.
          const address = peers[peer++] ?? ''
          const hasLocal = events[at + 3] === 1
          const local = hasLocal ? (peers[peer++] ?? null) : null
          if (id === NO_ID) {
            acceptor?.dropped()
            continue
          }
          const owner =
            acceptor === undefined
              ? undefined
              : acceptor.accepted(
                  id,
                  address,
                  events[at + 6] ?? 0,
                  local,
                  hasLocal ? (events[at + 7] ?? null) : null,
                )
          // No owner: rejected (or its listener is gone: reject it here).
          if (owner === undefined) {
            if (acceptor === undefined) this.reject(id)
            continue
          }
          this.#owners[slot] = owner
          this.#ids[slot] = id
          this.#active++
          continue
        }
        const owner = this.#ids[slot] === id ? this.#owners[slot] : undefined
        if (type === EV_CLOSED) {
          if (owner !== undefined) {
            this.#owners[slot] = undefined
            this.#active--
            if (slot < this.#adoptSlots) this.#free.push(slot)
          }
          owner?.nativeClosed(
            REASONS[x] ?? 'error',
            events[at + 3] ?? 0,
            events[at + 4] ?? 0,
            events[at + 5] ?? 0,
            events[at + 6] ?? -1,
            events[at + 7] ?? 0,
            events[at + 8] ?? 0,
          )
        } else if (type === EV_HELLO) {
          const bytes = hellos[hello++]
          if (bytes !== undefined) owner?.nativeHello?.(bytes)
        } else if (owner !== undefined && isAcceptedOwner(owner)) {
          if (type === EV_CONNECTED) owner.nativeConnected(x)
          else if (type === EV_CONNECT_FAILED) owner.nativeConnectFailed(x)
        }
      }
    } finally {
      this.#inBatch = false
      this.#flushVerdicts()
    }
  }
}

function isAcceptedOwner(owner: NativeOwner): owner is NativeAcceptedOwner {
  return 'nativeConnected' in owner
}

let shared: NativeEngine | undefined

/** This process's engine, started on first call. */
export function sharedNativeEngine(addon: NativeAddon): NativeEngine {
  return (shared ??= new NativeEngine(addon))
}
