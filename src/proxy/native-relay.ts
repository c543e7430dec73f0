// One client connection that JS accepted, relayed by the native data path (the
// fallback when native accept is off or libuv accepted it first: native-accepted.ts is
// the usual path). It routes with connect.ts as relay.ts does, connects in JS, then
// hands both sockets' fds to the relay thread (native-engine.ts) and destroys the JS
// sockets. Neither socket ever reads in JS: the client is accepted paused
// (pauseOnConnect) and the member socket is paused before it connects, so bytes of
// server-first protocols (banners) wait in the kernel for the relay thread.
import { connect, type Socket } from 'node:net'
import {
  memberPort,
  NO_DELAY,
  RoutedConnection,
  type Rejection,
  type RoutingContext,
} from './connect.js'
import type { NativeCloseReason, NativeEngine, NativeOwner } from './native-engine.js'
import { relayProxyHeader } from './relay-header.js'
import type { CorralCloseCause } from './termination.js'
import { peekSni } from './sni.js'
import { traceNativeClose, traceNativeFirstBytes } from './trace.js'

/** The routing context, closing with a NativeRelay (data-plane.ts passes one object for every kind). */
export type NativeRelayContext = RoutingContext & {
  closed(relay: NativeRelay): void
}

/** A relay whose bytes move in the native relay thread once its member leg is up. */
export class NativeRelay extends RoutedConnection implements NativeOwner {
  declare readonly ctx: NativeRelayContext
  readonly client: Socket
  readonly engine: NativeEngine
  readonly startedAt: number
  /** RelayList slot (-1 when not listed). */
  slot = -1
  /** Bytes already added to `stats` (the rest is added on close or at scrape). */
  countedToMember = 0
  countedToClient = 0
  #upstream: Socket | null = null
  #clientAddress: string | undefined = undefined
  /** Engine slot while the relay thread owns the connection, else -1. */
  #engineSlot = -1
  /** Final byte counts (set when the relay thread reports the close). */
  #toMember = 0
  #toClient = 0
  /** Fallback when the engine cannot take the connection: JS pipes it. */
  #piped = false
  #connecting = false
  #connectStartedAt = 0
  #connectTimeoutMs = 0
  #finished = false

  constructor(client: Socket, ctx: NativeRelayContext, engine: NativeEngine) {
    super(ctx)
    this.client = client
    this.engine = engine
    this.startedAt = ctx.now()
    client.on('error', onIgnoredError)
  }

  /** The client's address, asked of the kernel only when a pick needs it (consistent hash). */
  get clientAddress(): string {
    return (this.#clientAddress ??= this.client.remoteAddress ?? '')
  }

  /** Bytes relayed client → member so far. */
  get movedToMember(): number {
    if (this.#engineSlot >= 0) return this.engine.bytesAToB(this.#engineSlot)
    return this.#piped ? this.client.bytesRead : this.#toMember
  }

  /** Bytes relayed member → client so far. */
  get movedToClient(): number {
    if (this.#engineSlot >= 0) return this.engine.bytesBToA(this.#engineSlot)
    return this.#piped ? this.client.bytesWritten : this.#toClient
  }

  /** Starts routing; returns the outcome if the connection was rejected outright. */
  start(): Rejection | undefined {
    return this.#attempt()
  }

  /**
   * Enforces the connect timeout (the relay thread enforces the idle timeout), and, as
   * the paused client cannot tell JS of a reset, asks the kernel while connecting: a
   * client that reset is leaving, so everything is freed (not a member failure). A FIN
   * is a half-close and waits for the member leg like any other byte.
   */
  sweep(now: number): void {
    if (!this.#connecting) return
    if (now - this.#connectStartedAt >= this.#connectTimeoutMs) {
      this.#connectFailed(undefined, true)
      return
    }
    const fd = socketFd(this.client)
    if (fd !== undefined && this.engine.hasFailed(fd)) {
      this.trace?.close('client', 'rst')
      this.destroy('shutdown')
    }
  }

  /** Closes both legs now (drain deadline, close-connections), for `cause`. */
  destroy(cause: CorralCloseCause): void {
    if (this.#finished) return
    this.trace?.close('corral', cause)
    if (this.#engineSlot >= 0) {
      this.engine.close(this.#engineSlot) // nativeClosed follows
      return
    }
    const upstream = this.#upstream
    this.client.destroy()
    upstream?.destroy()
    if (!this.#piped) this.#finish()
  }

  /** The relay thread closed the connection: final bytes, then the usual bookkeeping. */
  nativeClosed(
    reason: NativeCloseReason,
    _errno: number,
    aToB: number,
    bToA: number,
    closer = -1,
    firstAToBMs = 0,
    firstBToAMs = 0,
  ): void {
    if (this.trace !== null) {
      traceNativeClose(this.trace, reason, closer)
      traceNativeFirstBytes(this.trace, firstAToBMs, firstBToAMs, this.ctx.now())
    }
    this.#engineSlot = -1
    this.#toMember = aToB
    this.#toClient = bToA
    this.#finish()
  }

  /** The client's first bytes, a TLS record: the SNI it asks for (as relay.ts reads it). */
  nativeHello(hello: Buffer): void {
    if (this.trace !== null) this.trace.sni = peekSni(hello)
  }

  /** Brings the trace up to date with the relay thread (an interim record is due). */
  syncTrace(): void {
    if (this.trace === null || this.#engineSlot < 0) return
    traceNativeFirstBytes(
      this.trace,
      this.engine.firstAToBMs(this.#engineSlot),
      this.engine.firstBToAMs(this.#engineSlot),
      this.ctx.now(),
    )
  }

  #attempt(): Rejection | undefined {
    const ctx = this.ctx
    const member = this.pickMember()
    if (typeof member === 'string') {
      this.client.destroy()
      if (member !== 'failed') return member
      this.#finish()
      return undefined
    }
    this.#connecting = true
    this.#connectStartedAt = this.now
    this.#connectTimeoutMs = ctx.connectTimeoutMs
    const upstream = connect({
      host: member.address,
      port: memberPort(ctx, member),
      allowHalfOpen: true,
      // Kept by the relay thread's dup (same socket): Nagle off, issue #19.
      noDelay: NO_DELAY,
    })
    // Paused before the connect completes: net's afterConnect then starts no read, so a
    // member's banner stays in the kernel for the relay thread.
    upstream.pause()
    this.#upstream = upstream
    upstream.on('connect', this.#onConnect)
    upstream.on('error', this.#onUpstreamError)
    return undefined
  }

  #onConnect = (): void => {
    const { client, ctx } = this
    const upstream = this.#upstream
    if (upstream === null) return
    this.#connecting = false
    this.memberConnected((ctx.now() - this.#connectStartedAt) / 1000)
    const version = this.proxyProtocol()
    if (version === 'off') {
      this.#handOver(upstream)
      return
    }
    // The PROXY header goes first, written here in JS (the client is paused: none of
    // its bytes were read, so v2 carries no AUTHORITY); the relay thread takes the
    // sockets once the kernel has it, so no client byte can overtake it.
    const trace = this.trace
    const header = relayProxyHeader(version, client, {
      uniqueId: trace === null ? null : ctx.connectionId(trace),
    })
    if (header === undefined) {
      this.destroy('shutdown')
      return
    }
    upstream.write(header)
    if (upstream.writableLength === 0) this.#handOver(upstream)
    else
      upstream.once('drain', () => {
        this.#handOver(upstream)
      })
  }

  /** Gives both sockets to the relay thread (JS pipes them if it cannot take them). */
  #handOver(upstream: Socket): void {
    if (this.#finished || this.#upstream !== upstream) return
    const { client, ctx } = this
    const clientFd = socketFd(client)
    const upstreamFd = socketFd(upstream)
    const slot =
      clientFd === undefined || upstreamFd === undefined
        ? 'no fd on a socket'
        : this.engine.adopt(clientFd, upstreamFd, ctx.idleTimeoutMs, this)
    if (typeof slot === 'number') {
      this.#engineSlot = slot
      // The relay thread holds dup()s: these close only the JS copies.
      upstream.removeListener('error', this.#onUpstreamError)
      upstream.on('error', onIgnoredError)
      client.destroy()
      upstream.destroy()
      return
    }
    this.#pipe(upstream)
  }

  /** The engine is full (or failed): relay in JS, with half-close, and no idle timeout. */
  #pipe(upstream: Socket): void {
    const client = this.client
    this.#piped = true
    let open = 2
    const closed = (): void => {
      if (--open === 0) this.#finish()
    }
    client.on('close', hadError => {
      if (hadError) upstream.destroy()
      closed()
    })
    upstream.on('close', hadError => {
      if (hadError) client.destroy()
      closed()
    })
    const trace = this.trace
    if (trace !== null) {
      // What relay.ts records from its first chunk each way.
      client.once('data', (chunk: Buffer) => {
        trace.firstToMemberAt = this.ctx.now()
        trace.sni = peekSni(chunk)
      })
      upstream.once('data', () => {
        trace.firstToClientAt = this.ctx.now()
      })
    }
    client.pipe(upstream)
    upstream.pipe(client)
    client.resume()
    upstream.resume()
  }

  #onUpstreamError = (err: Error): void => {
    if (this.#connecting) this.#connectFailed(err, false)
  }

  #connectFailed(err: (Error & { code?: string }) | undefined, timedOut: boolean): void {
    const upstream = this.#upstream
    if (upstream === null) return
    upstream.destroy()
    this.#upstream = null
    this.#connecting = false
    this.memberFailed(timedOut, err?.code)
    if (!this.mayRetry()) {
      this.client.destroy()
      this.#finish()
      return
    }
    this.#attempt()
  }

  #finish(): void {
    if (this.#finished) return
    this.#finished = true
    this.#connecting = false
    this.releaseMember()
    this.ctx.closed(this)
  }
}

/** The OS fd under a connected net.Socket (libuv's TCP handle), if it has one. */
export function socketFd(socket: Socket): number | undefined {
  const handle: unknown = Reflect.get(socket, '_handle')
  if (typeof handle !== 'object' || handle === null) return undefined
  const fd: unknown = Reflect.get(handle, 'fd')
  return typeof fd === 'number' && fd >= 0 ? fd : undefined
}

function onIgnoredError(): void {
  // Errors on sockets handed to the relay thread or being destroyed carry no news.
}
