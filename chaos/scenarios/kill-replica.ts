// Scenario 1: SIGKILL one replica under load. Failed connections only in the window
// before eviction, zero after; evicted within fall × interval + timeout; the restarted
// replica is readmitted after `rise` probes.
import { CHAOS_HEALTH } from '../corral/config.js'
import {
  between,
  check,
  describeFailures,
  evictionBudgetMs,
  evictionFormula,
  finishedBefore,
  hold,
  inFlightAt,
  ms,
  readmitBudgetMs,
  readmitFormula,
  startWithLoad,
  type Check,
  type Scenario,
} from '../scenario.js'

/** See the file comment. */
export const killReplica: Scenario = {
  number: 1,
  name: 'kill-replica',
  title: 'SIGKILL one replica under load',
  async run(ctx) {
    const { topo, load } = await startWithLoad(ctx)
    try {
      const h = CHAOS_HEALTH
      const victim = topo.replica('r1')
      await hold(ctx.soak ? 10_000 : 2_000)
      const killedAt = Date.now()
      ctx.log('SIGKILL r1')
      await victim.kill()
      const evictions = await Promise.all(
        topo.lbs.map(lb => lb.waitForChange('r1', 'down', killedAt, 10_000)),
      )
      await hold(ctx.soak ? 20_000 : 3_000)
      ctx.log('restart r1 on the same ports')
      await victim.start()
      const restartedAt = Date.now()
      const readmissions = await Promise.all(
        topo.lbs.map(lb => lb.waitForChange('r1', 'up', restartedAt, 10_000)),
      )
      await hold(ctx.soak ? 10_000 : 2_000)
      await load.stop()
      const end = Date.now()

      const evictMs = Math.max(...evictions.map(e => e.timeMs - killedAt))
      const readmitMs = Math.max(...readmissions.map(e => e.timeMs - restartedAt))
      const before = finishedBefore(load.attempts, killedAt)
      const windowAttempts = [
        ...inFlightAt(load.attempts, killedAt),
        ...topo.lbs.flatMap((lb, i) =>
          between(load.attempts, killedAt, evictions[i]?.timeMs ?? end, lb.name),
        ),
      ]
      const after = topo.lbs.flatMap((lb, i) =>
        between(load.attempts, evictions[i]?.timeMs ?? end, end, lb.name),
      )
      const lastUp = Math.max(...readmissions.map(e => e.timeMs))
      const servedByR1 = between(load.attempts, lastUp, end).filter(
        a => a.replica === 'r1',
      )
      ctx.attach('events', {
        killedAt,
        evictions,
        restartedAt,
        readmissions,
      })
      ctx.attach('failed', load.attempts.filter(a => !a.ok).slice(0, 200))
      const checks: Check[] = [
        check(
          'no failures among connections done before the kill',
          '0',
          describeFailures(before),
          before.every(a => a.ok),
        ),
        check(
          'evicted (slowest LB)',
          evictionFormula(h),
          ms(evictMs),
          evictMs <= evictionBudgetMs(h),
        ),
        check(
          'failures only in the window (in flight at the kill, or before eviction)',
          'any',
          describeFailures(windowAttempts),
          true,
        ),
        check(
          'failed connections after eviction',
          '0',
          describeFailures(after),
          after.every(a => a.ok),
        ),
        check(
          'readmitted after restart (slowest LB)',
          readmitFormula(h),
          ms(readmitMs),
          readmitMs <= readmitBudgetMs(h),
        ),
        check(
          'readmitted replica serves again',
          '> 0 connections',
          `${servedByR1.length}`,
          servedByR1.length > 0,
        ),
      ]
      return checks
    } finally {
      await load.stop()
      await topo.close()
    }
  },
}
