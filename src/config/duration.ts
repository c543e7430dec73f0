const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const
const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/

/**
 * Parses a duration such as "250ms", "2s", "1.5m" or "1h" into milliseconds.
 * Returns undefined for anything else (the caller names the key in its error).
 */
export function parseDurationMs(text: string): number | undefined {
  const match = DURATION_RE.exec(text.trim())
  if (!match) return undefined
  const [, amount, unit] = match
  if (amount === undefined || unit === undefined) return undefined
  return Math.round(Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS])
}

/** Formats milliseconds as the shortest exact duration string ("1500ms", "2s", "5m"). */
export function formatDurationMs(ms: number): string {
  if (ms !== 0 && ms % UNIT_MS.h === 0) return `${ms / UNIT_MS.h}h`
  if (ms !== 0 && ms % UNIT_MS.m === 0) return `${ms / UNIT_MS.m}m`
  if (ms !== 0 && ms % UNIT_MS.s === 0) return `${ms / UNIT_MS.s}s`
  return `${ms}ms`
}
