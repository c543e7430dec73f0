// Metrics cost: the conn-close and keep-alive wrk loads through corral with metrics on
// and GET /metrics scraped every 1 s, and through corral-nometrics (histograms off).

import type { WorkloadId } from '../catalog.js'
import { Scraper } from '../scraper.js'
import { isCorral } from '../systems.js'
import { httpWorkload, measureWrk, type HttpMeasure } from './http-load.js'
import type { Metrics, Workload } from './workload.js'

/** How often corral's /metrics is scraped during the measured run (as Prometheus). */
export const SCRAPE_INTERVAL_MS = 1_000

/** The metrics-cost workload: `close` = a new TCP connection per request. */
export function metricsCostWorkload(id: WorkloadId, close: boolean): Workload {
  return httpWorkload(id, close, measureScraped)
}

/** measureWrk; for `corral` (metrics on) with /metrics scraped during the measured run. */
async function measureScraped(
  ...[ctx, system, connections, close]: Parameters<HttpMeasure>
): Promise<Metrics> {
  if (ctx.system !== 'corral') return measureWrk(ctx, system, connections, close)
  if (!isCorral(system)) throw new Error(`${ctx.system} has no admin API to scrape`)
  const scraper = new Scraper(`${system.adminUrl}/metrics`, SCRAPE_INTERVAL_MS)
  const metrics = await measureWrk(ctx, system, connections, close, work =>
    scraper.during(work),
  )
  const { scrapes, failures } = scraper.counts
  if (scrapes === 0) throw new Error(`no GET /metrics answered (${failures} failed)`)
  return { ...metrics, scrapes, scrapeFailures: failures }
}
