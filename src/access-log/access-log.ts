// One process's access log: turns a closing connection's trace into a record, decides
// whether it is written (admission.ts), and hands the line to its writer. Each data-path
// process (every worker, or the single process) has its own: a record never crosses IPC,
// which would cost a structured-clone message per connection in both processes, while a
// local write is one JSON.stringify and a queued fs.write per batch (writer.ts explains
// why whole lines from several processes do not interleave).
import type { AccessLogConfig } from '../config/access-log-schema.js'
import { ConnectionTrace } from '../proxy/trace.js'
import { formatClientAddress } from './address.js'
import { admit, newBucket, type RateBucket } from './admission.js'
import { buildRecord, isErrorRecord, recordLine, type ConnectionFacts } from './record.js'
import { LineWriter } from './writer.js'

/** Why a record was not written although it was meant to be. */
export type DropReason = 'backlog' | 'rate'

/** Counters and logs the access log reports to. */
export interface AccessLogDeps {
  /** Monotonic ms. */
  readonly now: () => number
  /** Epoch ms (record start times). */
  readonly wallNow: () => number
  readonly random: () => number
  readonly written: () => void
  readonly dropped: (reason: DropReason) => void
  /** The destination failed (rate-limit these in the caller's log if needed). */
  readonly failed: (err: Error) => void
}

/** Builds, admits and writes access-log records for one process. */
export class AccessLog {
  readonly #config: AccessLogConfig
  readonly #deps: AccessLogDeps
  readonly #idPrefix: string
  readonly #writer: LineWriter
  readonly #bucket: RateBucket
  #seq = 0

  /** `idPrefix` makes connection ids unique across processes (a worker's pid). */
  constructor(config: AccessLogConfig, idPrefix: string, deps: AccessLogDeps) {
    this.#config = config
    this.#deps = deps
    this.#idPrefix = idPrefix
    this.#bucket = newBucket(config, deps.now())
    this.#writer = new LineWriter(config.destination, {
      dropped: () => {
        deps.dropped('backlog')
      },
      failed: deps.failed,
    })
  }

  /** A trace for a connection accepted now. */
  newTrace(): ConnectionTrace {
    return new ConnectionTrace(this.#deps.now(), ++this.#seq)
  }

  /** The id the records of `trace` carry (record.ts), also the PROXY v2 UNIQUE_ID. */
  idOf(trace: ConnectionTrace): string {
    return `${this.#idPrefix}-${String(trace.seq)}`
  }

  /** Interim records' period in ms (0 = none). */
  get interimMs(): number {
    return this.#config.interim
  }

  /** Writes the record of `trace` if admission lets it through. */
  record(trace: ConnectionTrace, facts: ConnectionFacts): void {
    const deps = this.#deps
    const now = deps.now()
    const record = buildRecord(trace, facts, this.#idPrefix, now, deps.wallNow())
    const verdict = admit(
      this.#config,
      this.#bucket,
      {
        // Interim records are sampled like normal ones.
        error: isErrorRecord(record),
        bytes: record.bytesToMember + record.bytesToClient,
      },
      now,
      deps.random(),
    )
    if (verdict === 'rate') deps.dropped('rate')
    if (verdict !== 'write') return
    const mode = this.#config.clientAddress
    const line = recordLine(
      mode === 'full'
        ? record
        : { ...record, clientAddress: formatClientAddress(record.clientAddress, mode) },
    )
    if (this.#writer.write(line)) deps.written()
  }

  /** Reopens a file destination (logrotate moved it); no line is lost. */
  reopen(): void {
    this.#writer.reopen()
  }

  /** Flushes and closes the destination. */
  close(): Promise<void> {
    return this.#writer.close()
  }
}
