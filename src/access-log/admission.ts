// Which records are written: errors always; normal ones sampled, and skipped when they
// carried no byte (port scans, load balancer probes); then a per-process lines-per-second
// cap over everything. Pure: time and the random draw are arguments.

/** Volume settings (the accessLog config keys of the same names). */
export interface AdmissionOptions {
  /** Share 0-1 of normal records kept. */
  readonly sample: number
  readonly skipEmpty: boolean
  /** 0 = no cap. */
  readonly maxLinesPerSecond: number
}

/** What became of a record. */
export type Admission = 'write' | 'sampled' | 'empty' | 'rate'

/** The cap's token bucket: up to one second's lines, refilled continuously. */
export interface RateBucket {
  tokens: number
  at: number
}

/** A full bucket at `now` (monotonic ms). */
export function newBucket(options: AdmissionOptions, now: number): RateBucket {
  return { tokens: options.maxLinesPerSecond, at: now }
}

/**
 * Decides one record. `error`: the connection did not end normally; `bytes`: both
 * directions summed; `draw`: uniform in [0, 1). Takes a token from `bucket` on "write".
 */
export function admit(
  options: AdmissionOptions,
  bucket: RateBucket,
  record: { readonly error: boolean; readonly bytes: number },
  now: number,
  draw: number,
): Admission {
  if (!record.error) {
    if (options.skipEmpty && record.bytes === 0) return 'empty'
    if (draw >= options.sample) return 'sampled'
  }
  const cap = options.maxLinesPerSecond
  if (cap === 0) return 'write'
  bucket.tokens = Math.min(cap, bucket.tokens + ((now - bucket.at) * cap) / 1000)
  bucket.at = now
  if (bucket.tokens < 1) return 'rate'
  bucket.tokens -= 1
  return 'write'
}
