// The bench's regression guard (issue #19): each workload's ratio to its baseline
// (corral / HAProxy in the same run) against the same ratio in the previous committed
// report, bench/results/latest.json. Ratios, not absolute numbers: the machine and its
// load change between runs, a same-run ratio much less. Pure: results in, verdicts out.

import { WORKLOADS } from './catalog.js'
import { formatRatio } from './format.js'
import type { BenchResult, Regression, RegressionCheck } from './results.js'
import { ratio } from './stats.js'
import { summarizeSamples } from './summary.js'

/**
 * A ratio that gets more than this much worse (15%) is flagged. The JS path's new
 * connections went from 0.40× to 0.35× HAProxy between two reports and nothing noticed.
 */
export const REGRESSION_THRESHOLD = 0.15

/**
 * Compares every ratio metric of every workload both runs measured: for each system, its
 * median over its workload's first baseline's median. A drop is measured in the metric's
 * better direction (req/s down, CPU per GB or p99 up). Runs of different modes (smoke
 * against full) are not compared: a smoke run's tiny transfers say nothing about speed.
 */
export function checkRegressions(
  previous: BenchResult,
  current: BenchResult,
  threshold = REGRESSION_THRESHOLD,
): RegressionCheck {
  if (previous.mode !== current.mode)
    return {
      status: 'skipped',
      reason: `the previous report is a ${previous.mode} run, this one a ${current.mode} run`,
    }
  const before = summarizeSamples(previous.samples)
  const now = summarizeSamples(current.samples)
  const regressions: Regression[] = []
  let compared = 0
  for (const w of WORKLOADS) {
    const baseline = w.baselines[0]
    if (baseline === undefined) continue
    for (const m of w.metrics.filter(m => m.ratio)) {
      for (const system of w.systems.filter(s => s !== baseline)) {
        const prev = ratio(
          before.median(w.id, m.id, system),
          before.median(w.id, m.id, baseline),
        )
        const cur = ratio(
          now.median(w.id, m.id, system),
          now.median(w.id, m.id, baseline),
        )
        if (prev === undefined || cur === undefined) continue
        compared++
        const kept = m.better === 'higher' ? cur / prev : prev / cur
        const drop = 1 - kept
        if (drop > threshold)
          regressions.push({
            workload: w.id,
            metric: m.id,
            system,
            baseline,
            previous: prev,
            current: cur,
            drop,
          })
      }
    }
  }
  return {
    status: 'compared',
    against: previous.startedAt,
    threshold,
    compared,
    regressions,
  }
}

/** "conn-close rps corral ÷ haproxy: 0.40× → 0.34× (15% worse)". */
export function describeRegression(r: Regression): string {
  return (
    `${r.workload} ${r.metric} ${r.system} ÷ ${r.baseline}: ` +
    `${formatRatio(r.previous)} → ${formatRatio(r.current)} (${(r.drop * 100).toFixed(0)}% worse)`
  )
}

/** Console lines for a check (the report has its own section). */
export function regressionLines(check: RegressionCheck): string[] {
  if (check.status === 'skipped') return [`regression guard: not run (${check.reason})`]
  const pct = `${(check.threshold * 100).toFixed(0)}%`
  if (check.regressions.length === 0)
    return [
      `regression guard: no ratio dropped more than ${pct} against the report of ` +
        `${check.against} (${check.compared} compared)`,
    ]
  return [
    `regression guard: ${check.regressions.length} of ${check.compared} ratios dropped ` +
      `more than ${pct} against the report of ${check.against}:`,
    ...check.regressions.map(r => `  ${describeRegression(r)}`),
  ]
}

/** The report's section: a table of the drops, or one line saying there were none. */
export function regressionSection(check: RegressionCheck | undefined): string[] {
  if (check === undefined) return []
  const lines = ['## Regressions against the previous report', '']
  if (check.status === 'skipped') return [...lines, `Not checked: ${check.reason}.`, '']
  const pct = `${(check.threshold * 100).toFixed(0)}%`
  if (check.regressions.length === 0)
    return [
      ...lines,
      `No ratio dropped more than ${pct} against the report of ${check.against} ` +
        `(${check.compared} compared).`,
      '',
    ]
  return [
    ...lines,
    `**${check.regressions.length} of ${check.compared} ratios dropped more than ${pct}** ` +
      `against the report of ${check.against} (system ÷ baseline medians, each run's own):`,
    '',
    '| workload | metric | system ÷ baseline | previous | now | worse by |',
    '|---|---|---|---|---|---|',
    ...check.regressions.map(
      r =>
        `| ${r.workload} | ${r.metric} | ${r.system} ÷ ${r.baseline} | ` +
        `${formatRatio(r.previous)} | ${formatRatio(r.current)} | ${(r.drop * 100).toFixed(0)}% |`,
    ),
    '',
  ]
}
