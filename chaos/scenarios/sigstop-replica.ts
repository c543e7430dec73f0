// Scenario 2: SIGSTOP one replica (a black hole). It is evicted; clients that hit it
// meanwhile pay at most the connect timeout and then succeed elsewhere; SIGCONT readmits it.
//
// The data ports go straight to the replicas here (directData): Toxiproxy completes every
// TCP handshake itself, so behind it a stopped replica looks like a silent peer, never a
// black hole. The replicas listen with a small accept backlog: once the kernel's accept
// queue of the stopped process is full, SYNs are dropped and corral's connect times out.
// The connections the kernel queued before that are hung for real; they are bounded by
// the backlog and counted against it.
import { CHAOS_CONNECT_TIMEOUT_MS, CHAOS_HEALTH } from '../corral/config.js'
import {
  between,
  check,
  describeFailures,
  evictionByTimeoutBudgetMs,
  evictionByTimeoutFormula,
  hold,
  ms,
  readmitBudgetMs,
  readmitFormula,
  SLACK_MS,
  startWithLoad,
  type Scenario,
} from '../scenario.js'

const BACKLOG = 2

/** See the file comment. */
export const sigstopReplica: Scenario = {
  number: 2,
  name: 'sigstop-replica',
  title: 'SIGSTOP one replica (black hole)',
  async run(ctx) {
    const { topo, load } = await startWithLoad(
      ctx,
      { directData: true, backlog: BACKLOG },
      { requestTimeoutMs: 6_000 },
    )
    try {
      const h = CHAOS_HEALTH
      const victim = topo.replica('r1')
      await hold(ctx.soak ? 10_000 : 2_000)
      const stoppedAt = Date.now()
      ctx.log('SIGSTOP r1')
      victim.signal('SIGSTOP')
      const evictions = await Promise.all(
        topo.lbs.map(lb => lb.waitForChange('r1', 'down', stoppedAt, 15_000)),
      )
      await hold(ctx.soak ? 20_000 : 3_000)
      ctx.log('SIGCONT r1')
      const continuedAt = Date.now()
      victim.signal('SIGCONT')
      const readmissions = await Promise.all(
        topo.lbs.map(lb => lb.waitForChange('r1', 'up', continuedAt, 15_000)),
      )
      await hold(ctx.soak ? 10_000 : 2_000)
      await load.stop()
      const end = Date.now()

      const evictMs = Math.max(...evictions.map(e => e.timeMs - stoppedAt))
      const readmitMs = Math.max(...readmissions.map(e => e.timeMs - continuedAt))
      const window = topo.lbs.flatMap((lb, i) =>
        between(load.attempts, stoppedAt, evictions[i]?.timeMs ?? end, lb.name),
      )
      const after = topo.lbs.flatMap((lb, i) =>
        between(load.attempts, evictions[i]?.timeMs ?? end, continuedAt, lb.name),
      )
      const okBudget = CHAOS_CONNECT_TIMEOUT_MS + SLACK_MS
      // Hung: queued by the kernel before the stopped process's accept queue filled; they
      // wait for SIGCONT or their timeout. The rest were retried elsewhere by corral.
      const hung = window.filter(a => !a.ok || a.latencyMs > okBudget)
      const retried = window.filter(a => a.ok && a.latencyMs <= okBudget)
      const slowestRetried = Math.max(0, ...retried.map(a => a.latencyMs))
      // Two data ports (http, https) per replica, each queueing at most backlog + 1.
      const hungBudget = 2 * (BACKLOG + 1)
      ctx.attach('events', { stoppedAt, evictions, continuedAt, readmissions })
      ctx.attach('failed', load.attempts.filter(a => !a.ok).slice(0, 200))
      return [
        check(
          'evicted (slowest LB)',
          evictionByTimeoutFormula(h),
          ms(evictMs),
          evictMs <= evictionByTimeoutBudgetMs(h),
        ),
        check(
          'clients meanwhile: succeeded, each within connect timeout + slack',
          `slowest ≤ ${ms(okBudget)}`,
          `${retried.length} ok, slowest ${ms(slowestRetried)}`,
          retried.length > 0,
        ),
        check(
          'connections hung in the kernel accept queue (failed or > the above)',
          `≤ 2 ports × (backlog ${BACKLOG} + 1) = ${hungBudget}`,
          `${hung.length} (${describeFailures(hung)})`,
          hung.length <= hungBudget,
        ),
        check(
          'failed connections after eviction',
          '0',
          describeFailures(after),
          after.every(a => a.ok),
        ),
        check(
          'readmitted after SIGCONT (slowest LB)',
          readmitFormula(h),
          ms(readmitMs),
          readmitMs <= readmitBudgetMs(h),
        ),
      ]
    } finally {
      continueVictim(topo)
      await load.stop()
      await topo.close()
    }
  },
}

/** A stopped replica cannot be killed cleanly: always SIGCONT before teardown. */
function continueVictim(topo: {
  replica(id: string): { signal(s: NodeJS.Signals): void }
}): void {
  topo.replica('r1').signal('SIGCONT')
}
