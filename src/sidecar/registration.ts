// A sidecar's records in the shared pool: its member (register, deregister) and its own
// heartbeat carrying the member's local verdict. Every call goes to the store at once and
// throws StoreUnavailableError when it cannot; the caller retries.
import { RECORD_VERSION, type MemberRecord } from '../coordination/codec.js'
import type { DrainGrant, PoolStore } from '../coordination/store.js'
import type { Health, MemberEndpoint } from '../pool/types.js'

/** Construction parameters. */
export interface RegistrationOptions {
  readonly member: MemberEndpoint
  /** The sidecar's id in the store: "sidecar:<member id>". */
  readonly holder: string
  /** TTL of the heartbeat record, ms. */
  readonly ttlMs: number
}

/** What registration needs from its surroundings. */
export interface RegistrationDeps {
  readonly store: PoolStore
  /** Wall clock ms (record timestamps). */
  readonly wallNow: () => number
}

function sameEndpoint(a: MemberEndpoint, b: MemberEndpoint): boolean {
  const pa = Object.entries(a.ports).sort()
  const pb = Object.entries(b.ports).sort()
  return (
    a.address === b.address &&
    a.weight === b.weight &&
    JSON.stringify(pa) === JSON.stringify(pb)
  )
}

/** The sidecar's records in the shared pool (see the file comment). */
export class Registration {
  readonly #o: RegistrationOptions
  readonly #d: RegistrationDeps

  constructor(options: RegistrationOptions, deps: RegistrationDeps) {
    this.#o = options
    this.#d = deps
  }

  /** The sidecar's id (the drain lease holder and the records' author). */
  get holder(): string {
    return this.#o.holder
  }

  /**
   * Puts the member in the shared pool, enabled, unless it is already there with the same
   * endpoint and an operator's admin state (which a sidecar restart must not undo); a
   * leftover drain of this sidecar's own (it died mid-drain) is undone. Returns the
   * record in force.
   */
  async register(current: MemberRecord | undefined): Promise<MemberRecord> {
    const { member, holder } = this.#o
    const keep =
      current !== undefined &&
      !current.removing &&
      sameEndpoint(current.member, member) &&
      (current.admin === 'enabled' || current.by !== holder)
    if (keep) return current
    return this.#d.store.putMember(
      {
        member,
        admin: 'enabled',
        removing: false,
        reason: 'registered by its sidecar',
        // An emptied store (Redis restarted) is re-seeded by the load balancers from
        // their last pool, operators' drains included: this write must not stop that.
        unseeded: true,
        // Read earlier: a record written since (a re-seed) wins over a first registration.
        ...(current === undefined ? { ifAbsent: true } : {}),
      },
      holder,
    )
  }

  /** Refreshes the sidecar's heartbeat with the member's verdict (valid for ttlMs). */
  async heartbeat(health: Health, reason: string): Promise<void> {
    await this.#d.store.putSidecar(this.#o.member.id, {
      v: RECORD_VERSION,
      id: this.#o.holder,
      health,
      reason: reason.slice(0, 500),
      at: Math.round(this.#d.wallNow()),
      ttlMs: this.#o.ttlMs,
    })
  }

  /**
   * Drains the member everywhere if the fleet-wide budget allows: the lease (this
   * sidecar's) and the draining record in one atomic store step. `down`: members no live
   * load balancer routes to.
   */
  async drain(
    reason: string,
    leaseMs: number,
    down: readonly string[],
  ): Promise<DrainGrant> {
    return this.#d.store.drain(
      {
        write: { member: this.#o.member, admin: 'draining', removing: false, reason },
        holder: this.#o.holder,
        ttlMs: leaseMs,
        down,
        force: false,
      },
      this.#o.holder,
    )
  }

  /**
   * Removes the member and the heartbeat; each step attempted. The drain lease stays: the
   * replica is out until its sidecar is back (releaseLease) or the lease expires.
   */
  async deregister(): Promise<{ readonly failed: readonly string[] }> {
    const id = this.#o.member.id
    const failed: string[] = []
    const steps: [string, () => Promise<unknown>][] = [
      ['delete the member', () => this.#d.store.deleteMember(id, this.#o.holder, true)],
      ['delete the sidecar record', () => this.#d.store.deleteSidecar(id)],
    ]
    for (const [what, step] of steps) {
      try {
        await step()
      } catch {
        // Reported to the caller, which logs what could not be done.
        failed.push(what)
      }
    }
    return { failed }
  }

  /** Releases this sidecar's drain lease on its member, if it holds one (idempotent). */
  async releaseLease(): Promise<void> {
    await this.#d.store.releaseDrain(this.#o.member.id, this.#o.holder)
  }
}
