// After a --profile run: each CPU profile corral wrote becomes a summary (markdown, kept
// in the results JSON so --report-from can render it again) and a flame graph SVG next
// to the profile.

import { writeFileSync } from 'node:fs'
import { basename } from 'node:path'
import { renderFlameGraph } from './flamegraph.js'
import {
  foldStacks,
  readProfile,
  renderSummaryMarkdown,
  summarizeProfile,
} from './profile-summary.js'
import type { ProfileReport } from './results.js'

/** Startup (module loading, config parsing, JIT warm-up of the first requests) left out. */
export const PROFILE_SKIP_MS = 1_500
/** Below this share of busy samples a profile is an idle process (a cluster primary). */
export const BUSY_PCT_FOR_SUMMARY = 5

/**
 * Summarises each profile and writes `<profile>.svg` beside it; `display` turns a path
 * into the form the report shows. A profile that cannot be read is reported, not thrown.
 */
export function reportProfiles(
  paths: readonly string[],
  display: (path: string) => string,
): ProfileReport[] {
  return paths.map(path => {
    const profile = display(path)
    try {
      const cpu = readProfile(path)
      const summary = summarizeProfile(cpu, { skipMs: PROFILE_SKIP_MS, top: 12 })
      const busyPct = summary.totalMs > 0 ? (100 * summary.busyMs) / summary.totalMs : 0
      const svgPath = `${path}.svg`
      writeFileSync(
        svgPath,
        renderFlameGraph(foldStacks(cpu, PROFILE_SKIP_MS), { title: basename(path) }),
      )
      return {
        profile,
        flameGraph: display(svgPath),
        busyPct,
        markdown:
          busyPct >= BUSY_PCT_FOR_SUMMARY
            ? renderSummaryMarkdown(summary, basename(path))
            : undefined,
      }
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err)
      return {
        profile,
        flameGraph: undefined,
        busyPct: undefined,
        markdown: undefined,
        error,
      }
    }
  })
}
