// One DNS discovery source at work: polls (poller.ts), decides (reconcile.ts), and applies
// the decisions through the same member operations as the admin API
// (app/member-operations.ts), so a shared pool carries discovered members like any other
// member write. Logs once per change of condition (good, failing, suspicious), not once
// per poll.
import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import type { DiscoveryConfig } from '../config/discovery-schema.js'
import type { DiscoveryMetrics } from '../metrics/discovery.js'
import type { MemberEndpoint, MemberSource, MemberView } from '../pool/types.js'
import { DnsPoller, type QueryResult } from './poller.js'
import {
  INITIAL_STATE,
  reconcile,
  type Action,
  type Answer,
  type Outcome,
  type ReconcileState,
} from './reconcile.js'
import { sourceOf, targetsOf } from './targets.js'

/** The member writes discovery makes (app/member-operations.ts). */
export interface MemberWrites {
  upsert(member: MemberEndpoint): Promise<unknown>
  remove(id: string): Promise<unknown>
}

/** What a source needs from the app. */
export interface DiscoveryDeps {
  readonly log: Logger
  readonly clock: Clock
  readonly wallNow: () => number
  readonly metrics: DiscoveryMetrics
  /** The pool as it is now. */
  readonly views: () => readonly MemberView[]
  /** Who added a member (records older than sources carry none: see memberSource). */
  readonly sourceOf: (view: MemberView) => MemberSource
  readonly writes: MemberWrites
  /** Listener names (SRV ports apply to each). */
  readonly listeners: readonly string[]
}

/** A source's state for the pool API and status page. */
export interface DiscoveryStatus {
  readonly name: string
  readonly dns: string
  readonly record: string
  /** The last poll's outcome; undefined before the first. */
  readonly lastResult?: Outcome
  readonly lastDetail: string | null
  /** Wall ms of the last good answer. */
  readonly lastSuccessAt?: number
  /** Failing static: queries fail and the last good set is kept. */
  readonly failStatic: boolean
  /** Members missing from good answers, within their grace period. */
  readonly held: readonly string[]
  /** Addresses back in DNS whose old member still drains. */
  readonly waiting: readonly string[]
  /** Ids the answers ask for that another source already uses (skipped). */
  readonly conflicts: readonly string[]
}

/** Polls one DNS name and keeps the pool's members of source dns:<name> in line with it. */
export class DiscoverySource {
  readonly #o: DiscoveryConfig
  readonly #d: DiscoveryDeps
  readonly #source: MemberSource
  readonly #poller: DnsPoller
  #state: ReconcileState = INITIAL_STATE
  #status: DiscoveryStatus
  /** "good", "suspicious" or the failure reason: logged when it changes. */
  #condition = 'start'

  constructor(options: DiscoveryConfig, deps: DiscoveryDeps) {
    this.#o = options
    this.#d = deps
    this.#source = sourceOf(options.name)
    this.#poller = new DnsPoller(options, {
      onError: err => {
        deps.log.error({ err, discovery: options.name }, 'dns discovery round failed')
      },
    })
    this.#status = {
      name: options.name,
      dns: options.dns,
      record: options.record,
      lastDetail: null,
      failStatic: false,
      held: [],
      waiting: [],
      conflicts: [],
    }
  }

  /** Polls now and every interval until close(). */
  start(): void {
    this.#poller.start(r => this.#onResult(r))
  }

  /** Stops polling; members stay as they are. */
  async close(): Promise<void> {
    await this.#poller.close()
  }

  /** The state shown by the pool API. */
  status(): DiscoveryStatus {
    return this.#status
  }

  async #onResult(q: QueryResult): Promise<void> {
    const { log, metrics, views } = this.#d
    const name = this.#o.name
    const all = views()
    const own = all.filter(v => this.#d.sourceOf(v) === this.#source)
    const taken = new Set(
      all.filter(v => this.#d.sourceOf(v) !== this.#source).map(v => v.id),
    )
    let conflicts: string[] = []
    let answer: Answer
    if (q.ok) {
      const targets = targetsOf(this.#o, q.records, this.#d.listeners)
      conflicts = targets.filter(t => taken.has(t.id)).map(t => t.id)
      answer = { ok: true, targets: targets.filter(t => !taken.has(t.id)) }
    } else answer = q
    const r = reconcile(this.#state, answer, {
      now: this.#d.clock.now(),
      members: own.map(v => ({
        id: v.id,
        address: v.address,
        ports: v.ports,
        removing: v.removing,
      })),
      poolSize: all.filter(v => !v.removing).length,
      graceMs: this.#o.graceMs,
    })
    this.#state = r.state
    metrics.polls.inc({ discovery: name, result: r.outcome })
    const failing = r.outcome !== 'success' && r.outcome !== 'suspicious'
    metrics.failStatic.set({ discovery: name }, failing ? 1 : 0)
    const detail = q.ok ? undefined : q.detail
    if (r.outcome === 'success') {
      metrics.lastSuccess.set({ discovery: name }, this.#d.wallNow() / 1000)
    }
    this.#logCondition(r.outcome, detail, own.length)
    for (const id of conflicts) {
      if (!this.#status.conflicts.includes(id)) {
        log.warn(
          { discovery: name, member: id },
          'dns discovery skips a member id another source already uses: rename one of them',
        )
      }
    }
    this.#status = {
      ...this.#status,
      lastResult: r.outcome,
      lastDetail: detail ?? null,
      ...(r.outcome === 'success' ? { lastSuccessAt: this.#d.wallNow() } : {}),
      failStatic: failing,
      held: r.held,
      waiting: r.waiting,
      conflicts,
    }
    for (const action of r.actions) await this.#apply(action)
    metrics.members.set(
      { discovery: name },
      views().filter(v => this.#d.sourceOf(v) === this.#source).length,
    )
  }

  #logCondition(outcome: Outcome, detail: string | undefined, members: number): void {
    const { log } = this.#d
    const name = this.#o.name
    const condition = outcome === 'success' ? 'good' : outcome
    if (condition === this.#condition) return
    const was = this.#condition
    this.#condition = condition
    const fields = { discovery: name, dns: this.#o.dns, members }
    if (condition === 'good') {
      if (was !== 'start' && was !== 'suspicious') {
        log.info({ ...fields, was }, 'dns discovery answers again')
      }
    } else if (condition === 'suspicious') {
      log.warn(
        fields,
        'dns answer would remove more members than the pool can lose: held until the next answer repeats it',
      )
    } else {
      log.warn(
        { ...fields, reason: outcome, detail },
        'dns discovery failing: keeping the last good members (fail-static)',
      )
    }
  }

  async #apply(action: Action): Promise<void> {
    const { log, metrics } = this.#d
    const discovery = this.#o.name
    const kind = action.kind
    try {
      if (kind === 'remove') {
        log.info(
          { discovery, member: action.id, missingMs: action.missingMs },
          'member gone from dns: draining, removed once idle',
        )
        await this.#d.writes.remove(action.id)
      } else {
        const t = action.target
        log.info(
          { discovery, member: t.id, address: t.address, ports: t.ports },
          kind === 'add' ? 'member discovered' : 'discovered member changed',
        )
        await this.#d.writes.upsert({
          id: t.id,
          address: t.address,
          ports: t.ports,
          weight: this.#o.weight,
          source: this.#source,
        })
      }
      metrics.actions.inc({ discovery, action: kind, result: 'success' })
    } catch (err) {
      // The next good answer decides again from the pool as it is then.
      metrics.actions.inc({ discovery, action: kind, result: 'failure' })
      log.warn(
        { err, discovery, action: kind },
        'dns discovery could not change the pool (store unreachable?): retried on the next answer',
      )
    }
  }
}
