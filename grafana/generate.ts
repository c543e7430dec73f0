// Writes the dashboards-as-code to grafana/dashboards/*.json, the files Grafana
// provisioning loads (grafana/provisioning/dashboards/corral.yml).
//
//   npm run build && node dist/grafana/generate.js
//
// Output is stable (sorted keys, 2-space indent, trailing newline) so the committed JSON
// diffs cleanly and test/grafana/dashboards.test.ts can compare it byte for byte.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { buildOverviewDashboard } from './dashboards/overview.js'

/** The command that regenerates the committed dashboard JSON. */
export const REGENERATE_COMMAND = 'npm run build && node dist/grafana/generate.js'

/**
 * An absolute path inside the repository. The root is the nearest folder above this
 * module holding package.json, so the path is right from grafana/ (a TS loader) and
 * from dist/grafana/ (compiled) alike, whatever the cwd.
 */
export function repoPath(...segments: string[]): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir)
    if (parent === dir)
      throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`)
    dir = parent
  }
  return join(dir, ...segments)
}

/** Every generated dashboard, by file name under grafana/dashboards/. */
export function buildDashboards(): Record<string, unknown> {
  return { 'corral-overview.json': buildOverviewDashboard() }
}

/** A copy of JSON-like `value` with object keys sorted, recursively; functions dropped. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (typeof value !== 'object' || value === null) return value
  const sorted: Record<string, unknown> = {}
  for (const key of Object.keys(value).sort()) {
    const field: unknown = Reflect.get(value, key)
    if (typeof field !== 'function' && field !== undefined) sorted[key] = sortKeys(field)
  }
  return sorted
}

/** `value` as stable JSON text: sorted keys, 2-space indent, trailing newline. */
export function toStableJson(value: unknown): string {
  return `${JSON.stringify(sortKeys(value), null, 2)}\n`
}

/** Writes every dashboard into `dir` (default grafana/dashboards); returns the paths. */
export function writeDashboards(dir = repoPath('grafana', 'dashboards')): string[] {
  mkdirSync(dir, { recursive: true })
  return Object.entries(buildDashboards()).map(([name, dashboard]) => {
    const path = join(dir, name)
    writeFileSync(path, toStableJson(dashboard))
    return path
  })
}

// Run as a script (not when imported by tests or queries.ts).
const script = process.argv[1]
if (script !== undefined && import.meta.url === pathToFileURL(script).href) {
  for (const path of writeDashboards()) console.log(`wrote ${path}`)
}
