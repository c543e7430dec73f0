// Pool-wide failure margin, as exported by corral_pool_failures_tolerated and
// corral_pool_quorum. PURE: plain arithmetic over counts; the shell feeds it the
// pool's member counts at scrape time.
//
// A pool of N members needs a strict majority (floor(N/2) + 1) up, so a full pool
// tolerates floor((N-1)/2) failures. That is why an even pool buys nothing over the
// odd pool one smaller: 3 and 4 members both tolerate one failure (etcd FAQ, "Why an
// odd number of cluster members?").

/** Throws a RangeError unless 0 <= upCount <= poolSize, both integers: a caller bug. */
function assertCounts(poolSize: number, upCount: number): void {
  if (!Number.isInteger(poolSize) || poolSize < 0) {
    throw new RangeError(`poolSize: expected an integer >= 0, got ${poolSize}`)
  }
  if (!Number.isInteger(upCount) || upCount < 0 || upCount > poolSize) {
    throw new RangeError(`upCount: expected an integer 0-${poolSize}, got ${upCount}`)
  }
}

/**
 * How many more members may leave `up` before the pool loses its majority:
 * floor((N-1)/2) - (N - up), never below -1 (-1 means quorum is already lost;
 * an empty pool has no quorum, so N=0 gives -1).
 */
export function failuresTolerated(poolSize: number, upCount: number): number {
  assertCounts(poolSize, upCount)
  if (poolSize === 0) return -1
  const margin = Math.floor((poolSize - 1) / 2) - (poolSize - upCount)
  return Math.max(-1, margin)
}

/** True while a strict majority of the pool is up (up > N/2); an empty pool has none. */
export function hasQuorum(poolSize: number, upCount: number): boolean {
  assertCounts(poolSize, upCount)
  return upCount * 2 > poolSize
}
