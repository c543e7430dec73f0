// PURE. The simulation's operations and the seeded generator that draws them. The steps
// depend on the seed alone (never on how earlier steps turned out), so `--seed S --steps K`
// replays exactly the same sequence and a shorter prefix is a prefix of a longer run.
import type { AdminVerb } from './model.js'
import { seededRng, type Rng } from './rng.js'

/** What a seed sets up before the first step. */
export interface Universe {
  readonly lbs: readonly string[]
  /** Every replica (r1…rN, N 5-7); a member is named after its replica. */
  readonly replicas: readonly string[]
  /** Replicas with a `corral sidecar` at the start (the last two). */
  readonly sidecarReplicas: readonly string[]
  /** The other replicas listed in the LBs' config file at the start (all but one). */
  readonly fileMembers: readonly string[]
}

/** One admin API call on one instance. */
export interface AdminCall {
  readonly verb: AdminVerb
  readonly member: string
  readonly lb: string
  /** `?force=true` (drain only). */
  readonly force: boolean
}

/** Ways the simulation damages the store (docs/coordination.md, "Garbage under the prefix"). */
export type DamageKind =
  | 'member-garbage'
  | 'members-wrong-type'
  | 'members-deleted'
  | 'lease-garbage'
  | 'drains-deleted'
  | 'instance-garbage'
  | 'observation-garbage'
  | 'sidecar-garbage'
  | 'channel-garbage'

/** One step of a run. */
export type Op =
  | {
      readonly kind: 'admin'
      readonly calls: readonly AdminCall[]
      /**
       * One after the other without waiting for the fleet to settle (an operator's quick
       * sequence on one member, each call on any instance); otherwise all at once.
       */
      readonly burst: boolean
    }
  | {
      readonly kind: 'sidecar-start' | 'sidecar-term' | 'sidecar-kill'
      readonly replica: string
    }
  | {
      readonly kind: 'replica-health'
      readonly replica: string
      readonly healthy: boolean
    }
  | {
      readonly kind: 'replica-kill' | 'replica-restart' | 'replica-pause'
      readonly replica: string
    }
  | { readonly kind: 'lb-crash'; readonly lb: string }
  | { readonly kind: 'lb-hup'; readonly lb: string; readonly members: readonly string[] }
  | { readonly kind: 'redis-crash' | 'redis-pause' }
  | { readonly kind: 'damage'; readonly damage: DamageKind }

/** A run's setup and its steps. */
export interface Plan {
  readonly seed: number
  readonly universe: Universe
  readonly steps: readonly Op[]
}

const DAMAGE: readonly DamageKind[] = [
  'member-garbage',
  'member-garbage',
  'members-wrong-type',
  'members-deleted',
  'lease-garbage',
  'drains-deleted',
  'instance-garbage',
  'observation-garbage',
  'sidecar-garbage',
  'channel-garbage',
]

/** The universe a seed sets up: 3 LBs, 5-7 replicas, the last two with sidecars. */
export function universeFor(rng: Rng): Universe {
  const n = 5 + rng.int(3)
  const replicas = Array.from({ length: n }, (_, i) => `r${i + 1}`)
  const sidecarReplicas = replicas.slice(n - 2)
  const plain = replicas.slice(0, n - 2)
  const left = rng.pick(plain)
  return {
    lbs: ['lb1', 'lb2', 'lb3'],
    replicas,
    sidecarReplicas,
    fileMembers: plain.filter(id => id !== left),
  }
}

/** Draws the admin verb: drains and enables most, so leases come and go. */
function adminVerb(rng: Rng): AdminVerb {
  const r = rng.next()
  if (r < 0.3) return 'drain'
  if (r < 0.55) return 'enable'
  if (r < 0.7) return 'disable'
  if (r < 0.85) return 'put'
  return 'delete'
}

/** Draws `count` steps for `seed` (see the file comment). */
export function planFor(seed: number, count: number): Plan {
  const rng = seededRng(seed)
  const universe = universeFor(rng)
  const files = new Map(universe.lbs.map(lb => [lb, [...universe.fileMembers]]))
  let lastMember = rng.pick(universe.replicas)
  const member = (): string => {
    // Operations cluster on one member (drain it here, again there, enable it) as an
    // operator's do; that is where two instances' views of one lease can disagree.
    if (!rng.chance(0.6)) lastMember = rng.pick(universe.replicas)
    return lastMember
  }
  const call = (lb: string): AdminCall => {
    const verb = adminVerb(rng)
    return { verb, member: member(), lb, force: verb === 'drain' && rng.chance(0.15) }
  }
  const steps: Op[] = []
  const plain = universe.replicas.filter(r => !universe.sidecarReplicas.includes(r))
  while (steps.length < count) {
    const r = rng.next()
    if (r < 0.45) {
      const first = call(rng.pick(universe.lbs))
      const calls = [first]
      const f = rng.next()
      if (f < 0.2) {
        const other = call(rng.pick(universe.lbs.filter(l => l !== first.lb)))
        // Two at once on one member have no single right answer; on two, the model knows.
        if (other.member !== first.member) calls.push(other)
      } else if (f < 0.4) {
        const more = 1 + rng.int(2)
        for (let i = 0; i < more; i++)
          calls.push({ ...call(rng.pick(universe.lbs)), member: first.member })
        steps.push({ kind: 'admin', calls, burst: true })
        continue
      }
      steps.push({ kind: 'admin', calls, burst: false })
    } else if (r < 0.55) {
      const kind = rng.pick([
        'sidecar-start',
        'sidecar-term',
        'sidecar-term',
        'sidecar-kill',
      ] as const)
      steps.push({ kind, replica: rng.pick(universe.sidecarReplicas) })
    } else if (r < 0.7) {
      const replica = rng.pick(universe.replicas)
      const f = rng.next()
      if (f < 0.4)
        steps.push({ kind: 'replica-health', replica, healthy: rng.chance(0.5) })
      else if (f < 0.6) steps.push({ kind: 'replica-kill', replica })
      else if (f < 0.85) steps.push({ kind: 'replica-restart', replica })
      else steps.push({ kind: 'replica-pause', replica })
    } else if (r < 0.8) {
      const lb = rng.pick(universe.lbs)
      if (rng.chance(0.6)) steps.push({ kind: 'lb-crash', lb })
      else {
        const before = files.get(lb) ?? []
        const id = rng.pick(plain)
        const after = before.includes(id) ? before.filter(x => x !== id) : [...before, id]
        files.set(lb, after)
        steps.push({ kind: 'lb-hup', lb, members: after })
      }
    } else if (r < 0.87) {
      steps.push({ kind: rng.chance(0.6) ? 'redis-crash' : 'redis-pause' })
    } else {
      steps.push({ kind: 'damage', damage: rng.pick(DAMAGE) })
    }
  }
  return { seed, universe, steps }
}

/** One line per step for the console and the report. */
export function describeOp(op: Op): string {
  switch (op.kind) {
    case 'admin':
      return op.calls
        .map(c => `${c.verb}${c.force ? '?force' : ''} ${c.member} on ${c.lb}`)
        .join(op.burst ? ' then ' : ' ∥ ')
    case 'sidecar-start':
    case 'sidecar-term':
    case 'sidecar-kill':
    case 'replica-kill':
    case 'replica-restart':
    case 'replica-pause':
      return `${op.kind} ${op.replica}`
    case 'replica-health':
      return `replica-health ${op.replica} ${op.healthy ? 'healthy' : 'unhealthy'}`
    case 'lb-crash':
      return `lb-crash ${op.lb} (SIGKILL, restart)`
    case 'lb-hup':
      return `lb-hup ${op.lb} members [${op.members.join(', ')}]`
    case 'redis-crash':
      return 'redis-crash (SIGKILL, restart empty)'
    case 'redis-pause':
      return 'redis-pause (SIGSTOP, SIGCONT)'
    case 'damage':
      return `damage ${op.damage}`
  }
}
