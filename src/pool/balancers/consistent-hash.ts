// PURE. Consistent hashing on the client address with a ketama-style ring: each member
// owns VNODES_PER_WEIGHT × weight points; a key goes to the first point clockwise from its
// hash. Removing a member reassigns exactly the keys that landed on its points, so only
// that member's clients move (Maglev, Envoy's default, may move a few others too).
// Retries and full members walk on clockwise, which keeps the fallback stable as well.
import type { Balancer, BalanceRequest } from './balancer.js'
import { hash32 } from './hash.js'

/** Ring points per unit of weight; 160 is ketama's figure (≈ ±10% spread at 3-7 members). */
export const VNODES_PER_WEIGHT = 160

/** A hash ring built once over a fixed candidate list (ids and weights at build time). */
export class ConsistentHashBalancer implements Balancer {
  readonly #points: Uint32Array
  readonly #owners: Uint16Array

  constructor(ids: readonly string[], weights: readonly number[]) {
    const entries: [number, number][] = []
    ids.forEach((id, index) => {
      const vnodes = VNODES_PER_WEIGHT * Math.max(1, Math.round(weights[index] ?? 1))
      for (let v = 0; v < vnodes; v++) entries.push([hash32(`${id}#${v}`), index])
    })
    // Ties (hash collisions) are broken by id order so every instance builds the same ring.
    entries.sort(
      (a, b) => a[0] - b[0] || (ids[a[1]] ?? '').localeCompare(ids[b[1]] ?? ''),
    )
    this.#points = Uint32Array.from(entries, e => e[0])
    this.#owners = Uint16Array.from(entries, e => e[1])
  }

  pick(req: BalanceRequest): number {
    const points = this.#points
    const n = points.length
    if (n === 0) return -1
    const h = hash32(req.key)
    // First point ≥ h (binary search), wrapping to 0.
    let lo = 0
    let hi = n
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((points[mid] ?? 0) < h) lo = mid + 1
      else hi = mid
    }
    const tried = new Set<number>()
    for (let k = 0; k < n; k++) {
      const owner = this.#owners[(lo + k) % n] ?? -1
      if (tried.has(owner)) continue
      if (req.eligible(owner)) return owner
      tried.add(owner)
    }
    return -1
  }
}
