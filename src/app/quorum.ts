// Logs the pool's quorum (live members) and routing capacity (routable members) when
// either crosses its line (issue #24). The thresholds are the ones
// the shipped alerts use (grafana/alerts/corral.rules.yml): QuorumLost when live members
// are not a majority, RoutableCapacityLow when routable members are not a majority.
import type { Logger } from 'pino'
import { quorumStatus, type QuorumStatus } from '../pool/quorum.js'
import type { PoolCounts } from '../pool/types.js'

interface Verdict {
  readonly quorum: boolean
  readonly capacityLow: boolean
}

function fields(q: QuorumStatus): Record<string, number> {
  return {
    size: q.size,
    live: q.live,
    routable: q.routable,
    quorumSize: q.quorumSize,
    failuresTolerated: q.failuresTolerated,
    quorumShortfall: q.quorumShortfall,
  }
}

/**
 * Logs one line per crossing: "pool quorum lost" (error) and "pool quorum held" (info)
 * on live members; "pool routing capacity low" (warn) and "pool routing capacity
 * restored" (info) on routable ones. The first update records the starting point
 * silently: members start unchecked, so a startup is not a loss.
 */
export class QuorumLog {
  readonly #log: Logger
  #last: Verdict | undefined

  constructor(log: Logger) {
    this.#log = log
  }

  /** Takes the pool's current counts; logs what crossed since the last call. */
  update(counts: PoolCounts): void {
    const q = quorumStatus(counts)
    const now: Verdict = {
      quorum: q.quorum,
      capacityLow: q.size > 0 && q.routable < q.quorumSize,
    }
    const last = this.#last
    this.#last = now
    if (last === undefined) return
    if (last.quorum && !now.quorum) {
      // warn, not error: a pool condition the QuorumLost alert pages on, not a corral fault.
      this.#log.warn(fields(q), 'pool quorum lost')
    } else if (!last.quorum && now.quorum) {
      this.#log.info(fields(q), 'pool quorum held')
    }
    if (!last.capacityLow && now.capacityLow) {
      this.#log.warn(fields(q), 'pool routing capacity low')
    } else if (last.capacityLow && !now.capacityLow) {
      this.#log.info(fields(q), 'pool routing capacity restored')
    }
  }
}
