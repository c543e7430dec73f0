// Bulk throughput: iperf3 through the proxy, 1 or 8 streams, client → member (upload) or
// member → client (iperf3 -R: download, the direction of a registry pull).

import { Backends, startIperfServer } from '../backends.js'
import type { RunContext } from '../context.js'
import { freePort } from '../ports.js'
import { measureCpu } from '../proc-stats.js'
import { startSystem } from '../systems.js'
import { runIperf, type IperfDirection } from '../tools/iperf3.js'
import { corePercent, perGigabyte, type Metrics, type Workload } from './workload.js'

/** What a smoke run sends (iperf3 -n): enough to exercise the path, well under a second. */
export const SMOKE_BYTES = '256M'

/** The bulk workload with `streams` parallel TCP streams moving bytes `direction`. */
export function bulkWorkload(
  id: 'bulk-1' | 'bulk-8' | 'bulk-1-down' | 'bulk-8-down',
  streams: number,
  direction: IperfDirection,
): Workload {
  return {
    id,
    timeoutMs: durationS => (2 * durationS + 60) * 1000,
    unavailable: env => (env.tools.iperf3 === undefined ? 'iperf3 not found' : undefined),
    run: ctx => runBulk(ctx, streams, direction),
  }
}

async function runBulk(
  ctx: RunContext,
  streams: number,
  direction: IperfDirection,
): Promise<Metrics> {
  const iperf3 = ctx.env.tools.iperf3
  if (iperf3 === undefined) throw new Error('iperf3 not found')
  // iperf3 -s does not answer HTTP, so checks go to a separate /health server.
  const health = await Backends.start(ctx, [{ kind: 'http' }])
  const server = await startIperfServer(ctx, iperf3)
  const system = await startSystem(ctx.system, ctx, {
    listenPort: await freePort(),
    members: [{ id: 'm1', port: server.port }],
    healthPort: health.port(0),
    maxConnections: 1_000,
  })
  const load = { port: system.port, streams, direction, record: false }
  if (!ctx.smoke) await runIperf(ctx, iperf3, { ...load, amount: { seconds: 1 } }) // JIT warm-up
  const amount = ctx.smoke ? { bytes: SMOKE_BYTES } : { seconds: ctx.durationS }
  const { result, cpuSeconds, minorFaults, wallSeconds } = await measureCpu(
    system.pid,
    () => runIperf(ctx, iperf3, { ...load, amount, record: true }),
  )
  const metrics: Record<string, number> = { gbps: result.bitsPerSecond / 1e9 }
  if (system.pid !== undefined) {
    metrics.proxyCpuPct = corePercent(cpuSeconds, wallSeconds)
    Object.assign(metrics, perGigabyte(result.bytes, cpuSeconds, minorFaults))
  }
  return metrics
}
