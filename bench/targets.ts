// The performance targets of issue #5 and how a measured median is judged against them.
// Pure: takes medians, returns verdicts.

import type { SystemName, WorkloadId } from './catalog.js'
import { ratio } from './stats.js'

/** Comparison a target asks for. */
export type Op = '>=' | '<=' | '<'

/** A goal for one metric: absolute, or relative to another system in the same run. */
export interface Target {
  readonly id: string
  readonly label: string
  readonly workload: WorkloadId
  readonly metric: string
  /** When set, the value judged is subject / baseline (medians of the same run). */
  readonly baseline?: SystemName
  readonly op: Op
  readonly threshold: number
  /** Unit of the judged value ("×" for ratios). */
  readonly unit: string
}

/** The targets of issue #5, and the metrics-cost one. */
export const TARGETS: readonly Target[] = [
  relative('bulk-1', 'bulk-1', 'gbps', '>=', 1.0, 'bulk 1 stream'),
  relative('bulk-8', 'bulk-8', 'gbps', '>=', 1.0, 'bulk 8 streams'),
  relative('conn-close-rps', 'conn-close', 'rps', '>=', 0.9, 'new connections/s'),
  relative('conn-close-p99', 'conn-close', 'p99Ms', '<=', 1.5, 'new connection p99'),
  relative('keep-alive-rps', 'keep-alive', 'rps', '>=', 1.0, 'keep-alive req/s'),
  relative('keep-alive-p99', 'keep-alive', 'p99Ms', '<=', 1.5, 'keep-alive p99'),
  {
    id: 'idle-memory',
    label: 'memory per idle relayed connection',
    workload: 'idle-memory',
    metric: 'kibPerConn',
    op: '<=',
    threshold: 10,
    unit: 'KiB',
  },
  {
    id: 'health-cost',
    label: 'health checking, many members at 1 s',
    workload: 'health-cost',
    metric: 'cpuPct',
    op: '<',
    threshold: 5,
    unit: '% of a core',
  },
  metricsCost('metrics-cost-close-rps', 'metrics-cost-close', 'new connections/s'),
  metricsCost('metrics-cost-keepalive-rps', 'metrics-cost-keepalive', 'keep-alive req/s'),
  {
    id: 'reload-errors',
    label: 'errors during SIGHUP reload',
    workload: 'reload',
    metric: 'errors',
    op: '<=',
    threshold: 0,
    unit: 'errors',
  },
]

/** A data-path target (issues #13, #14 and #19), judged for corral on both data paths. */
export interface DataPathTarget extends Target {
  readonly issue: '#13' | '#14' | '#19'
  /** The system the target is about: the JS path (#13 was written for it) or native. */
  readonly subject: 'corral' | 'corral-native'
  /** Whether every round's own ratio must meet it, not only the median (#13's bulk). */
  readonly everyRound: boolean
}

function dataPath(
  issue: '#13' | '#14',
  subject: 'corral' | 'corral-native',
  workload: WorkloadId,
  metric: string,
  op: Op,
  threshold: number,
  what: string,
  everyRound = false,
): DataPathTarget {
  return {
    ...relative(
      `${issue}-${subject}-${workload}-${metric}`,
      workload,
      metric,
      op,
      threshold,
      what,
    ),
    issue,
    subject,
    everyRound,
  }
}

/**
 * Issue #13 (bulk transfers at HAProxy's speed; written for the JS path, reported for
 * both) and issue #14 (the native data path), against HAProxy in the same run.
 */
export const DATA_PATH_TARGETS: readonly DataPathTarget[] = (
  ['corral', 'corral-native'] as const
)
  .flatMap(subject => [
    dataPath('#13', subject, 'bulk-1', 'gbps', '>=', 1.0, 'bulk 1 stream', true),
    dataPath('#13', subject, 'bulk-8', 'gbps', '>=', 1.0, 'bulk 8 streams', true),
    dataPath('#13', subject, 'registry', 'pushS', '<=', 1.0, 'registry push time'),
    dataPath('#13', subject, 'registry', 'pullS', '<=', 1.0, 'registry pull time'),
    dataPath(
      '#13',
      subject,
      'bulk-1',
      'cpuSPerGB',
      '<=',
      1.0,
      'bulk 1 stream CPU per GB',
    ),
    dataPath(
      '#13',
      subject,
      'bulk-8',
      'cpuSPerGB',
      '<=',
      1.0,
      'bulk 8 streams CPU per GB',
    ),
    dataPath(
      '#13',
      subject,
      'registry',
      'pushCpuSPerGB',
      '<=',
      1.0,
      'registry push CPU per GB',
    ),
    dataPath(
      '#13',
      subject,
      'registry',
      'pullCpuSPerGB',
      '<=',
      1.0,
      'registry pull CPU per GB',
    ),
  ])
  .concat([
    dataPath('#14', 'corral-native', 'bulk-1', 'gbps', '>=', 1.3, 'native bulk 1 stream'),
    dataPath(
      '#14',
      'corral-native',
      'bulk-8',
      'gbps',
      '>=',
      1.3,
      'native bulk 8 streams',
    ),
    dataPath(
      '#14',
      'corral-native',
      'bulk-1',
      'cpuSPerGB',
      '<=',
      0.6,
      'native bulk 1 stream CPU per GB',
    ),
    dataPath(
      '#14',
      'corral-native',
      'bulk-8',
      'cpuSPerGB',
      '<=',
      0.6,
      'native bulk 8 streams CPU per GB',
    ),
    dataPath(
      '#14',
      'corral-native',
      'conn-close',
      'rps',
      '>=',
      1.0,
      'native new connections/s',
    ),
    dataPath(
      '#14',
      'corral-native',
      'conn-close',
      'p99Ms',
      '<=',
      1.0,
      'native new connection p99',
    ),
  ])

function relative(
  id: string,
  workload: WorkloadId,
  metric: string,
  op: Op,
  threshold: number,
  what: string,
): Target {
  return {
    id,
    label: `${what} vs HAProxy`,
    workload,
    metric,
    baseline: 'haproxy',
    op,
    threshold,
    unit: '×',
  }
}

/** Metrics may cost under 5% of throughput: req/s ≥ 0.95× the same corral without. */
function metricsCost(id: string, workload: WorkloadId, what: string): Target {
  return {
    id,
    label: `${what} with metrics vs without`,
    workload,
    metric: 'rps',
    baseline: 'corral-nometrics',
    op: '>=',
    threshold: 0.95,
    unit: '×',
  }
}

/** Outcome of judging one system against one target. */
export type Verdict =
  | {
      readonly status: 'met' | 'missed'
      readonly value: number
      /**
       * Distance to the threshold, positive = headroom, negative = shortfall: a
       * fraction of the threshold, or an absolute amount when the threshold is 0.
       */
      readonly margin: number
      readonly marginKind: 'fraction' | 'absolute'
    }
  | { readonly status: 'not-measured'; readonly reason: string }

/** Medians by system for one workload metric. */
export type MedianLookup = (
  workload: WorkloadId,
  metric: string,
  system: SystemName,
) => number | undefined

/** Judges `subject`'s median (or its ratio to the baseline's) against a target. */
export function judge(
  target: Target,
  subject: SystemName,
  medians: MedianLookup,
): Verdict {
  const own = medians(target.workload, target.metric, subject)
  if (own === undefined) return { status: 'not-measured', reason: `no ${subject} result` }
  let value = own
  if (target.baseline !== undefined) {
    const base = medians(target.workload, target.metric, target.baseline)
    const r = ratio(own, base)
    if (r === undefined) {
      return { status: 'not-measured', reason: `no ${target.baseline} result` }
    }
    value = r
  }
  const met = compare(value, target.op, target.threshold)
  const headroom =
    target.op === '>=' ? value - target.threshold : target.threshold - value
  if (target.threshold === 0) {
    return {
      status: met ? 'met' : 'missed',
      value,
      margin: headroom,
      marginKind: 'absolute',
    }
  }
  return {
    status: met ? 'met' : 'missed',
    value,
    margin: headroom / Math.abs(target.threshold),
    marginKind: 'fraction',
  }
}

/** Whether `value` meets `op threshold`. */
export function compare(value: number, op: Op, threshold: number): boolean {
  switch (op) {
    case '>=':
      return value >= threshold
    case '<=':
      return value <= threshold
    case '<':
      return value < threshold
    default: {
      const never: never = op
      throw new Error(`unknown op ${String(never)}`)
    }
  }
}

/** "met, 12% headroom" / "missed by 32%" / "missed by 3 errors" / "not measured: …". */
export function describeVerdict(v: Verdict, unit: string): string {
  if (v.status === 'not-measured') return `not measured (${v.reason})`
  const amount =
    v.marginKind === 'fraction'
      ? formatPercent(Math.abs(v.margin))
      : `${formatAmount(Math.abs(v.margin))} ${unit}`
  if (v.status === 'met') {
    return v.margin === 0 ? 'met (exactly at target)' : `met, ${amount} headroom`
  }
  return `missed by ${amount}`
}

/** A target as text: "≥ 0.9× HAProxy", "≤ 10 KiB", "< 5 % of a core". */
export function describeTarget(t: Target): string {
  const op = t.op === '>=' ? '≥' : t.op === '<=' ? '≤' : '<'
  if (t.baseline !== undefined) return `${op} ${t.threshold}× ${t.baseline}`
  return `${op} ${t.threshold} ${t.unit}`
}

function formatPercent(fraction: number): string {
  const pct = fraction * 100
  return `${pct < 10 ? pct.toFixed(1) : pct.toFixed(0)}%`
}

function formatAmount(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2)
}
