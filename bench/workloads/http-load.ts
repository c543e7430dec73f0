// HTTP request rate and latency through the proxy with wrk: a new connection per request
// (`Connection: close`) or keep-alive.

import { request } from 'node:http'
import { Backends } from '../backends.js'
import type { WorkloadId } from '../catalog.js'
import type { RunContext } from '../context.js'
import { freePort } from '../ports.js'
import { measureCpu } from '../proc-stats.js'
import { sleep, startSystem, type RunningSystem } from '../systems.js'
import { runWrk, type WrkResult } from '../tools/wrk.js'
import type { Metrics, Workload } from './workload.js'

/** Concurrent wrk connections for the new-connection-per-request workload. */
export const CLOSE_CONNECTIONS = 32
/** Concurrent wrk connections for the keep-alive workload (issue #5). */
export const KEEP_ALIVE_CONNECTIONS = 64

/** Measures wrk through a started system; measureWrk, or one that adds to it. */
export type HttpMeasure = (
  ctx: RunContext,
  system: RunningSystem,
  connections: number,
  close: boolean,
) => Promise<Metrics>

/** Runs the measured work (wrk) and resolves with its result; see measureWrk. */
export type Around = <T>(work: () => Promise<T>) => Promise<T>

/** The wrk workload: `close` = a new TCP connection per request. */
export function httpWorkload(
  id: WorkloadId,
  close: boolean,
  measure: HttpMeasure = measureWrk,
): Workload {
  const connections = close ? CLOSE_CONNECTIONS : KEEP_ALIVE_CONNECTIONS
  return {
    id,
    timeoutMs: durationS => (2 * durationS + 60) * 1000,
    unavailable: env => (env.tools.wrk === undefined ? 'wrk not found' : undefined),
    run: async ctx => {
      const backends = await Backends.start(ctx, [{ kind: 'http' }])
      const system = await startSystem(ctx.system, ctx, {
        listenPort: await freePort(),
        members: [{ id: 'm1', port: backends.port(0) }],
        healthPort: 'member',
        maxConnections: 1_000,
      })
      return measure(ctx, system, connections, close)
    },
  }
}

/**
 * Warms up, then runs wrk once while measuring the proxy's CPU; `around` wraps the
 * measured run (inside the CPU window) to do something while it lasts.
 */
export async function measureWrk(
  ctx: RunContext,
  system: RunningSystem,
  connections: number,
  close: boolean,
  around: Around = work => work(),
): Promise<Metrics> {
  const wrk = ctx.env.tools.wrk
  if (wrk === undefined) throw new Error('wrk not found')
  await expectHttpOk(system.port, 5_000)
  const load = { port: system.port, connections, close, record: false }
  if (!ctx.smoke) await runWrk(ctx, wrk, { ...load, durationS: 1 }) // warm-up (JIT)
  const { result, cpuSeconds } = await measureCpu(system.pid, () =>
    around(() => runWrk(ctx, wrk, { ...load, durationS: ctx.durationS, record: true })),
  )
  return wrkMetrics(result, system.pid === undefined ? undefined : cpuSeconds)
}

/** The metrics of a wrk result; CPU per request when the proxy's CPU time is known. */
export function wrkMetrics(r: WrkResult, cpuSeconds: number | undefined): Metrics {
  const metrics: Record<string, number> = {
    rps: r.rps,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    errors: r.socketErrors + r.non2xx,
  }
  if (cpuSeconds !== undefined && r.requests > 0) {
    metrics.cpuUsPerReq = (cpuSeconds * 1e6) / r.requests
  }
  return metrics
}

/** Retries GET / through `port` until it answers 200, for at most `timeoutMs`. */
export async function expectHttpOk(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = ''
  while (Date.now() < deadline) {
    const status = await getStatus(port).catch((err: unknown) => {
      last = err instanceof Error ? err.message : String(err)
      return 0
    })
    if (status === 200) return
    if (status !== 0) last = `status ${status}`
    await sleep(50)
  }
  throw new Error(
    `GET / through port ${port} did not return 200 within ${timeoutMs} ms: ${last}`,
  )
}

async function getStatus(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/', agent: false, timeout: 1_000 },
      res => {
        res.resume()
        res.on('end', () => {
          resolve(res.statusCode ?? 0)
        })
      },
    )
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', reject)
    req.end()
  })
}
