// PURE. Smooth weighted round-robin (nginx's ngx_http_upstream_get_peer): each pick adds
// every eligible member's weight to its running score, takes the highest and subtracts
// the total, so weights 5:1:1 interleave as a a b a c a a rather than a a a a a b c.
import type { Balancer, BalanceRequest } from './balancer.js'

/** Weighted round-robin over a fixed candidate list; keeps its rotation between picks. */
export class RoundRobinBalancer implements Balancer {
  readonly #current: Float64Array

  constructor(size: number) {
    this.#current = new Float64Array(size)
  }

  pick(req: BalanceRequest, weights: readonly number[]): number {
    let best = -1
    let total = 0
    const current = this.#current
    for (let i = 0; i < current.length; i++) {
      if (!req.eligible(i)) continue
      const w = weights[i] ?? 1
      total += w
      current[i] = (current[i] ?? 0) + w
      if (best < 0 || (current[i] ?? 0) > (current[best] ?? 0)) best = i
    }
    if (best >= 0) current[best] = (current[best] ?? 0) - total
    return best
  }
}
