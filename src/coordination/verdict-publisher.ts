// Publishes this instance's own verdicts (observations) to the shared store: changes within
// PUBLISH_BATCH_MS go out together (one script, one notice: a restart with 1,000 members
// must not send 1,000 notices to every peer), a reconnect republishes everything, and a
// stored copy that no longer matches what was published (damaged, deleted, expired) is
// republished: damage is repaired, never acted on.
import type { Logger } from 'pino'
import type { ProbeKind } from '../health/checker.js'
import type { Health } from '../pool/types.js'
import { RECORD_VERSION, type Observation } from './codec.js'
import type { PoolStore } from './store.js'

/** Own verdict changes within this window are published together. */
export const PUBLISH_BATCH_MS = 20

interface Published {
  readonly health: Health
  readonly probe: ProbeKind
  readonly reason: string
}

/** Construction parameters and dependencies. */
export interface VerdictPublisherOptions {
  readonly instanceId: string
  /** Lifetime of the published observations, ms (coordination.ttl). */
  readonly ttlMs: number
  readonly store: PoolStore
  readonly log: Logger
  /** Wall clock ms (observation timestamps). */
  readonly wallNow: () => number
}

/** See the file comment. */
export class VerdictPublisher {
  readonly #o: VerdictPublisherOptions
  /** What this instance last published per member. */
  readonly #published = new Map<string, Published>()
  readonly #dirty = new Set<string>()
  #timer: NodeJS.Timeout | undefined
  #closed = false

  constructor(options: VerdictPublisherOptions) {
    this.#o = options
  }

  /** The last published verdict for a member, if any. */
  last(member: string): Published | undefined {
    return this.#published.get(member)
  }

  /** Records a verdict; publishes it (batched) unless it is what was published already. */
  observe(member: string, health: Health, reason: string, probe: ProbeKind): void {
    const last = this.#published.get(member)
    if (last?.health === health && last.probe === probe) return
    this.#published.set(member, { health, probe, reason })
    this.#dirty.add(member)
    this.#schedule()
  }

  /** Republishes every verdict now (after a reconnect: a full republish). */
  republishAll(): void {
    for (const member of this.#published.keys()) this.#dirty.add(member)
    void this.flush()
  }

  /**
   * Compares the store's copy of this instance's observations with what was published;
   * republishes the members that differ. Returns how many did.
   */
  checkStored(stored: ReadonlyMap<string, Observation> | undefined): number {
    if (stored === undefined || this.#closed) return 0
    let stale = 0
    for (const [member, p] of this.#published) {
      const o = stored.get(member)
      if (o?.health !== p.health || o.probe !== p.probe) {
        this.#dirty.add(member)
        stale++
      }
    }
    if (stale > 0) this.#schedule()
    return stale
  }

  /** Publishes what is pending now; a failure waits for the reconnect's full republish. */
  async flush(): Promise<void> {
    const { store, instanceId, ttlMs, log } = this.#o
    if (!store.connected || this.#closed) return
    const at = Math.round(this.#o.wallNow())
    const entries: { member: string; observation: Observation }[] = []
    for (const member of this.#dirty) {
      const p = this.#published.get(member)
      if (p === undefined) continue
      entries.push({
        member,
        observation: {
          v: RECORD_VERSION,
          health: p.health,
          probe: p.probe,
          reason: p.reason.slice(0, 500),
          at,
        },
      })
    }
    this.#dirty.clear()
    try {
      await store.putObservations(instanceId, entries, ttlMs)
    } catch (err) {
      // The reconnect republishes every verdict; nothing is lost.
      log.debug({ err }, 'could not publish observations')
    }
  }

  /** Stops publishing (idempotent). */
  close(): void {
    this.#closed = true
    clearTimeout(this.#timer)
  }

  #schedule(): void {
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined
      void this.flush()
    }, PUBLISH_BATCH_MS)
  }
}
