// Scenario 3: kill 2 of 3 replicas (quorum lost). corral_pool_quorum is 0 (the
// QuorumLost alert's condition) on both LBs, with 1 live member, 1 short of a majority
// and a margin of 0, never negative (issue #24); traffic continues to the survivor; when the
// last one dies, the documented all-down behaviour (`allDown: reject`, the default)
// closes new connections at once instead of letting them hang.
import {
  between,
  check,
  describeFailures,
  hold,
  ms,
  startWithLoad,
  type Scenario,
} from '../scenario.js'

/** A rejected connection must fail at least this fast (ms): "closes it at once". */
const REJECT_BUDGET_MS = 1_000

/** See the file comment. */
export const quorumLost: Scenario = {
  number: 3,
  name: 'quorum-lost',
  title: 'kill 2 of 3 replicas, then the last',
  async run(ctx) {
    const { topo, load } = await startWithLoad(ctx)
    try {
      await hold(ctx.soak ? 10_000 : 2_000)
      const toleratedFull = await Promise.all(
        topo.lbs.map(lb => lb.metric('corral_pool_failures_tolerated')),
      )
      const killedAt = Date.now()
      ctx.log('SIGKILL r1 and r2')
      await Promise.all([topo.replica('r1').kill(), topo.replica('r2').kill()])
      const evictions = await Promise.all(
        topo.lbs.flatMap(lb =>
          ['r1', 'r2'].map(id => lb.waitForChange(id, 'down', killedAt, 15_000)),
        ),
      )
      const quorumSince = Math.max(...evictions.map(e => e.timeMs))
      const quorum = await Promise.all(
        topo.lbs.map(lb => lb.metric('corral_pool_quorum')),
      )
      const tolerated = await Promise.all(
        topo.lbs.map(lb => lb.metric('corral_pool_failures_tolerated')),
      )
      const shortfall = await Promise.all(
        topo.lbs.map(lb => lb.metric('corral_pool_quorum_shortfall')),
      )
      const live = await Promise.all(
        topo.lbs.map(lb => lb.metric('corral_pool_members_live')),
      )
      await hold(ctx.soak ? 20_000 : 3_000)
      const survivorWindowEnd = Date.now()
      const survivor = between(load.attempts, quorumSince, survivorWindowEnd)
      const notR3 = survivor.filter(
        a => a.ok && a.replica !== undefined && a.replica !== 'r3',
      )

      ctx.log('SIGKILL r3 (all down)')
      const lastAt = Date.now()
      await topo.replica('r3').kill()
      const lastEvictions = await Promise.all(
        topo.lbs.map(lb => lb.waitForChange('r3', 'down', lastAt, 15_000)),
      )
      const allDownSince = Math.max(...lastEvictions.map(e => e.timeMs))
      await hold(ctx.soak ? 10_000 : 2_000)
      await load.stop()
      const allDown = between(load.attempts, allDownSince, Date.now())
      const slowestReject = Math.max(0, ...allDown.map(a => a.latencyMs))
      ctx.attach('events', {
        killedAt,
        evictions,
        lastAt,
        lastEvictions,
        quorum,
        tolerated,
        shortfall,
        live,
      })
      ctx.attach('failed', load.attempts.filter(a => !a.ok).slice(0, 200))
      return [
        check(
          'corral_pool_quorum on both LBs (QuorumLost: == 0)',
          '0, 0',
          quorum.map(q => String(q)).join(', '),
          quorum.every(q => q === 0),
        ),
        check(
          'corral_pool_failures_tolerated, all 3 up',
          '1, 1',
          toleratedFull.map(q => String(q)).join(', '),
          toleratedFull.every(q => q === 1),
        ),
        check(
          'corral_pool_failures_tolerated, 1 of 3 live (never below 0)',
          '0, 0',
          tolerated.map(q => String(q)).join(', '),
          tolerated.every(q => q === 0),
        ),
        check(
          'corral_pool_quorum_shortfall and corral_pool_members_live, 1 of 3 live',
          '1 short, 1 live on both',
          shortfall
            .map((q, i) => `${String(q)} short, ${String(live[i])} live`)
            .join('; '),
          shortfall.every(q => q === 1) && live.every(l => l === 1),
        ),
        check(
          'traffic continues to the survivor',
          '0 failed, all from r3',
          `${describeFailures(survivor)}; ${notR3.length} from others`,
          survivor.length > 0 && survivor.every(a => a.ok) && notR3.length === 0,
        ),
        check(
          'all down: new connections rejected at once (allDown: reject)',
          `all fail, each within ${ms(REJECT_BUDGET_MS)}`,
          `${describeFailures(allDown)}; slowest ${ms(slowestReject)}`,
          allDown.length > 0 &&
            allDown.every(a => !a.ok) &&
            slowestReject <= REJECT_BUDGET_MS,
        ),
      ]
    } finally {
      await load.stop()
      await topo.close()
    }
  },
}
