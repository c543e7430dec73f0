// The access log's counters and failure log line in the process that writes it.
import type { Logger } from 'pino'
import type { DataPathMetrics } from '../metrics/data-path-families.js'
import type { AccessLogDeps } from './access-log.js'

/** How often a failing destination is logged: it is retried every 50 ms. */
const FAILURE_LOG_MS = 60_000

/** Counts written and dropped lines on `metrics`; logs a failing destination once a minute. */
export function accessLogEvents(
  metrics: DataPathMetrics,
  log: Logger,
): Pick<AccessLogDeps, 'written' | 'dropped' | 'failed'> {
  let loggedAt = -Infinity
  return {
    written: () => {
      metrics.accessLogLines.inc()
    },
    dropped: reason => {
      metrics.accessLogDropped.inc({ reason })
    },
    failed: err => {
      if (Date.now() - loggedAt < FAILURE_LOG_MS) return
      loggedAt = Date.now()
      log.error(
        { err },
        'access log destination failed: lines wait in memory, then are dropped',
      )
    },
  }
}
