// Building blocks of the config schema: strict mappings, durations and bounded integers,
// each with the "expected …" wording that format-issues.ts completes with what was found.
import { z } from 'zod'
import { parseDurationMs } from './duration.js'

// Node timers overflow above 2^31-1 ms (about 596.5h) and then fire after 1ms instead.
const MAX_DURATION_MS = 596 * 3_600_000

/** A strict object whose wrong-type error reads "expected <what>". */
export function mapping<T extends z.core.$ZodLooseShape>(shape: T, what: string) {
  return z.strictObject(shape, {
    error: issue => (issue.code === 'invalid_type' ? `expected ${what}` : undefined),
  })
}

/** A duration string ("250ms", "2s", "1m", "1h") resolved to milliseconds. */
export function duration(minMs = 0) {
  return z
    .string({ error: 'expected a duration such as "250ms", "2s" or "1m"' })
    .transform((text, ctx) => {
      const ms = parseDurationMs(text)
      if (ms === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: 'expected a duration such as "250ms", "2s" or "1m"',
          input: text,
        })
        return z.NEVER
      }
      if (ms < minMs) {
        ctx.addIssue({
          code: 'custom',
          message: `expected at least ${minMs}ms`,
          input: text,
        })
        return z.NEVER
      }
      if (ms > MAX_DURATION_MS) {
        ctx.addIssue({ code: 'custom', message: 'expected at most 596h', input: text })
        return z.NEVER
      }
      return ms
    })
}

export function integer(min: number, max: number) {
  const error = `expected an integer ${min}-${max}`
  return z.int({ error }).min(min, { error }).max(max, { error })
}

/** A TCP port number. */
export const portSchema = integer(1, 65535)
