// What an instance does about damage in the shared store (docs/coordination.md, "Damaged
// records"): unreadable entries are logged once per key and error and counted; damaged or
// vanished member records are rewritten from this instance's good copies (heal.ts decides
// which); a members key of the wrong type, or a store that forgot it was seeded (Redis
// restarted empty), is rewritten whole from this instance's pool.
import type { Logger } from 'pino'
import type { Pool } from '../pool/pool.js'
import { endpointOfView } from './membership.js'
import type { InvalidEntry, MemberRepair, PoolStore } from './store.js'

/** What damage handling reports to the app (metrics). */
export interface DamageHooks {
  /** A stored value was unreadable and skipped. */
  invalid(entry: InvalidEntry): void
  /** Damaged or vanished records of this kind were rewritten from good copies. */
  repaired(kind: 'member' | 'observation', count: number): void
}

/** Dependencies. */
export interface DamageDeps {
  readonly instanceId: string
  readonly store: PoolStore
  readonly pool: Pool
  readonly log: Logger
  readonly hooks: DamageHooks
}

/** Most distinct invalid keys remembered for one-line-per-change logging. */
const LOGGED_KEYS = 10_000

/** See the file comment. */
export class DamageRepair {
  readonly #d: DamageDeps
  /** Invalid keys already logged (one line per key per distinct error). */
  readonly #logged = new Map<string, string>()

  constructor(deps: DamageDeps) {
    this.#d = deps
  }

  /** Counts every unreadable entry; logs each key once per distinct error. */
  reportInvalid(entries: readonly InvalidEntry[]): void {
    for (const e of entries) {
      this.#d.hooks.invalid(e)
      if (this.#logged.get(e.key) === e.error) continue
      this.#logged.set(e.key, e.error)
      this.#d.log.warn(
        { key: e.key, kind: e.kind, error: e.error },
        'ignored an unreadable shared pool entry (the last good value stays in force)',
      )
    }
    if (this.#logged.size > LOGGED_KEYS) this.#logged.clear()
  }

  /** Rewrites damaged or vanished member records from good copies (compare-and-set). */
  async repairMembers(repairs: readonly MemberRepair[]): Promise<void> {
    if (repairs.length === 0) return
    const { store, log, hooks, instanceId } = this.#d
    try {
      const n = await store.repairMembers(repairs, instanceId)
      if (n === 0) return
      hooks.repaired('member', n)
      log.warn(
        {
          members: repairs.map(r => r.write.member.id),
          damaged: repairs.filter(r => r.found !== undefined).length,
          vanished: repairs.filter(r => r.found === undefined).length,
        },
        'repaired damaged shared pool records from the last good copy',
      )
    } catch (err) {
      // The next resync tries again; meanwhile the good copies stay in force here.
      log.debug({ err }, 'could not repair damaged shared pool records yet')
    }
  }

  /**
   * Seeds a never-seeded (or emptied: Redis restarted without persistence) shared pool
   * with this instance's current pool, which is the config file's at first start and the
   * last shared state after that, so nothing is lost; `repair` (why) forces the rewrite of
   * a damaged members key. Returns whether anything was attempted (then re-read).
   */
  async reseed(repair: string | undefined): Promise<boolean> {
    const { store, log, pool, instanceId, hooks } = this.#d
    const writes = pool
      .views()
      .filter(v => !v.removing)
      .map(v => ({
        member: endpointOfView(v),
        admin: v.admin,
        removing: false,
        reason: repair !== undefined ? 'restored after damage' : 'seeded',
      }))
    if (writes.length === 0 && repair === undefined) return false
    const wrote = await store
      .seed(writes, instanceId, repair !== undefined)
      .catch(() => false)
    if (wrote && repair !== undefined) {
      hooks.repaired('member', writes.length)
      log.warn(
        { members: writes.length, why: repair },
        'repaired the shared pool from the last good copy',
      )
    } else if (wrote) {
      log.info(
        { members: writes.length },
        "seeded the shared pool from this instance's pool",
      )
    }
    return true
  }
}
