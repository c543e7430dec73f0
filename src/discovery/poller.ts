// Asks DNS for one discovery source's records on an interval: a c-ares Resolver of its own
// (own servers, timeout and tries; never dns.lookup, which goes through the libc resolver,
// its cache and the libuv thread pool), jittered, backing off while queries fail.
// Swarm's embedded DNS answers every record with TTL 600: TTLs are ignored, the interval rules.
import { Resolver } from 'node:dns/promises'
import { isIP } from 'node:net'
import type { DiscoveryConfig } from '../config/discovery-schema.js'
import type { AnswerFailure } from './reconcile.js'
import type { DnsRecords } from './targets.js'

/** One query's outcome, before records become members. */
export type QueryResult =
  | { readonly ok: true; readonly records: DnsRecords }
  | { readonly ok: false; readonly reason: AnswerFailure; readonly detail: string }

/** Random spread of each interval, as a fraction of it (±). */
const JITTER = 0.1
/** Longest wait between queries while they fail, as a multiple of the interval. */
const MAX_BACKOFF_INTERVALS = 4

/** What the poller needs from outside. */
export interface PollerDeps {
  /** Uniform [0, 1); injectable for tests. Default Math.random. */
  readonly random?: () => number
  /** A round's `onResult` threw (a bug): reported here, and polling goes on. */
  readonly onError?: (err: unknown) => void
}

function failureOf(err: unknown, what: string): QueryResult {
  const code =
    err !== null && typeof err === 'object' && 'code' in err ? String(err.code) : ''
  const detail = `${what}: ${err instanceof Error ? err.message : String(err)}`
  switch (code) {
    case 'ETIMEOUT':
      return { ok: false, reason: 'timeout', detail }
    case 'ESERVFAIL':
      return { ok: false, reason: 'servfail', detail }
    case 'EREFUSED':
      return { ok: false, reason: 'refused', detail }
    case 'ENOTFOUND':
      return { ok: false, reason: 'nxdomain', detail }
    case 'ENODATA':
      return { ok: false, reason: 'empty', detail }
    default:
      return { ok: false, reason: 'error', detail }
  }
}

/** Whether a failed target lookup says the name is gone (rather than DNS being broken). */
function isAbsent(r: QueryResult): boolean {
  return !r.ok && (r.reason === 'nxdomain' || r.reason === 'empty')
}

/** Queries one source's DNS name; `start` polls until `close`. */
export class DnsPoller {
  readonly #o: DiscoveryConfig
  readonly #resolver: Resolver
  readonly #random: () => number
  readonly #onError: (err: unknown) => void
  #timer: NodeJS.Timeout | undefined
  #closed = false
  #running: Promise<void> | undefined
  #failures = 0

  constructor(options: DiscoveryConfig, deps: PollerDeps = {}) {
    this.#o = options
    this.#random = deps.random ?? Math.random
    this.#onError =
      deps.onError ??
      ((err: unknown) => {
        throw err
      })
    this.#resolver = new Resolver({ timeout: options.timeoutMs, tries: options.tries })
    if (options.servers !== undefined) this.#resolver.setServers([...options.servers])
  }

  /** One query now: A/AAAA addresses, or SRV targets with each target's A address. */
  async query(): Promise<QueryResult> {
    const { dns, record } = this.#o
    try {
      if (record === 'A') {
        return {
          ok: true,
          records: { kind: 'addresses', addresses: await this.#resolver.resolve4(dns) },
        }
      }
      if (record === 'AAAA') {
        return {
          ok: true,
          records: { kind: 'addresses', addresses: await this.#resolver.resolve6(dns) },
        }
      }
    } catch (err) {
      return failureOf(err, `${record} ${dns}`)
    }
    return this.#querySrv()
  }

  /**
   * SRV, then an A query per target. A target whose name does not exist (NXDOMAIN, no
   * record) is left out: the SRV set is stale for a moment. Any other failure fails the
   * whole answer, so a broken resolver never reads as "members gone".
   */
  async #querySrv(): Promise<QueryResult> {
    const { dns } = this.#o
    let srv: Awaited<ReturnType<Resolver['resolveSrv']>>
    try {
      srv = await this.#resolver.resolveSrv(dns)
    } catch (err) {
      return failureOf(err, `SRV ${dns}`)
    }
    const addresses = new Map<string, QueryResult | string>()
    for (const target of new Set(srv.map(s => s.name))) {
      if (isIP(target) !== 0) {
        addresses.set(target, target)
        continue
      }
      try {
        const [first] = (await this.#resolver.resolve4(target)).sort()
        if (first !== undefined) addresses.set(target, first)
      } catch (err) {
        const failed = failureOf(err, `A ${target} (SRV target of ${dns})`)
        if (!isAbsent(failed)) return failed
      }
    }
    const entries = srv.flatMap(s => {
      const address = addresses.get(s.name)
      return typeof address === 'string'
        ? [{ target: s.name, port: s.port, address }]
        : []
    })
    if (entries.length === 0) {
      return { ok: false, reason: 'empty', detail: `SRV ${dns}: no target resolves` }
    }
    return { ok: true, records: { kind: 'srv', entries } }
  }

  /**
   * Polls now and then every interval (±10%); after n failures in a row the wait doubles
   * n times, up to 4 intervals. `onResult` is awaited before the next query is scheduled.
   */
  start(onResult: (r: QueryResult) => Promise<void>): void {
    const tick = async (): Promise<void> => {
      const r = await this.query()
      if (this.isClosed()) return
      this.#failures = r.ok ? 0 : this.#failures + 1
      try {
        await onResult(r)
      } catch (err) {
        this.#onError(err)
      }
      // close() may have run while onResult was applying actions.
      if (this.isClosed()) return
      this.#timer = setTimeout(() => {
        this.#running = tick()
      }, this.nextDelayMs())
      this.#timer.unref()
    }
    this.#running = tick()
  }

  /** Whether close() was called. */
  isClosed(): boolean {
    return this.#closed
  }

  /** The wait before the next query (jittered, backed off while failing). */
  nextDelayMs(): number {
    const factor = Math.min(2 ** this.#failures, MAX_BACKOFF_INTERVALS)
    const spread = 1 + JITTER * (2 * this.#random() - 1)
    return Math.round(this.#o.intervalMs * factor * spread)
  }

  /** Stops polling; cancels a query in flight; waits for the current round to end. */
  async close(): Promise<void> {
    this.#closed = true
    clearTimeout(this.#timer)
    this.#resolver.cancel()
    await this.#running
  }
}
