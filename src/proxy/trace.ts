// What the access log needs to know about one connection, filled in by its relay as
// events happen. A relay holds one only when the access log is on (trace is null
// otherwise: no allocation and one null check per event when it is off).
import type { NativeCloseReason } from './native-engine.js'
import type { CloseCause, ClosedBy } from './termination.js'

/** Result of one connect attempt. */
export type AttemptResult = 'ok' | 'refused' | 'timeout' | 'reset' | 'error'

/** One connect attempt to a member. */
export interface ConnectAttempt {
  readonly member: string
  /** "host:port" connected to. */
  readonly address: string
  readonly result: AttemptResult
  /** errno code such as "EHOSTUNREACH" when result is "error", else null. */
  readonly error: string | null
  /** Time from pick to the result, in ms. */
  readonly ms: number
}

/** One connection's access-log facts; times are monotonic ms (Clock), 0 = not yet. */
export class ConnectionTrace {
  readonly startedAt: number
  readonly attempts: ConnectAttempt[] = []
  connectedAt = 0
  firstToMemberAt = 0
  firstToClientAt = 0
  /** Null until closed, and when the relay thread cannot tell which side ended first. */
  closedBy: ClosedBy | null = null
  cause: CloseCause | null = null
  /** Client and local address, read at accept (null where unknown). */
  clientAddress: string | null = null
  clientPort: number | null = null
  localAddress: string | null = null
  localPort: number | null = null
  /** TLS SNI the client sent, when peeked. */
  sni: string | null = null
  /** Sequence number within this process (the record id's second half). */
  readonly seq: number
  /** Next interim record due (monotonic ms), 0 = none. */
  interimAt = 0

  constructor(startedAt: number, seq: number) {
    this.startedAt = startedAt
    this.seq = seq
  }

  /** Records who closed first and why; later calls are ignored (the first cause wins). */
  close(by: ClosedBy | null, cause: CloseCause): void {
    if (this.cause !== null) return
    this.closedBy = by
    this.cause = cause
  }
}

/** The attempt result for a failed connect (`code` an errno code such as ECONNREFUSED). */
export function attemptResult(
  timedOut: boolean,
  code: string | undefined,
): AttemptResult {
  if (timedOut) return 'timeout'
  if (code === 'ECONNREFUSED') return 'refused'
  if (code === 'ECONNRESET') return 'reset'
  return 'error'
}

/**
 * Records why the relay thread closed a connection: both directions finished ("done",
 * `closer` the side whose FIN came first) or a socket failed ("error", `closer` that
 * socket's side); 0 = client, 1 = member, -1 = not known (closer null).
 */
export function traceNativeClose(
  trace: ConnectionTrace,
  reason: NativeCloseReason,
  closer: number,
): void {
  const by = closer === 0 ? 'client' : closer === 1 ? 'member' : null
  switch (reason) {
    case 'done':
      trace.close(by, 'fin')
      return
    case 'error':
      trace.close(by, 'rst')
      return
    case 'idle':
      trace.close('corral', 'idle_timeout')
      return
    case 'forced':
    case 'stopped':
      // A forced close's cause was recorded by destroy(cause) already.
      trace.close('corral', 'shutdown')
      return
    default: {
      const unknown: never = reason
      throw new Error(`unknown native close reason ${String(unknown)}`)
    }
  }
}

/**
 * Records the relay thread's first-byte times on a trace whose member leg is up: ms from
 * the start of relaying (the member leg established) to the first byte read from the
 * client (`toMemberMs`) and from the member (`toClientMs`); 0 = none yet. They count from
 * when JavaScript heard of the established leg (connectedAt), which can be later than
 * the thread saw it when events wait for a busy event loop, so each is capped at `now`
 * (the byte was read before JavaScript heard of it): a record never shows a first byte
 * after its close. Times already recorded stay (an interim record read them earlier).
 */
export function traceNativeFirstBytes(
  trace: ConnectionTrace,
  toMemberMs: number,
  toClientMs: number,
  now: number,
): void {
  if (trace.connectedAt === 0) return
  if (trace.firstToMemberAt === 0 && toMemberMs > 0)
    trace.firstToMemberAt = Math.min(trace.connectedAt + toMemberMs, now)
  if (trace.firstToClientAt === 0 && toClientMs > 0)
    trace.firstToClientAt = Math.min(trace.connectedAt + toClientMs, now)
}
