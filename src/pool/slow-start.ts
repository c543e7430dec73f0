// PURE. HAProxy `slowstart`: a readmitted member's weight ramps linearly from a small
// share to its full weight over `slowStartMs`, so a cold replica is not flooded at once.

/** The smallest share of its weight a member in slow start gets (never 0: it must warm up). */
export const SLOW_START_MIN_FACTOR = 0.05

/** Effective weight at `now` for a member up since `upSince` (undefined: full weight). */
export function slowStartWeight(
  weight: number,
  upSince: number | undefined,
  now: number,
  slowStartMs: number,
): number {
  if (slowStartMs <= 0 || upSince === undefined) return weight
  const elapsed = now - upSince
  if (elapsed >= slowStartMs) return weight
  return weight * Math.max(SLOW_START_MIN_FACTOR, elapsed / slowStartMs)
}
