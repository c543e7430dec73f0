// PURE. The contract every balancing algorithm implements.

/** A member a balancer may choose, with its effective weight (> 0) right now. */
export interface Weighted {
  readonly id: string
  readonly weight: number
}

/** Per-pick inputs: the hash key (client address), and which candidates are eligible. */
export interface BalanceRequest {
  readonly key: string
  /** Whether candidate i may take this connection (not excluded by a retry, not full). */
  readonly eligible: (index: number) => boolean
  /** Active connections of candidate i (least-connections reads this). */
  readonly load: (index: number) => number
}

/** Picks an index into the candidate list it was built over, or -1 when none is eligible. */
export interface Balancer {
  pick(req: BalanceRequest, weights: readonly number[]): number
}
