// Scenario 10: a flapping replica whose /health alternates healthy/unhealthy every
// interval. Hysteresis holds: consecutive transitions of one member are at least
// min(rise, fall) probes apart, so their count is bounded; clients see no failures (only
// /health flaps, the data path is fine).
import { CHAOS_HEALTH } from '../corral/config.js'
import {
  between,
  check,
  describeFailures,
  hold,
  ms,
  startWithLoad,
  type Scenario,
} from '../scenario.js'

/** See the file comment. */
export const flappingReplica: Scenario = {
  number: 10,
  name: 'flapping-replica',
  title: 'a replica flapping healthy/unhealthy every interval',
  async run(ctx) {
    const { topo, load } = await startWithLoad(ctx)
    try {
      const h = CHAOS_HEALTH
      await hold(2_000)
      const flapMs = ctx.soak ? 120_000 : 12_000
      const at = Date.now()
      ctx.log(`r1 /health flaps every ${h.intervalMs} ms for ${flapMs} ms`)
      await topo.replica('r1').setHealth({ mode: 'flap', periodMs: h.intervalMs })
      await hold(flapMs)
      const end = Date.now()
      await topo.replica('r1').setHealth({ mode: 'healthy' })
      await load.stop()
      // Two transitions need at least min(rise, fall) probes between them, each probe at
      // least interval × (1 - jitter) apart, less the 10 ms tick.
      const minGapMs = Math.min(h.rise, h.fall) * h.intervalMs * (1 - h.jitter) - 10
      const perLb = topo.lbs.map(lb =>
        lb.changes.filter(c => c.member === 'r1' && c.timeMs >= at && c.timeMs < end),
      )
      const counts = perLb.map(c => c.length)
      const gaps = perLb.flatMap(c =>
        c.slice(1).map((x, i) => x.timeMs - (c[i]?.timeMs ?? 0)),
      )
      const smallestGap = gaps.length === 0 ? Infinity : Math.min(...gaps)
      const maxTransitions = Math.floor(flapMs / minGapMs) + 1
      const all = between(load.attempts, at, end)
      ctx.attach('transitions', perLb)
      ctx.attach('failed', load.attempts.filter(a => !a.ok).slice(0, 200))
      return [
        check(
          'smallest gap between transitions of r1',
          `≥ min(rise,fall)×interval×(1-jitter)-10 = ${ms(minGapMs)}`,
          gaps.length === 0 ? 'no two transitions' : ms(smallestGap),
          smallestGap >= minGapMs,
        ),
        check(
          'transitions of r1 per LB',
          `≤ ${maxTransitions} in ${ms(flapMs)}`,
          counts.join(', '),
          counts.every(c => c <= maxTransitions),
        ),
        check(
          'failed connections',
          '0',
          describeFailures(all),
          all.every(a => a.ok),
        ),
      ]
    } finally {
      await load.stop()
      await topo.close()
    }
  },
}
