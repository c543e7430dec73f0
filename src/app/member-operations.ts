// The admin API's operations over the control plane: member mutations go to the local pool
// (one instance) or through the coordinator to every instance (shared pool), where an
// unreachable store answers 503 and an exhausted drain budget 409. Rendering lives in
// admin/pool-document.ts; routing and HTTP in admin/server.ts.
import type { Logger } from 'pino'
import { AdminRequestError } from '../admin/errors.js'
import type { AdminApi, MemberOpResult } from '../admin/server.js'
import type { Coordinator } from '../coordination/coordinator.js'
import { describeOut } from '../coordination/drain-budget.js'
import { StoreUnavailableError } from '../coordination/store.js'
import type { Pool } from '../pool/pool.js'
import type { AdminState, MemberEndpoint, MemberView } from '../pool/types.js'

/** What the admin operations need from the app. */
export interface ControlPlane {
  readonly pool: Pool
  readonly log: Logger
  readonly coordinator: Coordinator | undefined
  /** Whether new drains must fit the fleet-wide budget. */
  readonly drainBudget: boolean
  now(): number
  /** Membership changed: checker, picker, removals, even-size warning. */
  membershipChanged(created: boolean): void
  memberJson(view: MemberView): Record<string, unknown>
}

/** Operator reasons, as the pool shows them. */
const REASONS: Record<AdminState, string> = {
  draining: 'drained by operator',
  enabled: 'enabled by operator',
  disabled: 'disabled by operator',
}

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

/** The member mutations of the AdminApi. */
export type MemberOperations = Pick<
  AdminApi,
  'drain' | 'enable' | 'disable' | 'upsert' | 'remove'
>

/** The member mutations of the AdminApi (see the file comment). */
export function memberOperations(cp: ControlPlane): MemberOperations {
  const result = (id: string): MemberOpResult => {
    const view = cp.pool.get(id)
    return view === undefined
      ? { ok: false, error: 'not-found' }
      : { ok: true, member: cp.memberJson(view) }
  }
  const setAdmin = async (
    id: string,
    admin: AdminState,
    force: boolean,
  ): Promise<MemberOpResult> => {
    const c = cp.coordinator
    if (c === undefined) {
      const r = cp.pool.setAdmin(id, admin, cp.now(), REASONS[admin])
      cp.membershipChanged(false)
      return r.ok ? result(id) : { ok: false, error: 'not-found' }
    }
    if (cp.pool.get(id) === undefined) return { ok: false, error: 'not-found' }
    try {
      if (admin === 'draining') {
        const grant = await c.drain(
          id,
          `api@${c.instanceId}`,
          REASONS[admin],
          force || !cp.drainBudget,
        )
        if (grant === undefined || (!grant.ok && grant.missing === true)) {
          return { ok: false, error: 'not-found' }
        }
        if (!grant.ok) {
          throw new AdminRequestError(
            409,
            'ADMIN_CONFLICT',
            `drain budget exhausted: ${grant.budget} member(s) may be out at a time to keep a majority of the pool routable, and ${describeOut(grant.out)} already are; retry when one is back, or POST …/drain?force=true to override`,
            grant.out.map(o => describeOut([o])),
          )
        }
      } else {
        // Enabling releases any lease on the member in the same store step, whoever
        // holds it (a lease is a consequence of state: drain-budget.ts).
        const r = await c.setAdmin(id, admin, REASONS[admin])
        if (r === undefined) return { ok: false, error: 'not-found' }
      }
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
      const c = cp.coordinator
      if (c === undefined) cp.pool.upsert(member, cp.now())
      else {
        try {
          await c.upsert(member, `${created ? 'added' : 'updated'} by ${by}`)
        } catch (err) {
          unavailable(err)
        }
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
      const c = cp.coordinator
      if (c === undefined) {
        const r = cp.pool.requestRemoval(id, cp.now())
        if (!r.ok) return { ok: false, error: 'not-found' }
      } else {
        if (cp.pool.get(id) === undefined) return { ok: false, error: 'not-found' }
        try {
          await c.remove(id)
        } catch (err) {
          unavailable(err)
        }
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
