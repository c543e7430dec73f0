// The chaos table: one row per check (scenario, budget, measured, verdict), and a
// scenario that errored as one row naming the error.
import type { Check } from './scenario.js'

/** A scenario's outcome as written to the JSON report. */
export interface ScenarioReport {
  readonly number: number
  readonly name: string
  readonly title: string
  readonly verdict: 'pass' | 'fail' | 'error'
  readonly error?: string
  readonly checks: readonly Check[]
  readonly durationMs: number
  /** What the scenario attached: failed attempts, samples, event times. */
  readonly details?: Readonly<Record<string, unknown>>
}

/** A Markdown table (it reads fine in a terminal and pastes into the README). */
export function formatTable(reports: readonly ScenarioReport[]): string {
  const rows: string[][] = []
  for (const r of reports) {
    const label = `${r.number}. ${r.name}`
    if (r.error !== undefined) rows.push([label, '-', `error: ${r.error}`, 'ERROR'])
    for (const c of r.checks) {
      rows.push([`${label}: ${c.name}`, c.budget, c.measured, c.pass ? 'pass' : 'FAIL'])
    }
  }
  const header = ['scenario', 'budget', 'measured', 'verdict']
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)),
  )
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`
  return [line(header), line(widths.map(w => '-'.repeat(w))), ...rows.map(line)].join(
    '\n',
  )
}
