// What a sidecar does on SIGTERM, step by step:
// 1-2. Take a unit of the fleet-wide drain budget (a lease) and mark the member draining
//    in the shared pool, in one atomic store step (version `rev`), retrying while the
//    budget is used up by members already out (logging which) until `drain.timeout`.
// 3. Wait until every live load balancer heartbeats appliedVersion >= rev without the
//    member in its routable list: none sends it new connections any more.
// 4. Optionally wait until none has an open connection to it (`drain.connectionsTimeout`).
// 5. Deregister: delete the member and the sidecar record; the lease stays while the
//    replica is out (the next run releases it, registration as enabled does too).
// `skip` (a second SIGTERM) ends any wait at once and goes to step 5. An unreachable store
// never blocks past the deadlines: the outcome says what could not be done.
import type { Clock } from '../clock.js'
import {
  describeOut,
  downEverywhere,
  drainConfirmed,
  openConnections,
} from '../coordination/drain-budget.js'
import type { Logger } from 'pino'
import type { Sidecar } from './sidecar.js'

/** How the drain ended: exit 0 when `ok`, else `failed` says what could not be done. */
export interface DrainOutcome {
  readonly ok: boolean
  readonly failed: readonly string[]
}

/** Re-reads of the shared state while waiting (a store notice wakes it earlier). */
const POLL_MS = 200

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** Runs the drain of the file comment; `skip` aborts the waits. */
export async function drainAndDeregister(
  sidecar: Sidecar,
  deps: { readonly clock: Clock; readonly log: Logger },
  skip: AbortSignal,
): Promise<DrainOutcome> {
  const { clock, log } = deps
  const cfg = sidecar.config
  const id = cfg.member.id
  const reg = sidecar.registration
  sidecar.beginDrain()
  const deadline = clock.now() + cfg.drain.timeoutMs
  const left = (): number => deadline - clock.now()
  // A function, not the property: the signal changes under the awaits below.
  const skipped = (): boolean => skip.aborted

  // 1-2. The lease and the draining record, in one store step (drain-budget.ts).
  let rev: number | undefined
  let missing = false
  let lastOut = ''
  let lastError = ''
  while (!skipped() && left() > 0) {
    try {
      const snap = await sidecar.snapshot()
      const members = snap.members ?? new Map()
      const down = downEverywhere(members.keys(), snap.instances)
      down.delete(id)
      const grant = await reg.drain('draining before stop (sidecar)', cfg.drain.leaseMs, [
        ...down,
      ])
      if (grant.ok) {
        rev = grant.record.rev
        log.info(
          { member: id, holder: reg.holder, rev },
          'drain lease taken: member marked draining in the shared pool',
        )
        break
      }
      if (grant.missing === true) {
        // Not registered (deleted by an operator meanwhile): nothing routes to it.
        log.warn({ member: id }, 'the member is not in the shared pool: nothing to drain')
        missing = true
        break
      }
      const who = describeOut(grant.out)
      if (who !== lastOut) {
        lastOut = who
        log.warn(
          { member: id, budget: grant.budget, out: grant.out },
          `drain budget exhausted (${grant.budget} out at a time): waiting for ${who}`,
        )
      }
    } catch (err) {
      if (message(err) !== lastError) {
        lastError = message(err)
        log.warn({ member: id, error: lastError }, 'cannot drain the member yet')
      }
    }
    await sidecar.pause(Math.min(POLL_MS * 2, Math.max(0, left())), skip)
  }
  if (rev === undefined && !missing && !skipped()) {
    const why =
      lastError !== ''
        ? `the shared pool store did not answer (${lastError})`
        : `the drain budget stayed used by ${lastOut}`
    log.error(
      { member: id, timeoutMs: cfg.drain.timeoutMs },
      `could not drain within drain.timeout: ${why}; the member was left registered and the load balancers' own checks will evict it when the replica stops`,
    )
    return { ok: false, failed: [`take a drain lease: ${why}`] }
  }

  // 3. Every live load balancer confirmed.
  let waitingFor: readonly string[] = []
  while (rev !== undefined && !skipped() && left() > 0) {
    try {
      const c = drainConfirmed((await sidecar.snapshot()).instances, id, rev)
      waitingFor = c.waitingFor
      if (c.done) {
        log.info(
          { member: id, rev },
          'every live load balancer stopped routing to the member',
        )
        break
      }
    } catch (err) {
      log.debug({ err }, 'cannot read the shared pool yet')
    }
    await sidecar.pause(POLL_MS, skip)
  }
  const failed: string[] = []
  if (!skipped() && left() <= 0 && rev !== undefined && waitingFor.length > 0) {
    log.warn(
      { member: id, waitingFor },
      'drain.timeout passed before every load balancer confirmed the drain: deregistering anyway',
    )
  }

  // 4. Open connections.
  if (cfg.drain.waitForConnections && rev !== undefined && !skipped()) {
    const until = clock.now() + cfg.drain.connectionsTimeoutMs
    let open: ReadonlyMap<string, number> = new Map()
    while (!skipped() && clock.now() < until) {
      try {
        open = openConnections((await sidecar.snapshot()).instances, id)
        if (open.size === 0) break
      } catch (err) {
        log.debug({ err }, 'cannot read the shared pool yet')
      }
      await sidecar.pause(POLL_MS, skip)
    }
    if (open.size > 0 && !skipped()) {
      log.warn(
        { member: id, open: Object.fromEntries(open) },
        'drain.connectionsTimeout passed with connections still open: deregistering anyway',
      )
    }
  }
  if (skipped()) log.warn({ member: id }, 'second stop signal: skipping the wait')

  // 5. Deregister.
  const d = await reg.deregister()
  failed.push(...d.failed)
  if (failed.length > 0) {
    log.error(
      { member: id, failed },
      `could not ${failed.join(', ')}: the shared pool store did not answer; the sidecar record expires by itself`,
    )
    return { ok: false, failed }
  }
  log.info({ member: id }, 'member deregistered from the shared pool')
  return { ok: true, failed }
}
