// PURE. A Picker is the momentary routing decision for one pool snapshot (grpc-js
// src/picker.ts): built whenever membership or state changes, replaced, never mutated
// in its membership. The data path only calls pick().
import type { AllDownPolicy, BalanceAlgorithm } from '../config/types.js'
import type { Balancer, BalanceRequest } from './balancers/balancer.js'
import { ConsistentHashBalancer } from './balancers/consistent-hash.js'
import { LeastConnectionsBalancer } from './balancers/least-connections.js'
import { RoundRobinBalancer } from './balancers/round-robin.js'
import { isRoutable } from './member-state.js'
import { slowStartWeight } from './slow-start.js'
import type { MemberView } from './types.js'

/** Settings a picker is built with. */
export interface PickerOptions {
  readonly balance: BalanceAlgorithm
  readonly allDown: AllDownPolicy
  readonly slowStartMs: number
  /** A member with this many active connections is skipped (0 = unlimited). */
  readonly maxConnectionsPerMember: number
  /** Active connections to a member, across every worker (read at pick time). */
  readonly load: (memberId: string) => number
}

/** Per-connection inputs of a pick. */
export interface PickRequest {
  /**
   * Client address: the consistent-hash key. Read only by consistent hashing, so a
   * relay may make it a lazy getter (it costs a getpeername(2) call).
   */
  readonly clientAddress: string
  /** Monotonic ms (slow start). */
  readonly now: number
  /** Members already tried for this connection. */
  readonly exclude?: ReadonlySet<string> | undefined
}

/** Why a pick found nobody: no member routable at all, or every candidate full/tried. */
export type NoPick = 'no-member' | 'limit'

/** Chooses a member for each new connection; membership fixed at birth. */
export interface Picker {
  /** Members that may take traffic (up, or every enabled member while failing open). */
  readonly candidates: readonly MemberView[]
  /** True when no member is up and the all-down policy is fail-open. */
  readonly failingOpen: boolean
  pick(req: PickRequest): MemberView | NoPick
}

function createBalancer(
  balance: BalanceAlgorithm,
  candidates: readonly MemberView[],
): Balancer {
  switch (balance) {
    case 'round-robin':
      return new RoundRobinBalancer(candidates.length)
    case 'least-connections':
      return new LeastConnectionsBalancer(candidates.length)
    case 'consistent-hash':
      return new ConsistentHashBalancer(
        candidates.map(m => m.id),
        candidates.map(m => m.weight),
      )
  }
}

/** Builds the picker for a pool snapshot. */
export function buildPicker(
  members: readonly MemberView[],
  options: PickerOptions,
): Picker {
  const up = members.filter(m => isRoutable(m.state))
  // All down: reject at once, or fail open to every member the operator has not taken out.
  const failingOpen = up.length === 0 && options.allDown === 'fail-open'
  const candidates = failingOpen ? members.filter(m => m.admin === 'enabled') : up
  const balancer = createBalancer(options.balance, candidates)
  const { load, maxConnectionsPerMember: limit, slowStartMs } = options
  const weights: number[] = candidates.map(m => m.weight)
  // Weights follow the clock only until the last ramp ends; after that they are fixed.
  let slowStartUntil = -Infinity
  if (slowStartMs > 0) {
    for (const m of candidates) {
      if (m.upSince !== undefined)
        slowStartUntil = Math.max(slowStartUntil, m.upSince + slowStartMs)
    }
  }
  let ramping = slowStartUntil > -Infinity
  // One balance request per picker, pointed at the pick in progress: picks are
  // synchronous, so nothing is allocated per connection.
  const none: PickRequest = { clientAddress: '', now: 0 }
  let current = none
  const request: BalanceRequest = {
    get key() {
      return current.clientAddress
    },
    eligible: i => {
      const m = candidates[i]
      if (m === undefined || current.exclude?.has(m.id) === true) return false
      return limit === 0 || load(m.id) < limit
    },
    load: i => {
      const m = candidates[i]
      return m === undefined ? 0 : load(m.id)
    },
  }

  return {
    candidates,
    failingOpen,
    pick(req: PickRequest): MemberView | NoPick {
      if (candidates.length === 0) return 'no-member'
      if (ramping) {
        for (let i = 0; i < candidates.length; i++) {
          const m = candidates[i]
          if (m) weights[i] = slowStartWeight(m.weight, m.upSince, req.now, slowStartMs)
        }
        // One last pass at/after the end restored every full weight.
        if (req.now >= slowStartUntil) ramping = false
      }
      const exclude = req.exclude
      current = req
      const index = balancer.pick(request, weights)
      current = none
      const chosen = candidates[index]
      if (chosen !== undefined) return chosen
      const untried = candidates.some(m => exclude?.has(m.id) !== true)
      return untried && limit > 0 ? 'limit' : 'no-member'
    },
  }
}
