// Scenario 8: one load-balancer instance SIGKILLed under load. The other keeps the shared
// pool (no member changes state, zero failed connections through it) and stops counting
// the dead instance once its heartbeat expires; the killed one is restarted on the same
// ports and warm-starts: every member is up from its first moment (the last shared
// verdicts, younger than `coordination.warmStart`) instead of waiting `rise` probes.
import { CHAOS_COORDINATION, CHAOS_HEALTH } from '../corral/config.js'
import { PoolWatch, readPool, upCount, waitForPool } from '../pool-watch.js'
import {
  between,
  check,
  describeFailures,
  hold,
  ms,
  SLACK_MS,
  startWithLoad,
  type Check,
  type Scenario,
} from '../scenario.js'

const { ttlMs: TTL_MS, resyncMs: RESYNC_MS } = CHAOS_COORDINATION
/** An expired heartbeat sends no notice: a peer sees it at its next full re-read. */
const EXPIRY_BUDGET_MS = TTL_MS + RESYNC_MS + SLACK_MS

/** See the file comment. */
export const lbKilled: Scenario = {
  number: 8,
  name: 'lb-killed',
  title: 'one LB SIGKILLed, warm start',
  async run(ctx) {
    const { topo, load } = await startWithLoad(ctx, { shared: {} })
    const watch = new PoolWatch(topo.lbs)
    try {
      const [lb1, lb2] = topo.lbs
      if (lb1 === undefined || lb2 === undefined) throw new Error('two LBs expected')
      const h = CHAOS_HEALTH
      await waitForPool(lb2, s => s.instances === 2, 10_000, 'two live instances')
      await hold(ctx.soak ? 10_000 : 2_000)
      const killedAt = Date.now()
      ctx.log('SIGKILL lb1 (primary and workers)')
      await lb1.crash()
      await waitForPool(lb2, s => s.instances === 1, TTL_MS + 5_000, 'lb1 not counted')
      const expiredMs = Date.now() - killedAt
      await hold(ctx.soak ? 20_000 : 3_000)
      ctx.log('restart lb1 on the same ports')
      const restartAt = Date.now()
      await topo.restartLb('lb1')
      const readyAt = Date.now()
      const first = await readPool(lb1)
      await waitForPool(lb2, s => s.instances === 2, TTL_MS + 5_000, 'lb1 counted again')
      const rejoinMs = Date.now() - readyAt
      await hold(ctx.soak ? 10_000 : 3_000)
      await load.stop()
      await watch.stop()
      const end = Date.now()

      const lb2All = between(load.attempts, killedAt, end, 'lb2')
      const lb1After = between(load.attempts, readyAt, end, 'lb1')
      const lb1Down = between(load.attempts, killedAt, readyAt, 'lb1')
      const lb2Changes = lb2.changes.filter(c => c.timeMs >= killedAt)
      // Before "corral ready" the restarted LB loads its file's members, then takes the
      // shared verdicts (logged "warm start: up …"); its listeners open only after that.
      const restartChanges = lb1.changes.filter(c => c.timeMs >= readyAt)
      const minUpLb2 = watch.minUp('lb2', killedAt, end)
      const cold = h.rise * h.intervalMs
      ctx.attach('events', {
        killedAt,
        restartAt,
        readyAt,
        first,
        lb2Changes,
        restartChanges,
      })
      ctx.attach('failed', load.attempts.filter(a => !a.ok).slice(0, 200))
      const checks: Check[] = [
        check(
          'failed connections through lb2 from the kill on',
          '0',
          describeFailures(lb2All),
          lb2All.length > 0 && lb2All.every(a => a.ok),
        ),
        check(
          'members up on lb2 while lb1 was gone (fewest seen)',
          '3 (no state change)',
          `${minUpLb2}, ${lb2Changes.length} changes`,
          minUpLb2 === 3 && lb2Changes.length === 0,
        ),
        check(
          'lb2 stops counting lb1 (heartbeat expiry, from the kill)',
          `ttl + resync + ${SLACK_MS} = ${ms(EXPIRY_BUDGET_MS)}`,
          ms(expiredMs),
          expiredMs <= EXPIRY_BUDGET_MS,
        ),
        check(
          'restarted lb1: members up at "corral ready" (warm start)',
          `3 up at once (a cold start waits rise×interval = ${ms(cold)})`,
          `${upCount(first)} up ${ms(first.atMs - readyAt)} after ready`,
          upCount(first) === 3,
        ),
        check(
          'restarted lb1: member state changes after ready',
          '0',
          `${restartChanges.length}`,
          restartChanges.length === 0,
        ),
        check(
          'lb2 counts lb1 again (from its ready line)',
          `ttl + ${SLACK_MS} = ${ms(TTL_MS + SLACK_MS)}`,
          ms(rejoinMs),
          rejoinMs <= TTL_MS + SLACK_MS,
        ),
        check(
          'failed connections through the restarted lb1',
          '0',
          describeFailures(lb1After),
          lb1After.length > 0 && lb1After.every(a => a.ok),
        ),
        check(
          'connections to lb1 while it was down (a VIP in front drains it)',
          'any',
          describeFailures(lb1Down),
          true,
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
