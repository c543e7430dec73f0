// The shell around fencing.ts: evaluates the decision on demand (heartbeat, /readyz,
// metrics scrape) over the pool's own views and the peers' observations, and reports
// each change once (one log line, the corral_fenced gauge).
import type { Logger } from 'pino'
import type { Gauge } from 'prom-client'
import type { MemberView } from '../pool/types.js'
import type { Coordinator } from './coordinator.js'
import { fenceDecision, type FenceDecision } from './fencing.js'

/** What the monitor reads and reports to. */
export interface FencingDeps {
  views(): readonly MemberView[]
  readonly coordinator: Pick<Coordinator, 'observations' | 'instanceId' | 'connected'>
  readonly log: Logger
  /** corral_fenced. */
  readonly gauge: Gauge
}

/** See the file comment. */
export class FencingMonitor {
  readonly #d: FencingDeps
  #last: FenceDecision = { fenced: false, reason: 'not evaluated yet' }

  constructor(deps: FencingDeps) {
    this.#d = deps
    deps.gauge.set(0)
  }

  /** The decision now (peers' views as of the last resync); logs and sets the gauge on change. */
  check(): FenceDecision {
    const { coordinator: c } = this.#d
    // Without the store there is no outside view: never fence on stale peers' word.
    const decision = c.connected
      ? fenceDecision(
          this.#d.views().map(v => ({ id: v.id, health: v.ownHealth ?? v.health })),
          c.observations(),
          c.instanceId,
        )
      : { fenced: false, reason: 'shared pool store unreachable' }
    if (decision.fenced !== this.#last.fenced) {
      this.#d.gauge.set(decision.fenced ? 1 : 0)
      if (decision.fenced)
        this.#d.log.error(
          { reason: decision.reason },
          'self-fenced: /readyz now reports unready',
        )
      else
        this.#d.log.info(
          { reason: decision.reason },
          'unfenced: /readyz follows the pool again',
        )
    }
    this.#last = decision
    return decision
  }

  /** The last decision, without re-evaluating. */
  get last(): FenceDecision {
    return this.#last
  }
}
