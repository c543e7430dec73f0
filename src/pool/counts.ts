// PURE. Live and routable member counts (issue #24), kept as deltas so that reading them
// is O(1) whatever the pool size: the pool moves them on every verdict or state change.
import type { PoolCounts } from './types.js'

/** What one member adds to the counts: live (verdict up) and routable (state up). */
export interface Counted {
  readonly live: boolean
  readonly routable: boolean
}

/** Per-member contributions and their running totals. */
export class MemberCounts {
  readonly #members = new Map<string, Counted>()
  #live = 0
  #routable = 0

  /** Records what member `id` now adds (undefined: gone); true if a total moved. */
  set(id: string, next: Counted | undefined): boolean {
    const old = this.#members.get(id)
    if (next === undefined) this.#members.delete(id)
    else this.#members.set(id, next)
    const live = Number(next?.live ?? false) - Number(old?.live ?? false)
    const routable = Number(next?.routable ?? false) - Number(old?.routable ?? false)
    this.#live += live
    this.#routable += routable
    return live !== 0 || routable !== 0
  }

  /** The totals, with the pool's size. */
  counts(size: number): PoolCounts {
    return { size, live: this.#live, routable: this.#routable }
  }
}
