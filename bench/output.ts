// Writes a run's results JSON and the docs rendered from it.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { renderChart } from './chart.js'
import { renderMarkdown } from './report.js'
import type { BenchResult } from './results.js'

/** File names of the rendered docs. */
export const DOC_FILES = { markdown: 'benchmarks.md', chart: 'benchmarks.svg' } as const

/** Writes `<outDir>/bench-<time>.json` and `<outDir>/latest.json`; returns the first. */
export function writeResultJson(outDir: string, result: BenchResult): string {
  mkdirSync(outDir, { recursive: true })
  const stamp = result.startedAt.replace(/[:.]/g, '-')
  const path = join(outDir, `bench-${stamp}.json`)
  const text = JSON.stringify(result, null, 2) + '\n'
  writeFileSync(path, text)
  writeFileSync(join(outDir, 'latest.json'), text)
  return path
}

/** Renders benchmarks.md and benchmarks.svg into `docsDir`; returns their paths. */
export function writeDocs(docsDir: string, result: BenchResult): string[] {
  mkdirSync(docsDir, { recursive: true })
  const md = join(docsDir, DOC_FILES.markdown)
  const svg = join(docsDir, DOC_FILES.chart)
  writeFileSync(md, renderMarkdown(result, { chartFile: DOC_FILES.chart }))
  writeFileSync(svg, renderChart(result))
  return [md, svg]
}

/** Reads a results JSON written by writeResultJson. */
export function readResultJson(path: string): BenchResult {
  const doc: unknown = JSON.parse(readFileSync(path, 'utf8'))
  if (!isBenchResult(doc))
    throw new Error(`${path}: not a corral bench results file (version 1)`)
  return doc
}

// Shallow check: the file is ours and of this version; the harness wrote every field.
function isBenchResult(doc: unknown): doc is BenchResult {
  return (
    typeof doc === 'object' &&
    doc !== null &&
    'version' in doc &&
    doc.version === 1 &&
    'samples' in doc &&
    Array.isArray(doc.samples)
  )
}
