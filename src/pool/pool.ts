// PURE. The pool: members, their health and admin state. It applies transitions and
// reports them; the shell (app/pool.ts, app/routing.ts) logs, counts, and republishes
// pickers. Time is always an argument.
import type { Health } from './types.js'
import {
  initialHealth,
  isPending,
  isRoutable,
  observe,
  rethreshold,
  visibleState,
  type MemberHealth,
  type Step,
  type Thresholds,
} from './member-state.js'
import { MemberCounts, type Counted } from './counts.js'
import { effectiveHealth, type SharedFacts, type VerdictPolicy } from './verdict.js'
import type {
  AdminState,
  CheckResult,
  MemberChange,
  MemberEndpoint,
  MemberState,
  MemberView,
  PoolCounts,
} from './types.js'

/** How the pool judges members. */
export interface PoolOptions {
  readonly thresholds: Thresholds
  /** Health of a member before its first check. */
  readonly initialHealth: Health
  /** How shared facts (other instances, sidecars) count; default "local". */
  readonly policy?: VerdictPolicy
}

interface Entry {
  readonly endpoint: MemberEndpoint
  readonly health: MemberHealth
  readonly admin: AdminState
  readonly removing: boolean
  readonly stateSince: number
  /** Facts from the shared store; undefined when standalone or the store is unreachable. */
  readonly facts?: SharedFacts
}

/** Receives every visible-state change (including additions and removals). */
export type ChangeListener = (change: MemberChange) => void

/** Receives the pool's counts whenever the size, live or routable count moved. */
export type CountsListener = (counts: PoolCounts, at: number) => void

/** The result of an admin operation on a member that may not exist. */
export type AdminResult =
  { ok: true; view: MemberView } | { ok: false; error: 'not-found' }

function sameEndpoint(a: MemberEndpoint, b: MemberEndpoint): boolean {
  const ports = (m: MemberEndpoint): string =>
    JSON.stringify(Object.entries(m.ports).sort())
  return a.address === b.address && ports(a) === ports(b)
}

/** Whether two fact sets say the same (a resync re-reads them unchanged most of the time). */
function sameFacts(a: SharedFacts | undefined, b: SharedFacts | undefined): boolean {
  if (a === b) return true
  if (a === undefined || b === undefined) return false
  if (a.peers.length !== b.peers.length || a.authorities.length !== b.authorities.length)
    return false
  for (let i = 0; i < a.peers.length; i++) if (a.peers[i] !== b.peers[i]) return false
  for (let i = 0; i < a.authorities.length; i++) {
    const x = a.authorities[i]
    const y = b.authorities[i]
    if (
      x?.kind !== y?.kind ||
      x?.source !== y?.source ||
      x?.health !== y?.health ||
      x?.reason !== y?.reason
    )
      return false
  }
  return true
}

function verdictOf(e: Entry, policy: VerdictPolicy): { health: Health; reason: string } {
  return effectiveHealth(
    { health: e.health.health, reason: e.health.reason },
    e.facts,
    policy,
  )
}

/** Members, health verdicts and admin states; emits a change for every visible transition. */
export class Pool {
  #options: PoolOptions
  readonly #entries = new Map<string, Entry>()
  readonly #listeners = new Set<ChangeListener>()
  readonly #countsListeners = new Set<CountsListener>()
  readonly #counts = new MemberCounts()
  #views: readonly MemberView[] | undefined
  #version = 0

  constructor(options: PoolOptions) {
    this.#options = options
  }

  /** Increments on every change that affects routing; pickers are rebuilt when it moves. */
  get version(): number {
    return this.#version
  }

  /** Subscribes to visible-state changes; returns the unsubscribe function. */
  onChange(listener: ChangeListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /**
   * Subscribes to count changes (issue #24): a draining member failing its checks changes
   * `live` without any visible-state change, so onChange alone cannot tell.
   */
  onCountsChanged(listener: CountsListener): () => void {
    this.#countsListeners.add(listener)
    return () => this.#countsListeners.delete(listener)
  }

  /** Members in all, live (effective verdict up, any admin state) and routable (state up). */
  counts(): PoolCounts {
    return this.#counts.counts(this.#entries.size)
  }

  /** Applies new thresholds (reload) without changing any verdict. */
  setOptions(options: PoolOptions, now: number): void {
    this.#options = options
    for (const [id, e] of this.#entries) {
      this.#set(id, { ...e, health: rethreshold(e.health, options.thresholds) }, now, '')
    }
  }

  /**
   * Adds a member, or replaces one. A new address/port is a new replica: it starts over
   * with initial health (`initial`, else the configured default). A weight-only change
   * keeps its health and admin state; `initial` also resets a member never checked yet
   * (warm start from the shared pool).
   */
  upsert(endpoint: MemberEndpoint, now: number, initial?: Health): MemberView {
    const old = this.#entries.get(endpoint.id)
    // Upserting cancels a pending removal and the drain that removal started: left
    // draining with `removing` cleared, the member would get no traffic and never go.
    const admin: AdminState = old === undefined || old.removing ? 'enabled' : old.admin
    const unchecked = old?.health.recent.length === 0
    if (
      old !== undefined &&
      sameEndpoint(old.endpoint, endpoint) &&
      !(initial !== undefined && unchecked)
    ) {
      this.#set(
        endpoint.id,
        { ...old, endpoint, admin, removing: false },
        now,
        'member updated',
      )
    } else {
      // A warm start passes the shared verdict instead of the configured initial state.
      const health = initialHealth(
        initial ?? this.#options.initialHealth,
        this.#options.thresholds,
        now,
      )
      const reason =
        old === undefined
          ? 'member added'
          : sameEndpoint(old.endpoint, endpoint)
            ? `warm start: ${initial ?? this.#options.initialHealth} as last seen by the shared pool`
            : 'member address changed'
      this.#set(
        endpoint.id,
        { endpoint, health, admin, removing: false, stateSince: now },
        now,
        reason,
      )
    }
    return this.#viewOf(endpoint.id)
  }

  /** Removes a member at once (its open connections are the data path's to finish). */
  remove(id: string, now: number, reason = 'member removed'): boolean {
    const old = this.#entries.get(id)
    if (old === undefined) return false
    this.#entries.delete(id)
    this.#changed()
    this.#emit({ id, from: this.#stateOf(old), to: 'absent', reason, at: now })
    this.#count(id, undefined, true, now)
    return true
  }

  /** Sets the operator's admin state (enable clears a pending removal). */
  setAdmin(id: string, admin: AdminState, now: number, reason: string): AdminResult {
    const e = this.#entries.get(id)
    if (e === undefined) return { ok: false, error: 'not-found' }
    this.#set(
      id,
      { ...e, admin, removing: admin === 'enabled' ? false : e.removing },
      now,
      reason,
    )
    return { ok: true, view: this.#viewOf(id) }
  }

  /** DELETE semantics: drain now, and mark for removal once the data path reports it idle. */
  requestRemoval(id: string, now: number): AdminResult {
    const e = this.#entries.get(id)
    if (e === undefined) return { ok: false, error: 'not-found' }
    this.#set(
      id,
      { ...e, admin: 'draining', removing: true },
      now,
      'removal requested: draining',
    )
    return { ok: true, view: this.#viewOf(id) }
  }

  /** Feeds one check result (active probe or passive failure). Unknown ids are ignored. */
  observe(id: string, result: CheckResult, now: number): Step | undefined {
    const e = this.#entries.get(id)
    if (e === undefined) return undefined
    const step = observe(e.health, result, now, this.#options.thresholds)
    this.#set(id, { ...e, health: step.health }, now, step.reason)
    return step
  }

  /**
   * Sets what the shared store says about a member (undefined: nothing, e.g. the store is
   * unreachable, and the own verdict stands alone). Unknown ids are ignored.
   */
  setSharedFacts(id: string, facts: SharedFacts | undefined, now: number): void {
    const e = this.#entries.get(id)
    if (e === undefined || sameFacts(e.facts, facts)) return
    const next: Entry =
      facts === undefined
        ? {
            endpoint: e.endpoint,
            health: e.health,
            admin: e.admin,
            removing: e.removing,
            stateSince: e.stateSince,
          }
        : { ...e, facts }
    this.#set(id, next, now, verdictOf(next, this.#policy).reason)
  }

  /** Whether the member's health is mid-transition (probe it at the fast interval). */
  isPending(id: string): boolean {
    const e = this.#entries.get(id)
    return e !== undefined && isPending(e.health, this.#options.thresholds)
  }

  /** Every member, sorted by id; the same array until something changes. */
  views(): readonly MemberView[] {
    this.#views ??= [...this.#entries.keys()].sort().map(id => this.#viewOf(id))
    return this.#views
  }

  /** One member's view, or undefined. */
  get(id: string): MemberView | undefined {
    return this.#entries.has(id) ? this.#viewOf(id) : undefined
  }

  #viewOf(id: string): MemberView {
    const e = this.#entries.get(id)
    if (e === undefined) throw new Error(`pool: no member ${id}`)
    const h = e.health
    const verdict = verdictOf(e, this.#policy)
    return {
      ...e.endpoint,
      state: visibleState(verdict.health, e.admin),
      health: verdict.health,
      ...(e.facts !== undefined ? { ownHealth: h.health } : {}),
      admin: e.admin,
      stateSince: e.stateSince,
      ...(h.upSince !== undefined ? { upSince: h.upSince } : {}),
      reason:
        e.admin === 'enabled'
          ? verdict.reason
          : `${e.admin} by operator; health ${verdict.health}: ${verdict.reason}`,
      recent: h.recent,
      removing: e.removing,
    }
  }

  #set(id: string, next: Entry, now: number, reason: string): void {
    const old = this.#entries.get(id)
    const from: MemberState | 'absent' = old === undefined ? 'absent' : this.#stateOf(old)
    const health = verdictOf(next, this.#policy).health
    const to = visibleState(health, next.admin)
    const entry = from === to ? next : { ...next, stateSince: now }
    this.#entries.set(id, entry)
    this.#views = undefined
    // Only what routing reads bumps the version: a probe that changes nothing but the
    // recent-results list must not make the data path rebuild its picker.
    const routingChanged =
      old === undefined ||
      from !== to ||
      old.endpoint !== next.endpoint ||
      old.health.upSince !== next.health.upSince
    if (routingChanged) this.#version++
    if (from !== to) this.#emit({ id, from, to, reason, at: now })
    this.#count(
      id,
      { live: health === 'up', routable: isRoutable(to) },
      old === undefined,
      now,
    )
  }

  /** Moves the counts by what member `id` now adds (undefined: removed); tells listeners. */
  #count(id: string, next: Counted | undefined, sized: boolean, now: number): void {
    if (!this.#counts.set(id, next) && !sized) return
    const counts = this.counts()
    for (const listener of this.#countsListeners) listener(counts, now)
  }

  get #policy(): VerdictPolicy {
    return this.#options.policy ?? 'local'
  }

  #stateOf(e: Entry): MemberState {
    return visibleState(verdictOf(e, this.#policy).health, e.admin)
  }

  #changed(): void {
    this.#views = undefined
    this.#version++
  }

  #emit(change: MemberChange): void {
    for (const listener of this.#listeners) listener(change)
  }
}
