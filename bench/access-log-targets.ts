// Issue #22's target: the access log on at full sampling costs at most 10% of the
// request rate, new connection per request and keep-alive, on each data path, against
// the same corral with the log off in the same run. Pure data.

import type { SystemName, WorkloadId } from './catalog.js'
import type { Target } from './targets.js'

/** An access-log target: `subject` (log on) against `baseline` (the same path, log off). */
export interface AccessLogTarget extends Target {
  readonly subject: SystemName
  readonly baseline: SystemName
}

const WHAT: Readonly<Partial<Record<WorkloadId, string>>> = {
  'access-log-close': 'new connections/s',
  'access-log-keepalive': 'keep-alive req/s',
}

function target(
  workload: WorkloadId,
  subject: SystemName,
  baseline: SystemName,
  path: string,
): AccessLogTarget {
  return {
    id: `#22-${workload}-${subject}`,
    label: `${path} ${WHAT[workload] ?? workload} with the access log vs without`,
    workload,
    metric: 'rps',
    subject,
    baseline,
    op: '>=',
    threshold: 0.9,
    unit: '×',
  }
}

/** Both workloads on both data paths: the default (native) first. */
export const ACCESS_LOG_TARGETS: readonly AccessLogTarget[] = (
  ['access-log-close', 'access-log-keepalive'] as const
).flatMap(w => [
  target(w, 'corral-native-log', 'corral-native', 'native'),
  target(w, 'corral-log', 'corral', 'JS'),
])
