// Scenario 4: /health slower than the probe timeout, through a Toxiproxy latency toxic on
// the health path only (each member's health listener port has its own proxy). The
// member is evicted, the data path keeps working, removing the toxic readmits it; then a
// jittery health latency near (below) the timeout must not flap beyond a bound.
import { CHAOS_HEALTH } from '../corral/config.js'
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
  startWithLoad,
  type Scenario,
} from '../scenario.js'

/** See the file comment. */
export const slowHealth: Scenario = {
  number: 4,
  name: 'slow-health',
  title: '/health slower than the timeout (latency on the health path only)',
  async run(ctx) {
    const { topo, load } = await startWithLoad(ctx)
    try {
      const h = CHAOS_HEALTH
      await hold(ctx.soak ? 10_000 : 2_000)
      const slowAt = Date.now()
      const latency = h.timeoutMs + 500
      ctx.log(`latency ${latency} ms on r1's health path`)
      await topo.addToxic('r1', ['health'], {
        name: 'slow-health',
        type: 'latency',
        stream: 'downstream',
        attributes: { latency, jitter: 0 },
      })
      const evictions = await Promise.all(
        topo.lbs.map(lb => lb.waitForChange('r1', 'down', slowAt, 15_000)),
      )
      await hold(ctx.soak ? 10_000 : 2_000)
      const fixedAt = Date.now()
      ctx.log('toxic removed')
      await topo.removeToxic('r1', ['health'], 'slow-health')
      const readmissions = await Promise.all(
        topo.lbs.map(lb => lb.waitForChange('r1', 'up', fixedAt, 15_000)),
      )
      const evictMs = Math.max(...evictions.map(e => e.timeMs - slowAt))
      const readmitMs = Math.max(...readmissions.map(e => e.timeMs - fixedAt))

      // Jitter phase: latency spread over [timeout/2 - jitter, timeout/2 + jitter] stays
      // below the timeout; only scheduling delay can push a probe over.
      const jitterLatency = Math.round(h.timeoutMs * 0.55)
      const jitter = Math.round(h.timeoutMs * 0.3)
      const jitterMs = ctx.soak ? 60_000 : 10_000
      const jitterAt = Date.now()
      ctx.log(
        `jittery latency ${jitterLatency}±${jitter} ms on r2's health path for ${jitterMs} ms`,
      )
      await topo.addToxic('r2', ['health'], {
        name: 'jittery-health',
        type: 'latency',
        stream: 'downstream',
        attributes: { latency: jitterLatency, jitter },
      })
      await hold(jitterMs)
      const jitterEnd = Date.now()
      await topo.removeToxic('r2', ['health'], 'jittery-health')
      await load.stop()
      const flaps = topo.lbs.map(
        lb =>
          lb.changes.filter(
            c => c.member === 'r2' && c.timeMs >= jitterAt && c.timeMs < jitterEnd,
          ).length,
      )
      // At most one eviction + readmission per LB per 10 s of near-timeout latency.
      const flapBudget = 2 * Math.ceil(jitterMs / 10_000)
      const all = between(load.attempts, 0, Date.now())
      ctx.attach('events', {
        slowAt,
        evictions,
        fixedAt,
        readmissions,
        jitterAt,
        jitterEnd,
        flaps,
      })
      ctx.attach('failed', load.attempts.filter(a => !a.ok).slice(0, 200))
      return [
        check(
          `evicted with ${latency} ms health latency (slowest LB)`,
          evictionByTimeoutFormula(h),
          ms(evictMs),
          evictMs <= evictionByTimeoutBudgetMs(h),
        ),
        check(
          'readmitted after the toxic is removed (slowest LB)',
          readmitFormula(h),
          ms(readmitMs),
          readmitMs <= readmitBudgetMs(h),
        ),
        check(
          `transitions of r2 under ${jitterLatency}±${jitter} ms health latency, per LB`,
          `≤ ${flapBudget} in ${ms(jitterMs)}`,
          flaps.join(', '),
          flaps.every(f => f <= flapBudget),
        ),
        check(
          'failed connections (health path only was slow)',
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
