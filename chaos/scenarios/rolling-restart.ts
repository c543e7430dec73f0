// Scenario 9: a rolling restart of all five replicas through their sidecars, under load,
// twice. Each replica's cycle: SIGTERM its `corral sidecar` (drain lease, draining on
// every LB, confirmed through Redis, open connections finished, deregistered, exit 0),
// then SIGKILL and restart the replica on the same ports and start a new sidecar, which
// registers it again and, once it is up, releases the lease. A: one replica after the
// other. B: every sidecar SIGTERMed at once, the drain budget (2 of 5) the only guard.
// Budgets: zero failed new connections, and never fewer than a majority (3) up on any LB.
import { CHAOS_HEALTH } from '../corral/config.js'
import { PoolWatch } from '../pool-watch.js'
import {
  check,
  describeFailures,
  hold,
  ms,
  readmitBudgetMs,
  readmitFormula,
  startWithLoad,
  type Check,
  type Scenario,
} from '../scenario.js'

/** Bound on one sidecar's drain (its config: drain.timeout 60 s + connectionsTimeout 10 s). */
const SIDECAR_STOP_MS = 90_000

/** See the file comment. */
export const rollingRestart: Scenario = {
  number: 9,
  name: 'rolling-restart',
  title: 'rolling restart via sidecars',
  async run(ctx) {
    // Five replicas: the 5-replica cluster of issue #12 (a majority is 3).
    const { topo, load } = await startWithLoad(ctx, {
      shared: { sidecars: true },
      replicas: 5,
    })
    const watch = new PoolWatch(topo.lbs)
    try {
      await hold(ctx.soak ? 10_000 : 2_000)
      const startedAt = Date.now()
      interface Step {
        replica: string
        exitCode: number | null
        drainMs: number
        waitedForBudget: boolean
        removedOnEveryLb: boolean
        readmitMs: number
      }
      /** SIGTERM r's sidecar; once it exited, restart r and a new sidecar; r up again. */
      const cycle = async (r: (typeof topo.replicas)[number]): Promise<Step> => {
        const sc = topo.sidecars.get(r.id)
        if (sc === undefined) throw new Error(`no sidecar for ${r.id}`)
        const since = Date.now()
        const logsFrom = sc.logs.length
        ctx.log(`SIGTERM sidecar of ${r.id}`)
        const exitCode = await sc.signalAndWait('SIGTERM', SIDECAR_STOP_MS)
        const drainMs = Date.now() - since
        const waitedForBudget = sc.logs
          .slice(logsFrom)
          .some(
            l => typeof l.msg === 'string' && l.msg.startsWith('drain budget exhausted'),
          )
        // The sidecar exits after deregistering: every LB has it draining, then absent.
        const removed = await Promise.all(
          topo.lbs.map(async lb => {
            await lb.waitForChange(r.id, 'draining', since, 5_000)
            await lb.waitForChange(r.id, 'absent', since, 10_000)
            return true
          }),
        ).catch(() => [false])
        ctx.log(`restart ${r.id} and its sidecar`)
        await r.kill()
        await r.start()
        const restartAt = Date.now()
        await topo.startSidecar(r.id)
        const registeredAt = Date.now()
        await Promise.all(
          topo.lbs.map(lb => lb.waitForChange(r.id, 'up', restartAt, 30_000)),
        )
        return {
          replica: r.id,
          exitCode,
          drainMs,
          waitedForBudget,
          removedOnEveryLb: removed.every(Boolean),
          readmitMs: Date.now() - registeredAt,
        }
      }
      // A. One replica after the other, as an upgrade runbook does.
      const steps: Step[] = []
      for (const r of topo.replicas) steps.push(await cycle(r))
      const allAt = Date.now()
      // B. Every sidecar stopped at once (an impatient orchestrator): the drain budget
      // (2 at a time on 5) must keep a majority routable by itself.
      ctx.log('SIGTERM every sidecar at once')
      const together = await Promise.all(topo.replicas.map(cycle))
      steps.push(...together)
      await hold(ctx.soak ? 10_000 : 2_000)
      await load.stop()
      await watch.stop()
      const end = Date.now()

      const during = load.attempts.filter(a => a.atMs >= startedAt && a.atMs < end)
      const lastUp = Math.max(...steps.map(s => s.readmitMs))
      const minUp = Math.min(
        ...topo.lbs.map(lb => watch.minUp(lb.name, startedAt, allAt)),
      )
      const minUpTogether = Math.min(
        ...topo.lbs.map(lb => watch.minUp(lb.name, allAt, end)),
      )
      const waited = together.filter(s => s.waitedForBudget).length
      const majority = Math.floor(topo.replicas.length / 2) + 1
      const servedAfter = new Set(
        load.attempts
          .filter(a => a.ok && a.atMs >= end - 2_000 && a.replica !== undefined)
          .map(a => a.replica),
      )
      // A re-registered replica starts down on every LB (health.initialState) and is
      // admitted by a passing check, not by the verdict of its life before the restart.
      const rejoins = topo.lbs.flatMap(lb =>
        lb.changes.filter(c => c.timeMs >= startedAt && c.from === 'absent'),
      )
      ctx.attach('steps', steps)
      ctx.attach(
        'changes',
        topo.lbs.map(lb => ({
          lb: lb.name,
          changes: lb.changes.filter(c => c.timeMs >= startedAt),
        })),
      )
      ctx.attach('failed', load.attempts.filter(a => !a.ok).slice(0, 200))
      const checks: Check[] = [
        check(
          'sidecars drained, deregistered and exited 0',
          `${steps.length} of ${steps.length}`,
          `${steps.filter(s => s.exitCode === 0).length} (slowest ${ms(Math.max(...steps.map(s => s.drainMs)))})`,
          steps.every(s => s.exitCode === 0),
        ),
        check(
          'each replica draining, then removed, on every LB before it stopped',
          `${steps.length} of ${steps.length}`,
          `${steps.filter(s => s.removedOnEveryLb).length}`,
          steps.every(s => s.removedOnEveryLb),
        ),
        check(
          'failed new connections during the rolling restart',
          '0',
          describeFailures(during),
          during.length > 0 && during.every(a => a.ok),
        ),
        check(
          're-registered replicas start down until checked (every LB)',
          `${steps.length * topo.lbs.length} of ${steps.length * topo.lbs.length}`,
          `${rejoins.filter(c => c.to === 'down').length}`,
          rejoins.length === steps.length * topo.lbs.length &&
            rejoins.every(c => c.to === 'down'),
        ),
        check(
          'A. one at a time: fewest members up on any LB',
          `≥ ${majority} (a majority of ${topo.replicas.length})`,
          `${minUp}`,
          minUp >= majority,
        ),
        check(
          'B. all sidecars stopped at once: fewest members up on any LB',
          `≥ ${majority} (the drain budget alone)`,
          `${minUpTogether}`,
          minUpTogether >= majority,
        ),
        check(
          'B. sidecars that waited for the drain budget',
          `≥ ${topo.replicas.length - Math.floor((topo.replicas.length - 1) / 2)} of ${topo.replicas.length} (budget ${Math.floor((topo.replicas.length - 1) / 2)})`,
          `${waited}`,
          waited >= topo.replicas.length - Math.floor((topo.replicas.length - 1) / 2),
        ),
        check(
          'restarted replicas up on every LB (slowest, from registration)',
          readmitFormula(CHAOS_HEALTH),
          ms(lastUp),
          lastUp <= readmitBudgetMs(CHAOS_HEALTH),
        ),
        check(
          'replicas serving at the end',
          `${topo.replicas.length}`,
          `${servedAfter.size}`,
          servedAfter.size === topo.replicas.length,
        ),
      ]
      return checks
    } finally {
      await watch.stop()
      await load.stop()
      await topo.close()
    }
  },
}
