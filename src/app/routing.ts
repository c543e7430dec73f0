// Keeps what routes in step with the pool: the data path's picker (republished only when
// the pool's routing version moves, or on demand), the checker's member list, removals
// that finished draining, and the even-size warning.
import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import type { Config } from '../config/types.js'
import type { HealthChecker } from '../health/checker.js'
import type { Pool } from '../pool/pool.js'
import type { DataPath } from '../proxy/data-path.js'
import { pickerSettings } from './data-path.js'

/** What routing keeps in step. */
export interface RoutingDeps {
  readonly pool: Pool
  readonly dataPath: DataPath
  readonly checker: HealthChecker
  readonly clock: Clock
  readonly log: Logger
  /** The config in force (balancing and limits change on reload). */
  config(): Config
}

/** See the file comment. */
export class Routing {
  readonly #d: RoutingDeps
  #pickerVersion = -1

  constructor(deps: RoutingDeps) {
    this.#d = deps
  }

  /** Republishes the picker if routing-relevant pool state changed (or `force`). */
  publish(force = false): void {
    const { pool, dataPath } = this.#d
    if (!force && pool.version === this.#pickerVersion) return
    this.#pickerVersion = pool.version
    dataPath.publish(pool.views(), pickerSettings(this.#d.config()))
  }

  /** Membership or shared verdicts changed: checker, picker, finished removals. */
  membershipChanged(created: boolean): void {
    const views = this.#d.pool.views()
    this.#d.checker.setMembers(views)
    this.publish()
    for (const v of views) if (v.removing) this.removeIfIdle(v.id)
    if (created) this.warnIfEven()
  }

  /** Removes a member whose removal was requested, once it has no connection left. */
  removeIfIdle(id: string): void {
    const { pool, dataPath, checker, clock } = this.#d
    const view = pool.get(id)
    if (view?.removing === true && dataPath.load(id) === 0) {
      pool.remove(id, clock.now(), 'removed after draining')
      checker.setMembers(pool.views())
      this.publish()
      this.warnIfEven()
    }
  }

  /** Warns that an even pool tolerates no more failures than one member fewer would. */
  warnIfEven(): void {
    const n = this.#d.pool.views().length
    if (n > 0 && n % 2 === 0) {
      this.#d.log.warn(
        { size: n, failuresTolerated: Math.floor((n - 1) / 2) },
        `pool has an even number of members (${n}): it tolerates no more failures than ${n - 1} would`,
      )
    }
  }
}
