// PURE. The effective verdict of a member when several instances (and maybe a sidecar)
// share a pool: this instance's own checks combined with facts read from the shared store.
// The pool calls this; Redis only carries the facts (docs/coordination.md, policy table).
import type { Health } from './types.js'

/** How shared observations count: "local" (own checks only) or "quorum". */
export type VerdictPolicy = 'local' | 'quorum'

/** An authoritative /health verdict from elsewhere: the member's sidecar or its assigned prober. */
export interface Authority {
  readonly kind: 'sidecar' | 'prober'
  /** Who: the sidecar's or the prober instance's id, named in reasons. */
  readonly source: string
  readonly health: Health
  readonly reason: string
}

/** What the other live instances and the member's authorities say (own verdict excluded). */
export interface SharedFacts {
  /** One verdict per other live instance. */
  readonly peers: readonly Health[]
  readonly authorities: readonly Authority[]
}

/** The verdict this instance acts on, and why. */
export interface EffectiveHealth {
  readonly health: Health
  readonly reason: string
}

/**
 * Combines this instance's verdict with shared facts:
 * 1. Own checks say down: down. An instance never sends traffic to a member it cannot
 *    reach itself, whatever the others see.
 * 2. An authority (the member's sidecar, or under `quorum` the instance assigned to probe
 *    its /health) says down: down. The sidecar's word counts under both policies: it is
 *    the replica itself saying it is failing.
 * 3. `quorum`: a strict majority of the live instances (this one included) see it down:
 *    down everywhere, even where it still answers.
 * 4. Otherwise up. Without facts (no shared store, or the store is unreachable) the own
 *    verdict stands alone: fail-static.
 */
export function effectiveHealth(
  own: EffectiveHealth,
  facts: SharedFacts | undefined,
  policy: VerdictPolicy,
): EffectiveHealth {
  if (own.health === 'down' || facts === undefined) return own
  for (const a of facts.authorities) {
    if (a.health === 'down' && (policy === 'quorum' || a.kind === 'sidecar')) {
      return {
        health: 'down',
        reason: `${a.kind} ${a.source} reports it down: ${a.reason}`,
      }
    }
  }
  if (policy === 'quorum') {
    const total = facts.peers.length + 1
    const down = facts.peers.filter(h => h === 'down').length
    if (down * 2 > total) {
      return {
        health: 'down',
        reason: `${down} of ${total} live instances see it down (quorum)`,
      }
    }
  }
  return own
}
