// PURE. Weighted least-connections: the eligible member with the fewest active
// connections per unit of weight, (load + 1) / weight as HAProxy's leastconn and Envoy's
// least_request do; ties rotate so equal members share new connections evenly.
import type { Balancer, BalanceRequest } from './balancer.js'

/** Least-connections over a fixed candidate list; rotates among ties. */
export class LeastConnectionsBalancer implements Balancer {
  readonly #size: number
  #offset = 0

  constructor(size: number) {
    this.#size = size
  }

  pick(req: BalanceRequest, weights: readonly number[]): number {
    const n = this.#size
    if (n === 0) return -1
    const start = this.#offset
    let best = -1
    let bestScore = Infinity
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n
      if (!req.eligible(i)) continue
      const score = (req.load(i) + 1) / (weights[i] ?? 1)
      if (score < bestScore) {
        best = i
        bestScore = score
      }
    }
    // Resume the scan just after the chosen member, not after `start`: advancing `start`
    // by one would favour the tie that follows a busier or full member (loads 0, 5, 0
    // picked a, c, c, a, c, c), while resuming after the winner alternates a, c, a, c.
    if (best >= 0) this.#offset = (best + 1) % n
    return best
  }
}
