// PURE. A seeded pseudo-random generator for the fleet simulation: the same seed draws the
// same steps on every machine, so a failing run replays with `--seed S --steps K`.

/** Draws from one seed; every method advances the same stream. */
export interface Rng {
  /** A float in [0, 1). */
  next(): number
  /** An integer in [0, n). */
  int(n: number): number
  /** One element of a non-empty list (throws on an empty one: a generator bug). */
  pick<T>(items: readonly T[]): T
  /** True with probability p. */
  chance(p: number): boolean
}

/**
 * mulberry32 (Tommy Ettinger's 32-bit generator, public domain): small, fast and well
 * distributed enough to choose operations; not for cryptography.
 */
export function seededRng(seed: number): Rng {
  let state = seed >>> 0
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number): number => Math.floor(next() * n)
  return {
    next,
    int,
    pick: <T>(items: readonly T[]): T => {
      const item = items[int(items.length)]
      if (item === undefined) throw new Error('rng.pick: empty list')
      return item
    },
    chance: p => next() < p,
  }
}
