// Renders docs/benchmarks.svg: one bar per (target, system), measured against the
// target's threshold. Hand-written SVG, no dependencies. Pure.

import { formatJudged, VERDICT_SYSTEMS } from './report.js'
import type { BenchResult } from './results.js'
import { summarizeSamples } from './summary.js'
import { TARGETS, describeTarget, judge, type Target } from './targets.js'
import { escapeXml } from './svg.js'

const WIDTH = 760
const LABEL_W = 90
const BAR_W = 520
const ROW_H = 18
const GROUP_GAP = 12
const TOP = 56
/** Bars are drawn on a scale of 0 to this many times the target's threshold. */
const SCALE_MAX = 2

const COLORS = { met: '#2e7d32', missed: '#c62828', reference: '#9e9e9e' } as const

/**
 * The chart of one run. Relative targets plot the ratio to their baseline system
 * (HAProxy, or corral-nometrics for the metrics cost); absolute ones
 * plot value / limit, so the dashed target line always sits at 1× its threshold.
 */
export function renderChart(result: BenchResult): string {
  const summaries = summarizeSamples(result.samples)
  const ran = new Set(result.samples.map(s => s.workload))
  // A threshold of 0 (reload errors) has no scale; the markdown table reports it.
  const targets = TARGETS.filter(t => ran.has(t.workload) && t.threshold > 0)
  const body: string[] = []
  let y = TOP
  for (const t of targets) {
    // The target's name on its own line, then one bar per system.
    body.push(text(12, y + ROW_H - 4, `${t.label} (${describeTarget(t)})`, 'label'))
    y += ROW_H
    const groupTop = y
    const groupStart = body.length
    for (const system of VERDICT_SYSTEMS) {
      const v = judge(t, system, summaries.median)
      body.push(text(LABEL_W - 8, y + 13, system, 'sys'))
      if (v.status === 'not-measured') {
        body.push(text(LABEL_W + 4, y + 13, 'not measured', 'note'))
      } else {
        const fraction = v.value / t.threshold
        const w = Math.max(1, (Math.min(fraction, SCALE_MAX) / SCALE_MAX) * BAR_W)
        const color = system === 'corral' ? COLORS[v.status] : COLORS.reference
        body.push(
          `<rect x="${LABEL_W}" y="${y + 2}" width="${w.toFixed(1)}" height="${ROW_H - 4}" fill="${color}"/>`,
        )
        const over = fraction > SCALE_MAX ? ' ▸' : ''
        body.push(text(LABEL_W + w + 4, y + 13, `${valueText(t, v.value)}${over}`, 'val'))
      }
      y += ROW_H
    }
    const x = LABEL_W + BAR_W / SCALE_MAX
    // Drawn under the group's bars and labels.
    body.splice(
      groupStart,
      0,
      `<line x1="${x}" y1="${groupTop}" x2="${x}" y2="${y}" stroke="#000" stroke-dasharray="4 2"/>`,
    )
    y += GROUP_GAP
  }
  if (targets.length === 0) {
    body.push(text(12, y + 14, 'no targets measured in this run', 'note'))
    y += ROW_H + GROUP_GAP
  }
  const height = y + 24
  const legendY = 38
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    '<style>.label{font-weight:bold}.sys{text-anchor:end}.note{fill:#757575;font-style:italic}.title{font-size:15px;font-weight:bold}</style>',
    '<rect width="100%" height="100%" fill="#fff"/>',
    text(
      12,
      20,
      `corral benchmarks: measured vs targets (${result.finishedAt})`,
      'title',
    ),
    legend(12, legendY),
    ...body,
    text(
      12,
      height - 8,
      'Dashed line = target. Relative targets: ratio to the named system; absolute: value / limit. Bars clipped at 2×.',
      'note',
    ),
    '</svg>',
    '',
  ].join('\n')
}

function legend(x: number, y: number): string {
  const items: [string, string][] = [
    [COLORS.met, 'corral, target met'],
    [COLORS.missed, 'corral, target missed'],
    [COLORS.reference, 'naive Node proxy (reference)'],
  ]
  return items
    .map(([color, label], i) => {
      const ix = x + i * 200
      return (
        `<rect x="${ix}" y="${y - 10}" width="12" height="12" fill="${color}"/>` +
        text(ix + 16, y, label, '')
      )
    })
    .join('')
}

function valueText(t: Target, value: number): string {
  return formatJudged(t, value)
}

function text(x: number, y: number, content: string, cls: string): string {
  const attr = cls === '' ? '' : ` class="${cls}"`
  return `<text x="${x}" y="${y}"${attr}>${escapeXml(content)}</text>`
}
