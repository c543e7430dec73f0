// PURE. Turns a shared snapshot into what this instance feeds its pool: per member, the
// other live instances' verdicts and the member's authorities (its sidecar, and its
// assigned /health prober), plus which probe this instance runs for it.
import type { ProbeKind } from '../health/checker.js'
import type { Health } from '../pool/types.js'
import type { Authority, SharedFacts } from '../pool/verdict.js'
import { ownerOf } from './rendezvous.js'
import type { SharedSnapshot } from './store.js'

/** What facts() decided for one member. */
export interface MemberFacts {
  readonly facts: SharedFacts
  /** Which probe this instance runs: "tcp" only while the owner publishes /health verdicts. */
  readonly probe: ProbeKind
  /** The live instance assigned to run its /health probe. */
  readonly owner: string
}

/**
 * Facts for each of `members`, seen from instance `self`. `probes: "all"` makes every
 * instance run its own /health probe (no prober authority). An owner that has not yet
 * published an http verdict for a member is not trusted with it: this instance probes it
 * fully too until it has.
 */
export function factsFor(
  snapshot: Pick<SharedSnapshot, 'instances' | 'observations' | 'sidecars'>,
  self: string,
  members: readonly string[],
  probes: 'shared' | 'all',
): Map<string, MemberFacts> {
  const live = new Set(snapshot.instances.keys())
  live.add(self)
  const liveIds = [...live].sort()
  const out = new Map<string, MemberFacts>()
  for (const member of members) {
    const peers: Health[] = []
    for (const id of liveIds) {
      if (id === self) continue
      const obs = snapshot.observations.get(id)?.get(member)
      if (obs !== undefined) peers.push(obs.health)
    }
    const authorities: Authority[] = []
    const sidecar = snapshot.sidecars.get(member)
    if (sidecar !== undefined) {
      authorities.push({
        kind: 'sidecar',
        source: sidecar.id,
        health: sidecar.health,
        reason: sidecar.reason,
      })
    }
    const owner = ownerOf(member, liveIds) ?? self
    let probe: ProbeKind = 'http'
    if (probes === 'shared' && owner !== self) {
      const obs = snapshot.observations.get(owner)?.get(member)
      if (obs?.probe === 'http') {
        probe = 'tcp'
        authorities.push({
          kind: 'prober',
          source: owner,
          health: obs.health,
          reason: obs.reason,
        })
      }
    }
    out.set(member, { facts: { peers, authorities }, probe, owner })
  }
  return out
}
