// Pool-wide quorum arithmetic, as exported by corral_pool_quorum,
// corral_pool_failures_tolerated and corral_pool_quorum_shortfall and shown by the pool
// API. PURE: plain arithmetic over counts; the shell feeds it the pool's counts.
//
// Two notions of "how many members are there" (issue #24):
// - live: members passing their health checks (the effective verdict, shared facts
//   included), whatever their admin state. A drained or disabled replica that still
//   answers /health is alive: the replicated cluster behind corral still counts it
//   towards its own majority. Quorum is judged on live members only.
// - routable: members taking new connections (state up). That is corral's capacity, not
//   the cluster's health; an operator's drain lowers it and must not page as quorum lost.
//
// A pool of N members needs a strict majority (floor(N/2) + 1) live, so a full pool
// tolerates floor((N-1)/2) failures. That is why an even pool buys nothing over the
// odd pool one smaller: 3 and 4 members both tolerate one failure (etcd FAQ, "Why an
// odd number of cluster members?").
import type { PoolCounts } from './types.js'

/** Throws a RangeError unless 0 <= liveCount <= poolSize, both integers: a caller bug. */
function assertCounts(poolSize: number, liveCount: number): void {
  if (!Number.isInteger(poolSize) || poolSize < 0) {
    throw new RangeError(`poolSize: expected an integer >= 0, got ${poolSize}`)
  }
  if (!Number.isInteger(liveCount) || liveCount < 0 || liveCount > poolSize) {
    throw new RangeError(`liveCount: expected an integer 0-${poolSize}, got ${liveCount}`)
  }
}

/** Live members a pool of `poolSize` needs for quorum: floor(N/2) + 1 (1 for an empty pool). */
export function quorumSize(poolSize: number): number {
  assertCounts(poolSize, 0)
  return Math.floor(poolSize / 2) + 1
}

/** True while a strict majority of the pool is live (live > N/2); an empty pool has none. */
export function hasQuorum(poolSize: number, liveCount: number): boolean {
  assertCounts(poolSize, liveCount)
  return liveCount >= quorumSize(poolSize)
}

/**
 * How many more live members may fail before the pool loses its majority:
 * live - quorumSize, never below 0. 0 means either "the next failure loses quorum" or
 * "quorum is already lost"; quorumShortfall tells them apart.
 */
export function failuresTolerated(poolSize: number, liveCount: number): number {
  assertCounts(poolSize, liveCount)
  return Math.max(0, liveCount - quorumSize(poolSize))
}

/** How many live members the pool lacks for quorum: quorumSize - live, 0 while it holds. */
export function quorumShortfall(poolSize: number, liveCount: number): number {
  assertCounts(poolSize, liveCount)
  return Math.max(0, quorumSize(poolSize) - liveCount)
}

/** The quorum verdict over a pool's counts, as the pool API, metrics and logs show it. */
export interface QuorumStatus extends PoolCounts {
  /** Live members quorum needs: floor(size/2) + 1. */
  readonly quorumSize: number
  readonly quorum: boolean
  readonly failuresTolerated: number
  readonly quorumShortfall: number
}

/** Judges `counts`; throws a RangeError if live or routable exceed the size. */
export function quorumStatus(counts: PoolCounts): QuorumStatus {
  assertCounts(counts.size, counts.routable)
  return {
    ...counts,
    quorumSize: quorumSize(counts.size),
    quorum: hasQuorum(counts.size, counts.live),
    failuresTolerated: failuresTolerated(counts.size, counts.live),
    quorumShortfall: quorumShortfall(counts.size, counts.live),
  }
}
