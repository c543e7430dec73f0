// Issue #19's targets (ship the fast path): the native path at least 1.4x HAProxy's bulk
// rate both ways at 0.6x its CPU per GB, 1.1x its new-connection and keep-alive rates;
// the JS path at least half HAProxy's new-connection rate and the naive Node relay's, and
// 0.9x its bulk rate both ways. Each is shown with every round's own ratio. The registry
// targets (push and pull <= 1.0x HAProxy on the default path) are #13's rows for
// corral-native. Pure data.

import type { SystemName, WorkloadId } from './catalog.js'
import type { DataPathTarget, Op } from './targets.js'

const BULK: readonly WorkloadId[] = ['bulk-1', 'bulk-8', 'bulk-1-down', 'bulk-8-down']

const BULK_WHAT: Readonly<Partial<Record<WorkloadId, string>>> = {
  'bulk-1': 'bulk 1 stream up',
  'bulk-8': 'bulk 8 streams up',
  'bulk-1-down': 'bulk 1 stream down',
  'bulk-8-down': 'bulk 8 streams down',
}

function target(
  subject: 'corral' | 'corral-native',
  workload: WorkloadId,
  metric: string,
  op: Op,
  threshold: number,
  what: string,
  baseline: SystemName = 'haproxy',
): DataPathTarget {
  const path = subject === 'corral' ? 'JS' : 'native'
  const versus = baseline === 'haproxy' ? 'HAProxy' : `the ${baseline} relay`
  return {
    id: `#19-${subject}-${workload}-${metric}-${baseline}`,
    label: `${path} ${what} vs ${versus}`,
    workload,
    metric,
    baseline,
    op,
    threshold,
    unit: '×',
    issue: '#19',
    subject,
    everyRound: false,
  }
}

/** Issue #19's targets, in the order the issue lists them. */
export const FAST_PATH_TARGETS: readonly DataPathTarget[] = [
  ...BULK.flatMap(w => [
    target('corral-native', w, 'gbps', '>=', 1.4, BULK_WHAT[w] ?? w),
    target('corral-native', w, 'cpuSPerGB', '<=', 0.6, `${BULK_WHAT[w] ?? w} CPU per GB`),
  ]),
  target('corral-native', 'conn-close', 'rps', '>=', 1.1, 'new connections/s'),
  target('corral-native', 'conn-close', 'cpuUsPerReq', '<=', 1.0, 'CPU per connection'),
  target('corral-native', 'conn-close', 'p99Ms', '<=', 1.0, 'new connection p99'),
  target('corral-native', 'keep-alive', 'rps', '>=', 1.1, 'keep-alive req/s'),
  target('corral', 'conn-close', 'rps', '>=', 0.5, 'new connections/s'),
  target('corral', 'conn-close', 'rps', '>=', 1.0, 'new connections/s', 'naive'),
  ...BULK.map(w => target('corral', w, 'gbps', '>=', 0.9, BULK_WHAT[w] ?? w)),
]
