import { performance } from 'node:perf_hooks'

/** A source of monotonic time in milliseconds; injected so pure code and tests control time. */
export interface Clock {
  now(): number
}

/** The process's monotonic clock (performance.now(): ms since process start, never jumps back). */
export const monotonicClock: Clock = { now: () => performance.now() }
