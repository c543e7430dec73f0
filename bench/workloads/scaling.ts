// Scaling: corral with 1 and 2 workers, the proxy allowed on every core.

import { Backends, startIperfServer } from '../backends.js'
import { freePort } from '../ports.js'
import { startSystem } from '../systems.js'
import { runIperf } from '../tools/iperf3.js'
import { KEEP_ALIVE_CONNECTIONS, measureWrk } from './http-load.js'
import { SMOKE_BYTES } from './bulk.js'
import type { Workload } from './workload.js'

/** The scaling workload (corral and corral-2w). */
export const scalingWorkload: Workload = {
  id: 'scaling',
  timeoutMs: durationS => (4 * durationS + 90) * 1000,
  unavailable: env => {
    if (env.tools.iperf3 === undefined) return 'iperf3 not found'
    return env.tools.wrk === undefined ? 'wrk not found' : undefined
  },
  run: async ctx => {
    const iperf3 = ctx.env.tools.iperf3
    if (iperf3 === undefined) throw new Error('iperf3 not found')
    const cpus = ctx.env.pin.all
    const backends = await Backends.start(ctx, [{ kind: 'http' }])
    const server = await startIperfServer(ctx, iperf3)
    const bulk = await startSystem(
      ctx.system,
      ctx,
      {
        listenPort: await freePort(),
        members: [{ id: 'm1', port: server.port }],
        healthPort: backends.port(0),
        maxConnections: 1_000,
      },
      { cpus },
    )
    const load = { port: bulk.port, streams: 8, record: false }
    if (!ctx.smoke) await runIperf(ctx, iperf3, { ...load, amount: { seconds: 1 } })
    const amount = ctx.smoke ? { bytes: SMOKE_BYTES } : { seconds: ctx.durationS }
    const { bitsPerSecond: bps } = await runIperf(ctx, iperf3, {
      ...load,
      amount,
      record: true,
    })
    await bulk.stop()
    const http = await startSystem(
      ctx.system,
      ctx,
      {
        listenPort: await freePort(),
        members: [{ id: 'm1', port: backends.port(0) }],
        healthPort: 'member',
        maxConnections: 1_000,
      },
      { cpus },
    )
    const ka = await measureWrk(ctx, http, KEEP_ALIVE_CONNECTIONS, false)
    return { bulk8Gbps: bps / 1e9, kaRps: ka.rps ?? NaN, kaP99Ms: ka.p99Ms ?? NaN }
  },
}
