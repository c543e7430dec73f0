// Moves the data path's plain-number counters into prom-client at scrape time. The hot
// path only bumps numbers; label hashing happens here, once per scrape.
import { CONNECTION_OUTCOMES, type RelayStats } from '../proxy/stats.js'
import type { DataPathMetrics } from './data-path-families.js'

/** Exports RelayStats into corral_connections_*, corral_bytes_total by deltas. */
export class RelayStatsExporter {
  readonly #metrics: DataPathMetrics
  /** Counter totals already exported, by "listener|member|what". */
  readonly #exported = new Map<string, number>()

  constructor(metrics: DataPathMetrics) {
    this.#metrics = metrics
  }

  /** Sets the active gauges and adds what each counter moved since the last call. */
  export(stats: readonly RelayStats[]): void {
    const m = this.#metrics
    for (const s of stats) {
      const labels = { listener: s.listener, member: s.member }
      if (s.member !== '') m.connectionsActive.set(labels, s.active)
      for (const outcome of CONNECTION_OUTCOMES) {
        const delta = this.#delta(
          `${s.listener}|${s.member}|${outcome}`,
          s.outcomes[outcome],
        )
        if (delta > 0) m.connections.inc({ ...labels, outcome }, delta)
      }
      const toMember = this.#delta(`${s.listener}|${s.member}|to_member`, s.bytesToMember)
      if (toMember > 0) m.bytes.inc({ ...labels, direction: 'to_member' }, toMember)
      const toClient = this.#delta(`${s.listener}|${s.member}|to_client`, s.bytesToClient)
      if (toClient > 0) m.bytes.inc({ ...labels, direction: 'to_client' }, toClient)
    }
  }

  #delta(key: string, total: number): number {
    const delta = total - (this.#exported.get(key) ?? 0)
    if (delta > 0) this.#exported.set(key, total)
    return delta
  }
}
