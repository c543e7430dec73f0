// Number formatting shared by the markdown report and the SVG chart. Pure.

import type { Summary } from './stats.js'

/** A number with thousands separators and a fixed number of decimals. */
export function formatNumber(value: number, digits: number): string {
  if (!Number.isFinite(value)) return String(value)
  return value.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  })
}

/** "10,821 (10,100–11,020)"; just the median when every round agreed or n = 1. */
export function formatSummary(s: Summary, digits: number): string {
  const med = formatNumber(s.median, digits)
  const min = formatNumber(s.min, digits)
  const max = formatNumber(s.max, digits)
  if (s.n === 1 || min === max) return med
  return `${med} (${min}–${max})`
}

/** "0.68×"; "–" when there is no ratio. */
export function formatRatio(r: number | undefined): string {
  return r === undefined ? '–' : `${r.toFixed(2)}×`
}
