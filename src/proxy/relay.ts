// One client connection joined to one member connection: pick, connect (retrying other
// members), then copy bytes both ways with back-pressure and half-close, under an idle
// timeout. The hot path is one 'data' handler and one 'drain' handler (client → member)
// and one onread callback into a reused buffer (member → client) per relay: PERF-NOTES.md
// measured manual write()/drain as cheaper than pipe() or pipeline().
import { connect, type Socket } from 'node:net'
import {
  memberPort,
  NO_DELAY,
  RoutedConnection,
  type Rejection,
  type RoutingContext,
} from './connect.js'
import type { ProxyProtocolVersion } from '../config/proxy-protocol-schema.js'
import { relayProxyHeader } from './relay-header.js'
import { peekSni } from './sni.js'
import type { CorralCloseCause } from './termination.js'

/** What a relay needs from its data plane: routing (connect.ts) and its close. */
export interface RelayContext extends RoutingContext {
  /** Called once when the relay is fully closed. */
  closed(relay: Relay): void
}

/** Size of the member leg's read buffer: what Node reads per call by default. */
export const READ_BUFFER_BYTES = 65_536

/** Bytes a relay reads from its member before it gets a read buffer of its own. */
export const OWN_BUFFER_AFTER_BYTES = 1_048_576

/**
 * Where member legs without their own buffer read; what lands here is copied out at once
 * (#onMemberRead), and reads run one at a time on this thread, so one per process is safe.
 */
const SHARED_READ_BUFFER = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES)

/**
 * One relayed connection. Fields are fixed at construction to keep the shape monomorphic.
 * It is its own pick request, so a pick allocates nothing.
 */
export class Relay extends RoutedConnection {
  declare readonly ctx: RelayContext
  readonly client: Socket
  readonly startedAt: number
  /** RelayList slot (-1 when not listed). */
  slot = -1
  /** Chunks relayed either way; the sweeper compares it between sweeps (idle timeout). */
  activity = 0
  upstream: Socket | null = null
  /** Bytes already added to `stats` (the rest is added on close or at scrape). */
  countedToMember = 0
  countedToClient = 0
  #clientAddress: string | undefined = undefined
  /** Timeouts in force for this connection (a reload applies to new connections only). */
  #connectTimeoutMs = 0
  #idleTimeoutMs = 0
  #seenActivity = 0
  #activeAt = 0
  #connecting = false
  #connectStartedAt = 0
  #clientClosed = false
  /** The client sent FIN before the member leg was up: pass it on once it is. */
  #clientEnded = false
  #upstreamClosed = true
  #finished = false
  /** This relay's own member-leg read buffer once it has one; see #memberReadBuffer. */
  #readBuffer: Buffer | null = null
  /** Member-leg reading is stopped until the client write of #readBuffer completes. */
  #awaitingWrite = false
  /** Bytes read from the member leg so far. */
  #fromMember = 0
  /** The member's PROXY protocol while its header is still to be written, else "off". */
  #headerDue: ProxyProtocolVersion = 'off'
  /** v2: gives up waiting for the client's first bytes (SNI) and writes the header. */
  #headerTimer: NodeJS.Timeout | undefined = undefined

  constructor(client: Socket, ctx: RelayContext) {
    super(ctx)
    this.client = client
    this.startedAt = ctx.now()
    // Until a member is connected, no 'data' handler is attached: the client's bytes wait
    // in the socket's readable buffer (bounded by its highWaterMark, then by TCP flow
    // control), and are delivered once the member leg is up. Nothing is dropped.
    client.on('error', onIgnoredError)
    client.on('close', this.#onClientClose)
    // Attached now, not at connect: a client that sends FIN with nothing buffered while
    // the member leg is connecting emits 'end' at once, and a late listener would miss it
    // (the relay then sat half-open until the idle timeout).
    client.on('end', this.#onClientEnd)
  }

  /** The client's address, asked of the kernel only when a pick needs it (consistent hash). */
  get clientAddress(): string {
    return (this.#clientAddress ??= this.client.remoteAddress ?? '')
  }

  /** Starts routing; returns the outcome if the connection was rejected outright. */
  start(): Rejection | undefined {
    return this.#attempt()
  }

  /**
   * Enforces the connect and idle timeouts; the data plane calls it periodically. A
   * connect that takes connectTimeoutMs fails over like a refused one; a connected relay
   * with no chunk either way for idleTimeoutMs is closed.
   */
  sweep(now: number): void {
    if (this.#finished) return
    if (this.#connecting) {
      if (now - this.#connectStartedAt >= this.#connectTimeoutMs) {
        this.#connectFailed(undefined, true)
      }
      return
    }
    if (!this.established) return
    if (this.activity !== this.#seenActivity) {
      this.#seenActivity = this.activity
      this.#activeAt = now
    } else if (now - this.#activeAt >= this.#idleTimeoutMs) {
      this.destroy('idle_timeout')
    }
  }

  /** Closes both legs now, for `cause` (what the access log reports). */
  destroy(cause: CorralCloseCause): void {
    this.#cancelHeader()
    this.trace?.close('corral', cause)
    this.client.destroy()
    this.upstream?.destroy()
  }

  #attempt(): Rejection | undefined {
    const ctx = this.ctx
    const member = this.pickMember()
    if (typeof member === 'string') {
      this.client.destroy()
      return member === 'failed' ? undefined : member
    }
    this.#connecting = true
    this.#upstreamClosed = false
    this.#connectStartedAt = this.now
    const upstream = connect({
      host: member.address,
      port: memberPort(ctx, member),
      allowHalfOpen: true,
      // Nagle off, as on the client leg (data-plane.ts, NO_DELAY): issue #19.
      noDelay: NO_DELAY,
      // The member leg reads into one reused buffer (issue #13): see #onMemberRead.
      onread: { buffer: this.#memberReadBuffer, callback: this.#onMemberRead },
    })
    this.upstream = upstream
    this.#connectTimeoutMs = ctx.connectTimeoutMs
    upstream.on('connect', this.#onConnect)
    upstream.on('error', this.#onUpstreamError)
    upstream.on('close', this.#onUpstreamClose)
    return undefined
  }

  #onConnect = (): void => {
    const { upstream, client, ctx } = this
    if (upstream === null) return
    this.#connecting = false
    const now = ctx.now()
    this.memberConnected((now - this.#connectStartedAt) / 1000)
    // Idle = no chunk either way for idleTimeoutMs (checked by sweep()): a long upload
    // or download never times out; silence does.
    this.#idleTimeoutMs = ctx.idleTimeoutMs
    this.#activeAt = now
    const trace = this.trace
    this.#headerDue = this.proxyProtocol()
    client.on('data', (chunk: Buffer) => {
      this.activity++
      if (trace !== null && trace.firstToMemberAt === 0) {
        trace.firstToMemberAt = ctx.now()
        // The client's first chunk: a TLS ClientHello names the server it wants.
        trace.sni = peekSni(chunk)
      }
      const out = this.#headerDue === 'off' ? chunk : this.#withHeader(chunk)
      if (out !== undefined && !upstream.write(out)) client.pause()
    })
    upstream.on('drain', () => client.resume())
    // Member → client is #onMemberRead (onread); its back-pressure is per write.
    // Half-close: each side's FIN is passed on; the other direction keeps flowing.
    upstream.on('end', () => {
      this.trace?.close('member', 'fin')
      client.end()
    })
    if (this.#headerDue !== 'off' && !this.#awaitFirstBytes()) this.#writeHeader()
    if (this.#clientEnded) upstream.end()
  }

  /**
   * Whether the PROXY header waits for the client's first bytes, to go out in one write
   * with them (and, for v2, to carry their SNI): when bytes are already buffered (the
   * 'data' handler gets them next), or for v2 up to proxyProtocolSniWaitMs. Otherwise
   * (v1 or no wait: a server-first protocol must not be delayed) it is written at once.
   */
  #awaitFirstBytes(): boolean {
    if (this.#clientEnded) return false
    if (this.client.readableLength > 0) return true
    const waitMs = this.ctx.proxyProtocolSniWaitMs
    if (this.#headerDue !== 'v2' || waitMs <= 0) return false
    this.#headerTimer = setTimeout(() => {
      this.#headerTimer = undefined
      this.#writeHeader()
    }, waitMs)
    return true
  }

  /** The header followed by the client's first chunk (one write); undefined if it failed. */
  #withHeader(first: Buffer): Buffer | undefined {
    const header = this.#buildHeader(first)
    return header === undefined ? undefined : Buffer.concat([header, first])
  }

  /** Writes the header alone (nothing of the client's arrived, or it sent FIN). */
  #writeHeader(): void {
    const header = this.#buildHeader(null)
    if (header !== undefined) this.upstream?.write(header)
  }

  /**
   * The header for the member connected now (built once per member leg: a retry to
   * another member builds its own); with the client's endpoints unknown (it already
   * left) there is none, and the relay closes rather than send the member bare bytes.
   */
  #buildHeader(first: Buffer | null): Buffer | undefined {
    const version = this.#headerDue
    this.#cancelHeader()
    const trace = this.trace
    const header = relayProxyHeader(version, this.client, {
      first,
      sni: trace?.sni ?? null,
      uniqueId: trace === null ? null : this.ctx.connectionId(trace),
    })
    if (header === undefined) {
      this.trace?.close('client', 'rst')
      this.client.destroy()
      this.upstream?.destroy()
    }
    return header
  }

  #cancelHeader(): void {
    this.#headerDue = 'off'
    if (this.#headerTimer !== undefined) clearTimeout(this.#headerTimer)
    this.#headerTimer = undefined
  }

  /**
   * The member leg's read buffer; Node asks at connect and again after every read. A
   * relay starts on the process-wide SHARED_READ_BUFFER, whose bytes #onMemberRead copies
   * out before returning (so an idle or short connection holds no 64 KiB of its own),
   * and gets its own buffer once it has relayed OWN_BUFFER_AFTER_BYTES from the member.
   * An own buffer is never shared: a write still queued from it must not see another
   * connection's read land in it.
   */
  #memberReadBuffer = (): Buffer => {
    if (this.#readBuffer !== null) return this.#readBuffer
    if (this.#fromMember < OWN_BUFFER_AFTER_BYTES) return SHARED_READ_BUFFER
    return (this.#readBuffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES))
  }

  /**
   * A read of the member leg landed in `buffer` (with its own buffer, no allocation per
   * read: a fresh 64 KiB malloc per read made glibc's heap churn, issue #13). The write
   * below does not copy an own buffer: if the kernel does not take it all at once, libuv
   * queues the rest still pointing into it, so reading stops (return false) until
   * #onClientWritten sees the queue empty; otherwise the next read would overwrite bytes
   * not yet sent. This is also the back-pressure of this direction. Data arrives only
   * after 'connect', once the client leg exists.
   */
  #onMemberRead = (n: number, buffer: Buffer): boolean => {
    this.activity++
    this.#fromMember += n
    const trace = this.trace
    if (trace !== null && trace.firstToClientAt === 0)
      trace.firstToClientAt = this.ctx.now()
    const client = this.client
    // The shared buffer is the next read's, whichever relay does it: send a copy.
    const chunk =
      buffer === SHARED_READ_BUFFER
        ? Buffer.from(buffer.subarray(0, n))
        : buffer.subarray(0, n)
    client.write(chunk, this.#onClientWritten)
    if (client.writableLength === 0) return true
    this.#awaitingWrite = true
    return false
  }

  #onClientWritten = (): void => {
    if (!this.#awaitingWrite || this.client.writableLength !== 0) return
    this.#awaitingWrite = false
    this.upstream?.resume()
  }

  #onClientEnd = (): void => {
    this.trace?.close('client', 'fin')
    if (this.upstream !== null && !this.#connecting) {
      // A FIN while the header waited for bytes: the header still goes first.
      if (this.#headerDue !== 'off') this.#writeHeader()
      this.upstream.end()
    } else this.#clientEnded = true
  }

  #onUpstreamError = (err: Error): void => {
    if (this.#connecting) this.#connectFailed(err, false)
    // Otherwise 'close' (hadError) follows and tears the client leg down.
  }

  #connectFailed(err: (Error & { code?: string }) | undefined, timedOut: boolean): void {
    const upstream = this.upstream
    if (upstream === null) return
    upstream.removeListener('close', this.#onUpstreamClose)
    upstream.destroy()
    this.upstream = null
    this.#upstreamClosed = true
    this.#connecting = false
    this.memberFailed(timedOut, err?.code)
    if (this.#clientClosed) {
      this.#maybeFinish()
      return
    }
    if (!this.mayRetry()) {
      this.client.destroy()
      return
    }
    this.#attempt()
  }

  #onUpstreamClose = (hadError: boolean): void => {
    this.#upstreamClosed = true
    if (hadError && !this.#connecting) this.trace?.close('member', 'rst')
    // A graceful close means the member ended its side and our FIN went out: the client
    // leg was already ended and closes on its own. An error (reset) is passed on as one.
    if (hadError || this.#connecting) this.client.destroy()
    this.#maybeFinish()
  }

  #onClientClose = (hadError: boolean): void => {
    this.#clientClosed = true
    if (hadError) this.trace?.close('client', 'rst')
    const upstream = this.upstream
    // Still connecting, or the client reset: the member leg has nothing left to deliver.
    if (upstream !== null && (hadError || this.#connecting)) upstream.destroy()
    this.#maybeFinish()
  }

  #maybeFinish(): void {
    if (this.#finished || !this.#clientClosed || !this.#upstreamClosed) return
    this.#finished = true
    this.#cancelHeader()
    this.releaseMember()
    this.ctx.closed(this)
  }
}

function onIgnoredError(): void {
  // A reset or similar on the client leg: 'close' (hadError) follows and does the work.
}
