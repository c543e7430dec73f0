// The routing step every relay kind shares (relay.ts in JS, native-relay.ts with JS
// accept, native-accepted.ts with native accept): pick a member with the published
// Picker, count it (least-connections, per-member limits), and when connecting to it
// fails report a passive health failure and pick another, up to connectAttempts. Only
// how a relay connects differs; what a pick, a success and a failure mean lives here once.
import {
  effectiveProxyProtocol,
  type ProxyProtocolVersion,
} from '../config/proxy-protocol-schema.js'
import type { Picker, PickRequest } from '../pool/picker.js'
import type { CheckResult, MemberView } from '../pool/types.js'
import type { RelayStats } from './stats.js'
import { attemptResult, type ConnectionTrace } from './trace.js'

/** What routing needs from its data plane: the picker, accounting and reporting. */
export interface RoutingContext {
  readonly listener: string
  /** Listener's own port: a member's port for it unless overridden. */
  readonly listenerPort: number
  /** Mutable: a reload changes them for new connections. */
  connectTimeoutMs: number
  idleTimeoutMs: number
  connectAttempts: number
  picker(): Picker
  now(): number
  /** Stats record for (this listener, member). */
  stats(member: string): RelayStats
  /** Active-connection bookkeeping for least-connections and per-member limits. */
  acquire(member: string): void
  release(member: string): void
  /** A member could not be reached: a passive health failure. */
  passiveFailure(member: string, result: CheckResult): void
  connectDuration(member: string, seconds: number): void
  /** Whether the access log is on: relays then keep a ConnectionTrace. Fixed at start. */
  readonly accessLog: boolean
  /** A new trace for a connection accepted now (only called when accessLog is on). */
  newTrace(): ConnectionTrace
  /** The access log's id of a traced connection (the PROXY v2 UNIQUE_ID). */
  connectionId(trace: ConnectionTrace): string
  /** Mutable: PROXY protocol for members without their own setting (pool default). */
  proxyProtocol: ProxyProtocolVersion
  /** Mutable: with v2, how long the header waits for the client's first bytes (ms). */
  proxyProtocolSniWaitMs: number
}

/**
 * TCP_NODELAY on both legs of every relay (issue #19), as HAProxy sets it on both sides:
 * a relay forwards each chunk as it arrives, and with Nagle on a small one (a TLS
 * record's tail, a request right after a response) waited for the ACK of the previous
 * one, which the receiver delays by up to 40 ms. Through corral, 30 write-write-read
 * exchanges took 1.4 s instead of 85 ms, and a registry push paid it per request.
 */
export const NO_DELAY = true

/** Outcome of a connection rejected before any member was tried. */
export type Rejection = 'rejected_no_member' | 'rejected_limit'

/**
 * What a pick gives: the member to connect to, a rejection (nobody tried yet), or
 * "failed" (members were tried and none is left: already counted as failed).
 */
export type PickOutcome = MemberView | Rejection | 'failed'

/** The port of `member` for the context's listener. */
export function memberPort(ctx: RoutingContext, member: MemberView): number {
  return member.ports[ctx.listener] ?? ctx.listenerPort
}

/**
 * One client connection's routing state. A relay extends it and is its own pick
 * request, so a pick allocates nothing; fields are fixed here for a stable shape.
 */
export abstract class RoutedConnection implements PickRequest {
  readonly ctx: RoutingContext
  /** PickRequest: when the current pick happens. */
  now = 0
  /** PickRequest: members already tried (undefined until a retry). */
  exclude: Set<string> | undefined = undefined
  /** The member picked last (the one connected to, once established). */
  member: MemberView | null = null
  stats: RelayStats | null = null
  /**
   * Whether a member leg was ever established: only then do the client's bytes count as
   * sent to `member` (bytes buffered while connecting to a member that then failed are
   * forwarded to the next one, or to nobody).
   */
  established = false
  /** The access log's record of this connection; null when the log is off. */
  readonly trace: ConnectionTrace | null
  #attempts = 0
  /** Whether `member` is counted in the load/active bookkeeping. */
  #acquired = false

  constructor(ctx: RoutingContext) {
    this.ctx = ctx
    this.trace = ctx.accessLog ? ctx.newTrace() : null
  }

  /** PickRequest: the consistent-hash key. */
  abstract get clientAddress(): string

  /** Picks the next member and counts it as this connection's (see PickOutcome). */
  protected pickMember(): PickOutcome {
    const ctx = this.ctx
    this.now = ctx.now()
    const picked = ctx.picker().pick(this)
    if (typeof picked === 'string') {
      if (this.#attempts === 0) {
        this.trace?.close('corral', picked === 'limit' ? 'limit' : 'no_member')
        return picked === 'limit' ? 'rejected_limit' : 'rejected_no_member'
      }
      // Every member we could try failed to connect.
      if (this.stats !== null) this.stats.outcomes.failed++
      this.#traceGaveUp()
      return 'failed'
    }
    this.#attempts++
    const stats = ctx.stats(picked.id)
    this.member = picked
    this.stats = stats
    ctx.acquire(picked.id)
    stats.active++
    this.#acquired = true
    return picked
  }

  /** The member leg is up after `seconds`: counted ok (first attempt) or retried. */
  protected memberConnected(seconds: number): void {
    const { member, stats } = this
    if (member === null || stats === null) return
    this.established = true
    this.ctx.connectDuration(member.id, seconds)
    const trace = this.trace
    if (trace !== null) {
      trace.connectedAt = this.ctx.now()
      trace.attempts.push({
        member: member.id,
        address: `${member.address}:${String(memberPort(this.ctx, member))}`,
        result: 'ok',
        error: null,
        ms: seconds * 1000,
      })
    }
    stats.outcomes[this.#attempts > 1 ? 'retried' : 'ok']++
  }

  /**
   * Connecting to `member` failed (`code` such as ECONNREFUSED, or a timeout): it is
   * released and reported as a passive health failure.
   */
  protected memberFailed(timedOut: boolean, code: string | undefined): void {
    const { member, stats, ctx } = this
    if (member === null || stats === null) return
    this.releaseMember()
    stats.outcomes.connect_error++
    const where = `${member.address}:${String(memberPort(ctx, member))}`
    const result = attemptResult(timedOut, code)
    this.trace?.attempts.push({
      member: member.id,
      address: where,
      result,
      error: result === 'error' ? (code ?? null) : null,
      ms: ctx.now() - this.now,
    })
    ctx.passiveFailure(member.id, {
      ok: false,
      reason: 'passive-connect',
      detail: timedOut
        ? `connect timeout ${where}`
        : `connect ${code ?? 'error'} ${where}`,
    })
  }

  /**
   * After memberFailed: whether another member may be tried (the failed one is then
   * excluded from the next pick); when attempts are used up, counts the connection failed.
   */
  protected mayRetry(): boolean {
    const { member, stats } = this
    if (member === null || stats === null) return false
    if (this.#attempts >= this.ctx.connectAttempts) {
      stats.outcomes.failed++
      this.#traceGaveUp()
      return false
    }
    ;(this.exclude ??= new Set()).add(member.id)
    return true
  }

  /** No member could be connected: the last attempt says whether by timeout. */
  #traceGaveUp(): void {
    const trace = this.trace
    if (trace === null) return
    const last = trace.attempts[trace.attempts.length - 1]
    trace.close(
      'corral',
      last?.result === 'timeout' ? 'connect_timeout' : 'connect_error',
    )
  }

  /** The PROXY protocol version the picked member gets ("off" before a pick). */
  protected proxyProtocol(): ProxyProtocolVersion {
    const member = this.member
    return member === null
      ? 'off'
      : effectiveProxyProtocol(member, this.ctx.proxyProtocol)
  }

  /** Gives the member's count back (idempotent). */
  protected releaseMember(): void {
    if (!this.#acquired || this.member === null || this.stats === null) return
    this.#acquired = false
    this.stats.active--
    this.ctx.release(this.member.id)
  }
}
