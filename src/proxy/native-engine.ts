// The JS side of the native relay thread of this process: slot allocation, live byte
// counters (a Float64Array the relay thread writes) and close events routed back to
// their owner. One per process, started on first use; it holds the event loop open only
// while connections are relayed (see native/addon.c).
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

/** What the engine tells the owner of a slot when its connection closed. */
export interface NativeOwner {
  nativeClosed(reason: NativeCloseReason, errno: number, aToB: number, bToA: number): void
}

/** Most connections one process relays natively at once (more are relayed in JS). */
export const NATIVE_SLOTS = 65_536

/** Per-process owner of the addon's relay thread. */
export class NativeEngine {
  readonly #addon: NativeAddon
  readonly #counters: Float64Array
  readonly #owners: (NativeOwner | undefined)[]
  readonly #free: number[] = []

  constructor(addon: NativeAddon, slots = NATIVE_SLOTS) {
    this.#addon = addon
    this.#counters = new Float64Array(2 * slots)
    this.#owners = new Array<NativeOwner | undefined>(slots).fill(undefined)
    for (let s = slots - 1; s >= 0; s--) this.#free.push(s)
    addon.init(this.#counters, (slot, reason, errno, aToB, bToA) => {
      const owner = this.#owners[slot]
      this.#owners[slot] = undefined
      this.#free.push(slot)
      owner?.nativeClosed(REASONS[reason] ?? 'error', errno, aToB, bToA)
    })
  }

  /** Connections being relayed now. */
  get active(): number {
    return this.#owners.length - this.#free.length
  }

  /**
   * Takes over two connected sockets' fds (dup()ed: the caller destroys its sockets
   * right after). Returns the slot, or a reason the connection must stay in JS.
   */
  adopt(fdA: number, fdB: number, idleMs: number, owner: NativeOwner): number | string {
    const slot = this.#free.pop()
    if (slot === undefined) return `all ${this.#owners.length} native slots in use`
    // The slot's counters still hold the previous connection's final bytes until the
    // relay thread picks this one up: zero them now, or a scrape in between would count
    // them for this relay (nothing else writes them: that connection is finished).
    this.#counters[2 * slot] = 0
    this.#counters[2 * slot + 1] = 0
    // The addon takes a uint32; an idle timeout past ~49 days is as good as none.
    const r = this.#addon.add(slot, fdA, fdB, Math.min(idleMs, 0xffff_ffff))
    if (r !== 0) {
      this.#free.push(slot)
      return `native add failed: errno ${-r}`
    }
    this.#owners[slot] = owner
    return slot
  }

  /** Closes a relayed connection now; its owner hears of it through nativeClosed. */
  close(slot: number): void {
    this.#addon.close(slot)
  }

  /** Bytes moved so far in slot's connection, a→b. */
  bytesAToB(slot: number): number {
    return this.#counters[2 * slot] ?? 0
  }

  /** Bytes moved so far in slot's connection, b→a. */
  bytesBToA(slot: number): number {
    return this.#counters[2 * slot + 1] ?? 0
  }

  /** Whether a socket (not yet adopted) has a pending error such as a reset; reads nothing. */
  hasFailed(fd: number): boolean {
    return this.#addon.peek(fd) < 0
  }

  /** Stops the relay thread (tests); open connections close with reason "stopped". */
  stop(): void {
    this.#addon.stop()
  }
}

let shared: NativeEngine | undefined

/** This process's engine, started on first call. */
export function sharedNativeEngine(addon: NativeAddon): NativeEngine {
  return (shared ??= new NativeEngine(addon))
}
