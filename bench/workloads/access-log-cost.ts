// Access log cost (issue #22): the conn-close and keep-alive wrk loads through corral on
// each data path, with the access log off and on at full sampling to a file. The "-log"
// systems also report how many lines their log queued and dropped, read from /metrics
// after the run: a log that wrote nothing would make the comparison meaningless.

import type { WorkloadId } from '../catalog.js'
import { isCorral } from '../systems.js'
import { httpWorkload, measureWrk, type HttpMeasure } from './http-load.js'
import type { Metrics, Workload } from './workload.js'

/** The access-log-cost workload: `close` = a new TCP connection per request. */
export function accessLogCostWorkload(id: WorkloadId, close: boolean): Workload {
  return httpWorkload(id, close, measureLogged)
}

/** Lines the access log queued for writing, and lines it dropped, per /metrics. */
export interface AccessLogCounts {
  readonly lines: number
  readonly dropped: number
}

/** The access-log counters in a Prometheus exposition (absent = 0). */
export function accessLogCounts(exposition: string): AccessLogCounts {
  let lines = 0
  let dropped = 0
  for (const line of exposition.split('\n')) {
    const m = /^(corral_access_log_(?:lines|dropped)_total)(?:\{[^}]*\})? (\S+)$/.exec(
      line,
    )
    if (m === null) continue
    const value = Number(m[2])
    if (!Number.isFinite(value)) continue
    if (m[1] === 'corral_access_log_lines_total') lines += value
    else dropped += value
  }
  return { lines, dropped }
}

/** measureWrk; for the "-log" systems, with the log's line counts afterwards. */
async function measureLogged(
  ...[ctx, system, connections, close]: Parameters<HttpMeasure>
): Promise<Metrics> {
  const metrics = await measureWrk(ctx, system, connections, close)
  if (!ctx.system.endsWith('-log')) return metrics
  if (!isCorral(system)) throw new Error(`${ctx.system} has no admin API`)
  const res = await fetch(`${system.adminUrl}/metrics`, {
    signal: AbortSignal.timeout(5_000),
  })
  const { lines, dropped } = accessLogCounts(await res.text())
  if (lines === 0) throw new Error(`${ctx.system}: the access log queued no line`)
  return { ...metrics, logLines: lines, logDropped: dropped }
}
