// The shape of one access-log record (docs/access-log.md lists every field): built from
// a connection's trace when it closes (or, as an interim record, while it is open).
// Unknown values are null, never "-". Pure: times are arguments.
import type { ConnectAttempt, ConnectionTrace } from '../proxy/trace.js'
import { terminationOf, type ClosedBy } from '../proxy/termination.js'

/** "close": the connection ended; "interim": it is still open (a long transfer). */
export type RecordType = 'close' | 'interim'

/** One JSON line of the access log. */
export interface AccessRecord {
  readonly type: RecordType
  /** Connection id, the same on a connection's interim and close records. */
  readonly id: string
  /** Accept time (ISO 8601, UTC). */
  readonly start: string
  readonly listener: string
  readonly clientAddress: string | null
  readonly clientPort: number | null
  readonly localAddress: string | null
  readonly localPort: number | null
  readonly sni: string | null
  /** The member that carried the connection (the last one tried), or null. */
  readonly member: string | null
  readonly attempts: readonly ConnectAttempt[]
  /** Accept to member leg established, in ms. */
  readonly connectMs: number | null
  readonly firstByteToMemberMs: number | null
  readonly firstByteToClientMs: number | null
  /** Accept to close (or to now, in an interim record), in ms. */
  readonly durationMs: number
  readonly bytesToMember: number
  readonly bytesToClient: number
  readonly closedBy: ClosedBy | null
  readonly cause: string | null
  /** Two-letter HAProxy-style termination state (proxy/termination.ts); null while open. */
  readonly termination: string | null
  /** NGINX-style status: 200, 502, 503; null while open. */
  readonly status: number | null
}

/** What the data plane knows of a connection besides its trace. */
export interface ConnectionFacts {
  readonly type: RecordType
  readonly listener: string
  readonly member: string | null
  readonly established: boolean
  readonly bytesToMember: number
  readonly bytesToClient: number
}

/** Builds a record; `now` is monotonic ms, `wallNow` epoch ms at the same instant. */
export function buildRecord(
  trace: ConnectionTrace,
  facts: ConnectionFacts,
  idPrefix: string,
  now: number,
  wallNow: number,
): AccessRecord {
  const since = (t: number): number | null =>
    t === 0 ? null : round(t - trace.startedAt)
  const closing = facts.type === 'close'
  // A close with no recorded cause: both legs closed without an event naming one
  // (cannot happen on the JS path; kept null rather than guessed).
  const t =
    closing && trace.cause !== null
      ? terminationOf({
          closedBy: trace.closedBy,
          cause: trace.cause,
          established: facts.established,
        })
      : null
  return {
    type: facts.type,
    id: `${idPrefix}-${String(trace.seq)}`,
    start: new Date(wallNow - (now - trace.startedAt)).toISOString(),
    listener: facts.listener,
    clientAddress: trace.clientAddress,
    clientPort: trace.clientPort,
    localAddress: trace.localAddress,
    localPort: trace.localPort,
    sni: trace.sni,
    member: facts.member,
    attempts: trace.attempts,
    connectMs: since(trace.connectedAt),
    firstByteToMemberMs: since(trace.firstToMemberAt),
    firstByteToClientMs: since(trace.firstToClientAt),
    durationMs: round(now - trace.startedAt),
    bytesToMember: facts.bytesToMember,
    bytesToClient: facts.bytesToClient,
    closedBy: closing ? trace.closedBy : null,
    cause: closing ? trace.cause : null,
    termination: t?.state ?? null,
    status: t?.status ?? null,
  }
}

/** Whether a record reports an error (never sampled away). */
export function isErrorRecord(record: AccessRecord): boolean {
  return record.termination !== null && record.termination !== '--'
}

/** Milliseconds to 0.001 ms. */
function round(ms: number): number {
  return Math.round(ms * 1000) / 1000
}

/**
 * The record as one JSON line (with "\n"): JSON.stringify's output for the same object,
 * written out field by field because that took about a third of a record's cost.
 */
export function recordLine(r: AccessRecord): string {
  let attempts = ''
  for (const a of r.attempts) {
    if (attempts !== '') attempts += ','
    attempts += `{"member":${str(a.member)},"address":${str(a.address)},"result":${str(a.result)},"error":${str(a.error)},"ms":${num(a.ms)}}`
  }
  return `{"type":${str(r.type)},"id":${str(r.id)},"start":${str(r.start)},"listener":${str(r.listener)},"clientAddress":${str(r.clientAddress)},"clientPort":${num(r.clientPort)},"localAddress":${str(r.localAddress)},"localPort":${num(r.localPort)},"sni":${str(r.sni)},"member":${str(r.member)},"attempts":[${attempts}],"connectMs":${num(r.connectMs)},"firstByteToMemberMs":${num(r.firstByteToMemberMs)},"firstByteToClientMs":${num(r.firstByteToClientMs)},"durationMs":${num(r.durationMs)},"bytesToMember":${num(r.bytesToMember)},"bytesToClient":${num(r.bytesToClient)},"closedBy":${str(r.closedBy)},"cause":${str(r.cause)},"termination":${str(r.termination)},"status":${num(r.status)}}\n`
}

/** Characters JSON needs escaped (and anything outside printable ASCII, to be safe). */
const NEEDS_ESCAPE = /[^\x20-\x21\x23-\x5b\x5d-\x7e]/

function str(s: string | null): string {
  if (s === null) return 'null'
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`
}

function num(n: number | null): string {
  return n === null || !Number.isFinite(n) ? 'null' : String(n)
}
