// Adopting the shared membership into this instance's pool: the ops that membership.ts
// computes (pure) applied to the pool, with warm-start verdicts at this instance's start.
import type { Pool } from '../pool/pool.js'
import type { Health } from '../pool/types.js'
import type { MemberRecord } from './codec.js'
import { membershipOps } from './membership.js'
import type { SharedSnapshot } from './store.js'

/**
 * The warm-start verdict for a member: the latest shared verdict if younger than
 * `warmMs` by the store's clock, else undefined (health.initialState). `warmMs` 0: none.
 */
export function warmVerdicts(
  snap: Pick<SharedSnapshot, 'verdicts' | 'now'>,
  warmMs: number,
): (id: string) => Health | undefined {
  return id => {
    const v = snap.verdicts.get(id)
    return v !== undefined && warmMs > 0 && snap.now - v.at <= warmMs
      ? v.health
      : undefined
  }
}

/** Brings `pool` in line with `records`; returns how many ops it applied. */
export function applyMembership(
  pool: Pool,
  records: ReadonlyMap<string, MemberRecord>,
  warm: (id: string) => Health | undefined,
  now: number,
): number {
  const ops = membershipOps(records, pool.views(), warm)
  for (const op of ops) {
    switch (op.op) {
      case 'upsert':
        pool.upsert(op.endpoint, now, op.initial)
        break
      case 'admin':
        pool.setAdmin(op.id, op.admin, now, op.reason)
        break
      case 'request-removal':
        pool.requestRemoval(op.id, now)
        break
      default: {
        const unknown: never = op
        throw new Error(`unknown membership op ${JSON.stringify(unknown)}`)
      }
    }
  }
  return ops.length
}
