// Scenario 6: long-lived streams through bandwidth + slicer + slow_close on every
// replica's data path (downstream). corral's memory stays bounded (it must apply
// back-pressure, not buffer what the slow side cannot take) and every stream arrives
// byte-exact.
import { treeRssBytes } from '../rss.js'
import { check, hold, startWithLoad, type Scenario } from '../scenario.js'

const MiB = 1024 * 1024
/** Most RSS growth of one LB (primary + workers) over its idle baseline. */
const RSS_GROWTH_BUDGET = 64 * MiB

/** See the file comment. */
export const slowStreams: Scenario = {
  number: 6,
  name: 'slow-streams',
  title: 'bandwidth + slicer + slow_close on streams',
  async run(ctx) {
    const { topo, load } = await startWithLoad(ctx, {}, { ratePerSec: 5 })
    try {
      const ids = topo.replicas.map(r => r.id)
      const rate = 400 // KB/s per connection
      for (const id of ids) {
        await topo.addToxic(id, ['http', 'https'], {
          name: 'bw',
          type: 'bandwidth',
          stream: 'downstream',
          attributes: { rate },
        })
        await topo.addToxic(id, ['http', 'https'], {
          name: 'slicer',
          type: 'slicer',
          stream: 'downstream',
          attributes: { average_size: 2_048, size_variation: 512, delay: 200 },
        })
        await topo.addToxic(id, ['http', 'https'], {
          name: 'slow-close',
          type: 'slow_close',
          stream: 'downstream',
          attributes: { delay: 300 },
        })
      }
      await hold(1_000)
      const baseline = topo.lbs.map(lb => treeRssBytes(lb.pid ?? 0))
      const peak = [...baseline]
      const sampler = setInterval(() => {
        topo.lbs.forEach((lb, i) => {
          peak[i] = Math.max(peak[i] ?? 0, treeRssBytes(lb.pid ?? 0))
        })
      }, 200)
      const count = ctx.soak ? 48 : 12
      const bytes = ctx.soak ? 8_000_000 : 1_000_000
      ctx.log(`${count} streams of ${bytes} bytes at ${rate} KB/s each`)
      const start = Date.now()
      // The replicas write fast (64 KiB every 5 ms): the toxics, not the source, pace it.
      load.startStreams(count, { bytes, chunk: 65_536, intervalMs: 5, timeoutMs: 60_000 })
      await load.settle()
      clearInterval(sampler)
      await load.stop()
      const tookMs = Date.now() - start
      const exact = load.streams.filter(s => s.ok)
      const growth = peak.map((p, i) => p - (baseline[i] ?? 0))
      ctx.attach('streams', load.streams)
      ctx.attach('rss', { baseline, peak })
      const failed = load.streams.filter(s => !s.ok)
      return [
        check(
          'streams complete byte-exact (sha-256)',
          `${count} of ${count}`,
          `${exact.length} of ${load.streams.length}${failed.length > 0 ? ` (${failed.map(f => f.cause ?? '?').join(', ')})` : ''}; ${Math.round(tookMs / 1000)} s`,
          exact.length === count,
        ),
        check(
          'RSS growth per LB (primary + workers)',
          `≤ ${RSS_GROWTH_BUDGET / MiB} MiB`,
          growth.map(g => `${(g / MiB).toFixed(1)} MiB`).join(', '),
          growth.every(g => g <= RSS_GROWTH_BUDGET),
        ),
        check(
          'short requests meanwhile',
          '0 failed',
          `${load.attempts.filter(a => !a.ok).length} of ${load.attempts.length} failed`,
          load.attempts.every(a => a.ok),
        ),
      ]
    } finally {
      await load.stop()
      await topo.close()
    }
  },
}
