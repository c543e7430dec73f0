// One client connection the native relay thread accepted (dataPath native): no JS
// socket exists for it at all. TypeScript still decides everything: the pick (the same
// connect.ts step as relay.ts, with the client address the thread reported, so
// consistent hashing sees what the JS path sees), retry on another member after a failed
// connect (reported as a passive health failure), rejection. The thread does the
// non-blocking connect with the connect timeout, then relays with splice.
import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import type { MemberView } from '../pool/types.js'
import {
  memberPort,
  RoutedConnection,
  type Rejection,
  type RoutingContext,
} from './connect.js'
import {
  errnoName,
  ETIMEDOUT,
  type NativeAcceptedOwner,
  type NativeCloseReason,
  type NativeEngine,
} from './native-engine.js'
import { relayProxyHeader, type ClientEndpoints } from './relay-header.js'
import type { CorralCloseCause } from './termination.js'
import { peekSni } from './sni.js'
import { traceNativeClose, traceNativeFirstBytes } from './trace.js'

/** The routing context of a native listener: closing, and member → address table index. */
export type NativeAcceptedContext = RoutingContext & {
  closed(relay: NativeAcceptedRelay): void
  /** The engine's table index for `member` on this listener; undefined for a hostname. */
  targetOf(member: MemberView): number | undefined
}

/** A natively accepted connection, routed from here and relayed by the relay thread. */
export class NativeAcceptedRelay extends RoutedConnection implements NativeAcceptedOwner {
  declare readonly ctx: NativeAcceptedContext
  readonly id: number
  readonly clientAddress: string
  readonly engine: NativeEngine
  readonly startedAt: number
  /** RelayList slot (-1 when not listed). */
  slot = -1
  /** Bytes already added to `stats` (the rest is added on close or at scrape). */
  countedToMember = 0
  countedToClient = 0
  /** Final byte counts, once closed. */
  #toMember = 0
  #toClient = 0
  #open = true
  /** Both ends of the client's connection, as the relay thread reported them. */
  readonly #endpoints: ClientEndpoints

  constructor(
    id: number,
    peer: string,
    ctx: NativeAcceptedContext,
    engine: NativeEngine,
    endpoints: Omit<ClientEndpoints, 'remoteAddress'> = {},
  ) {
    super(ctx)
    this.id = id
    this.clientAddress = peer
    this.engine = engine
    this.startedAt = ctx.now()
    this.#endpoints = { ...endpoints, remoteAddress: peer }
  }

  /** Bytes relayed client → member so far. */
  get movedToMember(): number {
    return this.#open ? this.engine.bytesAToB(this.id) : this.#toMember
  }

  /** Bytes relayed member → client so far. */
  get movedToClient(): number {
    return this.#open ? this.engine.bytesBToA(this.id) : this.#toClient
  }

  /** Routes the connection; returns the outcome if it was rejected outright (closed). */
  start(): Rejection | undefined {
    const member = this.pickMember()
    if (typeof member === 'string') {
      // Nobody tried yet, so never 'failed'; the thread closes it, nobody owns it.
      this.engine.reject(this.id)
      return member === 'failed' ? undefined : member
    }
    this.#route(member)
    return undefined
  }

  /** Timeouts are the relay thread's (connect and idle): nothing to do here. */
  sweep(): void {
    // The sweeper visits every relay kind; this one has no JS timers.
  }

  /** Closes the connection now (drain deadline, close-connections); nativeClosed follows. */
  destroy(cause: CorralCloseCause): void {
    this.trace?.close('corral', cause)
    if (this.#open) this.engine.close(this.id)
  }

  nativeConnected(connectMs: number): void {
    this.memberConnected(connectMs / 1000)
  }

  nativeConnectFailed(errno: number): void {
    this.#failed(errno === ETIMEDOUT, errnoName(errno))
  }

  nativeClosed(
    reason: NativeCloseReason,
    _errno: number,
    aToB: number,
    bToA: number,
    closer = -1,
    firstAToBMs = 0,
    firstBToAMs = 0,
  ): void {
    if (!this.#open) return
    if (this.trace !== null) {
      traceNativeClose(this.trace, reason, closer)
      traceNativeFirstBytes(this.trace, firstAToBMs, firstBToAMs, this.ctx.now())
    }
    this.#toMember = aToB
    this.#toClient = bToA
    this.#open = false
    this.releaseMember()
    this.ctx.closed(this)
  }

  /** The client's first bytes, a TLS record: the SNI it asks for (as relay.ts reads it). */
  nativeHello(hello: Buffer): void {
    if (this.trace !== null) this.trace.sni = peekSni(hello)
  }

  /** Brings the trace up to date with the relay thread (an interim record is due). */
  syncTrace(): void {
    if (this.trace === null || !this.#open) return
    traceNativeFirstBytes(
      this.trace,
      this.engine.firstAToBMs(this.id),
      this.engine.firstBToAMs(this.id),
      this.ctx.now(),
    )
  }

  #failed(timedOut: boolean, code: string): void {
    this.memberFailed(timedOut, code)
    if (!this.#open) return
    if (!this.mayRetry()) {
      this.engine.reject(this.id)
      return
    }
    const member = this.pickMember()
    if (typeof member === 'string') this.engine.reject(this.id)
    else this.#route(member)
  }

  /**
   * The PROXY header for the member just picked (the relay thread writes it once
   * connected; each retry gets its own). The client's first bytes never reach JS here, so
   * v2 carries no AUTHORITY. Null: the member needs one and it cannot be built (the
   * client's local address is unknown), so the connection is rejected.
   */
  #header(): Buffer | undefined | null {
    const version = this.proxyProtocol()
    if (version === 'off') return undefined
    const trace = this.trace
    const header = relayProxyHeader(version, this.#endpoints, {
      uniqueId: trace === null ? null : this.ctx.connectionId(trace),
    })
    return header ?? null
  }

  /** Names the member to the thread: by table index, after resolving a hostname. */
  #route(member: MemberView): void {
    const ctx = this.ctx
    const header = this.#header()
    if (header === null) {
      this.engine.reject(this.id)
      return
    }
    const target = ctx.targetOf(member)
    if (target !== undefined) {
      this.engine.route(this.id, target, ctx.connectTimeoutMs, ctx.idleTimeoutMs, header)
      return
    }
    // A hostname: resolved per connection, as net.connect does on the JS path.
    const port = memberPort(ctx, member)
    const connectTimeoutMs = ctx.connectTimeoutMs
    const idleTimeoutMs = ctx.idleTimeoutMs
    lookup(member.address).then(
      ({ address }) => {
        if (!this.#open || this.member !== member) return
        if (isIP(address) === 0) {
          this.#failed(false, 'EAI_FAIL')
          return
        }
        const index = this.engine.target(address, port)
        this.engine.route(this.id, index, connectTimeoutMs, idleTimeoutMs, header)
      },
      (err: unknown) => {
        if (!this.#open || this.member !== member) return
        const code =
          err instanceof Error && 'code' in err && typeof err.code === 'string'
            ? err.code
            : undefined
        this.#failed(false, code ?? 'ENOTFOUND')
      },
    )
  }
}
