// PURE. Self-fencing: a load balancer that alone sees every member down while its live
// peers see them up is cut off from the members (its own network, not theirs), so it
// marks itself unready and the VIP or DNS in front drains it instead of it black-holing
// clients (issue #11). Keepalived's `track_script` and Kubernetes readiness do the same
// from outside; here the peers' published observations are the outside view.
import type { Health } from '../pool/types.js'
import type { Observation } from './codec.js'

/** One member as this instance's own checks see it. */
export interface OwnView {
  readonly id: string
  /** Own checks only (not combined with shared facts). */
  readonly health: Health
}

/** Whether to fence, and why (named in /readyz, logs and the pool API). */
export interface FenceDecision {
  readonly fenced: boolean
  readonly reason: string
}

/**
 * Fenced if and only if:
 * 1. the pool has members and this instance's own checks see every one down;
 * 2. at least one other live instance published observations of them; and
 * 3. every such peer sees at least one member up (no peer agrees "all down": then the
 *    members really are down and fencing every load balancer would help nobody).
 * `peers` holds the other live instances' observations (self excluded by the caller or here).
 */
export function fenceDecision(
  own: readonly OwnView[],
  peers: ReadonlyMap<string, ReadonlyMap<string, Observation>>,
  self: string,
): FenceDecision {
  if (own.length === 0) return { fenced: false, reason: 'no members' }
  if (own.some(m => m.health === 'up')) return { fenced: false, reason: 'a member is up' }
  const ids = new Set(own.map(m => m.id))
  const seeing: string[] = []
  for (const [peer, obs] of peers) {
    if (peer === self) continue
    let known = 0
    let up = 0
    for (const [member, o] of obs) {
      if (!ids.has(member)) continue
      known++
      if (o.health === 'up') up++
    }
    if (known === 0) continue
    if (up === 0) {
      return { fenced: false, reason: `peer ${peer} also sees every member down` }
    }
    seeing.push(peer)
  }
  if (seeing.length === 0) {
    return {
      fenced: false,
      reason: 'every member is down and no live peer sees otherwise',
    }
  }
  return {
    fenced: true,
    reason: `fenced: this instance sees all ${own.length} member(s) down while live peer(s) ${seeing.sort().join(', ')} see members up (its route to the members is likely cut)`,
  }
}
