// Summary statistics over benchmark rounds. Pure: numbers in, numbers out.

/** Median, min and max of one metric over the rounds it was measured in. */
export interface Summary {
  readonly median: number
  readonly min: number
  readonly max: number
  /** Number of rounds that produced a value. */
  readonly n: number
}

/** Median of a non-empty list (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of an empty list')
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  const upper = sorted[mid] ?? NaN
  if (sorted.length % 2 === 1) return upper
  return ((sorted[mid - 1] ?? NaN) + upper) / 2
}

/** Summarises the finite values of a list; undefined when there are none. */
export function summarize(values: readonly number[]): Summary | undefined {
  const finite = values.filter(v => Number.isFinite(v))
  if (finite.length === 0) return undefined
  return {
    median: median(finite),
    min: Math.min(...finite),
    max: Math.max(...finite),
    n: finite.length,
  }
}

/**
 * `value / baseline`, or undefined when either is missing or the baseline is 0
 * (a ratio to nothing is not a measurement).
 */
export function ratio(
  value: number | undefined,
  baseline: number | undefined,
): number | undefined {
  if (value === undefined || baseline === undefined) return undefined
  if (!Number.isFinite(value) || !Number.isFinite(baseline) || baseline === 0) {
    return undefined
  }
  return value / baseline
}
