// The member mutations of the admin API (drain, enable, disable, upsert, remove), which
// DNS discovery uses too. One path for every pool mutation: through the coordinator and
// its store, the embedded memory store on one instance or Redis for a fleet, so a single
// instance runs the fleet's code and a bug in one cannot hide from tests of the other.
// The coordinator applies its own write to this pool before it resolves: the answer
// shows the effect, with no wait for a sync. An unreachable store (Redis only) answers
// 503, an exhausted drain budget 409. Rendering lives in admin/pool-document.ts; routing
// and HTTP in admin/server.ts.
import type { Logger } from 'pino'
import { AdminRequestError } from '../admin/errors.js'
import type { AdminApi, MemberOpResult } from '../admin/server.js'
import type { Coordinator } from '../coordination/coordinator.js'
import { describeOut } from '../coordination/drain-budget.js'
import { StoreUnavailableError } from '../coordination/store.js'
import type { Pool } from '../pool/pool.js'
import type { AdminState, MemberEndpoint, MemberView } from '../pool/types.js'

/** What the member operations need from the app. */
export interface ControlPlane {
  readonly pool: Pool
  readonly log: Logger
  readonly coordinator: Pick<
    Coordinator,
    'instanceId' | 'drain' | 'setAdmin' | 'upsert' | 'remove'
  >
  /** Whether drains must fit the budget (`coordination.drainBudget`). */
  readonly drainBudget: boolean
  /** Membership changed: checker, picker, removals, even-size warning. */
  membershipChanged(created: boolean): void
  memberJson(view: MemberView): Record<string, unknown>
}

/** The member mutations of the AdminApi. */
export type MemberOperations = Pick<
  AdminApi,
  'drain' | 'enable' | 'disable' | 'upsert' | 'remove'
>

/** Operator reasons, as the pool shows them. */
const REASONS: Record<AdminState, string> = {
  draining: 'drained by operator',
  enabled: 'enabled by operator',
  disabled: 'disabled by operator',
}

const NOT_FOUND: MemberOpResult = { ok: false, error: 'not-found' }

function unavailable(err: unknown): never {
  if (err instanceof StoreUnavailableError) {
    throw new AdminRequestError(
      503,
      'STORE_UNAVAILABLE',
      `the shared pool store is unreachable, so this change was not made on any instance (${err.message}); retry once it is back`,
    )
  }
  throw err
}

/** See the file comment. */
export function memberOperations(cp: ControlPlane): MemberOperations {
  const c = cp.coordinator
  const result = (id: string): MemberOpResult => {
    const view = cp.pool.get(id)
    return view === undefined ? NOT_FOUND : { ok: true, member: cp.memberJson(view) }
  }
  const drain = async (id: string, force: boolean): Promise<boolean> => {
    const grant = await c.drain(
      id,
      `api@${c.instanceId}`,
      REASONS.draining,
      force || !cp.drainBudget,
    )
    if (grant === undefined || (!grant.ok && grant.missing === true)) return false
    if (!grant.ok) {
      throw new AdminRequestError(
        409,
        'ADMIN_CONFLICT',
        `drain budget exhausted: ${grant.budget} member(s) may be out at a time to keep a majority of the pool routable, and ${describeOut(grant.out)} already are; retry when one is back, or POST …/drain?force=true to override`,
        grant.out.map(o => describeOut([o])),
      )
    }
    return true
  }
  const setAdmin = async (
    id: string,
    admin: AdminState,
    force: boolean,
  ): Promise<MemberOpResult> => {
    if (cp.pool.get(id) === undefined) return NOT_FOUND
    try {
      // Enabling releases any lease on the member in the same store step, whoever
      // holds it (a lease is a consequence of state: drain-budget.ts).
      const found =
        admin === 'draining'
          ? await drain(id, force)
          : (await c.setAdmin(id, admin, REASONS[admin])) !== undefined
      if (!found) return NOT_FOUND
      cp.membershipChanged(false)
      return result(id)
    } catch (err) {
      return unavailable(err)
    }
  }
  return {
    drain: (id, options) => setAdmin(id, 'draining', options?.force === true),
    enable: id => setAdmin(id, 'enabled', false),
    disable: id => setAdmin(id, 'disabled', false),
    upsert: async (member: MemberEndpoint) => {
      const created = cp.pool.get(member.id) === undefined
      // Discovery writes through here too: say who, in the record and the log.
      const discovered = member.source?.startsWith('dns:') === true
      const by = discovered ? `discovery (${member.source ?? ''})` : 'operator'
      try {
        await c.upsert(member, `${created ? 'added' : 'updated'} by ${by}`)
      } catch (err) {
        unavailable(err)
      }
      cp.membershipChanged(created)
      cp.log.info(
        { member: member.id, address: member.address, created, source: member.source },
        discovered ? 'member upserted by discovery' : 'member upserted via api',
      )
      const view = cp.pool.get(member.id)
      return { member: view === undefined ? null : cp.memberJson(view), created }
    },
    remove: async id => {
      if (cp.pool.get(id) === undefined) return NOT_FOUND
      try {
        await c.remove(id)
      } catch (err) {
        unavailable(err)
      }
      // An idle member is removed at once (the coordinator already applied the write):
      // answer with its last view, draining.
      const last = cp.pool.get(id)
      const r = last === undefined ? undefined : cp.memberJson(last)
      cp.membershipChanged(false)
      return { ok: true, member: r ?? { id, state: 'draining', removing: true } }
    },
  }
}
