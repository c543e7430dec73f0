// Wires the `discovery:` sources (src/discovery/) into the app: their metrics, their
// member writes (the admin API's operations, so a shared pool carries them like any
// other write), and their part of the pool API.
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import type { Clock } from '../clock.js'
import type { Config } from '../config/types.js'
import { DiscoverySource, type MemberWrites } from '../discovery/source.js'
import {
  createDiscoveryMetrics,
  initDiscoverySeries,
  type DiscoveryMetrics,
} from '../metrics/discovery.js'
import type { MemberSource, MemberView } from '../pool/types.js'

/** What the discovery sources need from the app. */
export interface DiscoveryWiring {
  readonly register: Registry
  readonly log: Logger
  readonly clock: Clock
  readonly wallNow: () => number
  readonly views: () => readonly MemberView[]
  readonly sourceOf: (view: MemberView) => MemberSource
  readonly writes: MemberWrites
}

/** Every discovery source of one app, with their metrics. */
export class Discovery {
  readonly #sources: readonly DiscoverySource[]
  readonly #metrics: DiscoveryMetrics
  readonly #w: DiscoveryWiring

  constructor(config: Config, wiring: DiscoveryWiring) {
    this.#w = wiring
    this.#metrics = createDiscoveryMetrics(wiring.register)
    const listeners = config.listeners.map(l => l.name)
    this.#sources = config.discovery.map(d => {
      initDiscoverySeries(this.#metrics, d.name)
      return new DiscoverySource(d, {
        log: wiring.log.child({ component: 'discovery' }),
        clock: wiring.clock,
        wallNow: wiring.wallNow,
        metrics: this.#metrics,
        views: wiring.views,
        sourceOf: wiring.sourceOf,
        writes: wiring.writes,
        listeners,
      })
    })
  }

  /** Starts polling (after the shared pool is joined, so its members are known). */
  start(): void {
    for (const s of this.#sources) s.start()
  }

  /** Stops polling; the members stay. */
  async close(): Promise<void> {
    await Promise.all(this.#sources.map(s => s.close()))
  }

  /** Scrape time: members per source. */
  collect(): void {
    const counts = new Map<string, number>([
      ['config', 0],
      ['api', 0],
      ['sidecar', 0],
      ...this.#sources.map(s => [`dns:${s.status().name}`, 0] as const),
    ])
    for (const v of this.#w.views()) {
      const source = this.#w.sourceOf(v)
      counts.set(source, (counts.get(source) ?? 0) + 1)
    }
    this.#metrics.bySource.reset()
    for (const [source, n] of counts) this.#metrics.bySource.set({ source }, n)
  }

  /** The pool API's `discovery` list. */
  document(): Record<string, unknown>[] {
    return this.#sources.map(s => {
      const st = s.status()
      return {
        name: st.name,
        source: `dns:${st.name}`,
        dns: st.dns,
        record: st.record,
        lastResult: st.lastResult ?? null,
        lastDetail: st.lastDetail,
        lastSuccess:
          st.lastSuccessAt === undefined
            ? null
            : new Date(st.lastSuccessAt).toISOString(),
        failStatic: st.failStatic,
        held: st.held,
        waiting: st.waiting,
        conflicts: st.conflicts,
      }
    })
  }
}
