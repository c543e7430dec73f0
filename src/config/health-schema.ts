// Config key `health:` (also the sidecar's `health:`). Kept apart from schema.ts, which
// imports it. docs/config.md documents every key.
import { z } from 'zod'
import { nameSchema } from './listener-schema.js'
import { duration, integer, mapping, portSchema } from './primitives.js'
import { healthProxyProtocolShape } from './proxy-protocol-schema.js'

// RFC 9110 token characters; undici rejects any other header name at probe time.
const HEADER_NAME_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

const tlsSchema = mapping(
  {
    /** Skip certificate verification of the member's /health endpoint. Default false. */
    insecure: z.boolean({ error: 'expected true or false' }).default(false),
    /** PEM file with the CA that signed the members' certificates. */
    ca: z.string({ error: 'expected a file path' }).optional(),
    /** Name to send as SNI and verify the certificate against. */
    servername: z.string({ error: 'expected a hostname' }).optional(),
  },
  'a mapping',
).prefault({})

/** "2xx", "200", "200-399" or a comma-separated list of those. */
const statusRangesSchema = z
  .string({ error: 'expected status codes such as "2xx", "200" or "200-399"' })
  .transform((text, ctx) => {
    const ranges: [number, number][] = []
    for (const part of text.split(',').map(p => p.trim())) {
      let m: RegExpExecArray | null
      if ((m = /^([1-5])xx$/.exec(part)) && m[1]) {
        ranges.push([Number(m[1]) * 100, Number(m[1]) * 100 + 99])
      } else if (
        (m = /^([1-5]\d\d)(?:-([1-5]\d\d))?$/.exec(part)) &&
        m[1] &&
        Number(m[1]) <= Number(m[2] ?? m[1])
      ) {
        ranges.push([Number(m[1]), Number(m[2] ?? m[1])])
      } else {
        ctx.addIssue({
          code: 'custom',
          message: 'expected status codes such as "2xx", "200" or "200-399"',
          input: text,
        })
        return z.NEVER
      }
    }
    return ranges
  })

/** `health:`: the active check (also the sidecar's check of its own replica). */
export const healthSchema = mapping(
  {
    /** Listener name whose member port is probed, or a port number. Default: the first listener. */
    port: z
      .union([nameSchema, portSchema], { error: 'expected a listener name or a port' })
      .optional(),
    /** Probe scheme. Default http. */
    scheme: z
      .enum(['http', 'https'], { error: 'expected "http" or "https"' })
      .default('http'),
    /** Request path. Default /health. */
    path: z
      .string({ error: 'expected a path starting with "/"' })
      .startsWith('/', { error: 'expected a path starting with "/"' })
      .default('/health'),
    /** Time between probes of one member. Default 2s. */
    interval: duration(50).default(2_000),
    /** Interval while a transition is pending (HAProxy fastinter). Default: interval. */
    fastInterval: duration(50).optional(),
    /** Interval while the member is down (HAProxy downinter). Default: interval. */
    downInterval: duration(50).optional(),
    /** Random spread added to each interval, as a fraction of it (0-0.5). Default 0.1. */
    jitter: z.number({ error: 'expected a number 0-0.5' }).min(0).max(0.5).default(0.1),
    /** A probe not answered within this is a failure (reason timeout). Default 1s. */
    timeout: duration(10).default(1_000),
    /** Consecutive successes to come back up. Default 2. */
    rise: integer(1, 100).default(2),
    /** Consecutive failures to go down. Default 3. */
    fall: integer(1, 100).default(3),
    /** Statuses that count as healthy. Default "2xx". */
    expectStatus: statusRangesSchema.default([[200, 299]]),
    /** Most body bytes read from a probe response; the rest is discarded. Default 4096. */
    maxBodyBytes: integer(0, 1_048_576).default(4096),
    /** Extra request headers (e.g. Host). */
    headers: z
      .record(
        z.string().regex(HEADER_NAME_RE),
        z.string({ error: 'expected a header value' }).regex(/^[^\r\n\0]*$/, {
          error: 'expected a header value without line breaks',
        }),
        {
          error: issue =>
            issue.code === 'invalid_key'
              ? 'expected an HTTP header name'
              : 'expected a mapping of header name to value',
        },
      )
      .default({}),
    tls: tlsSchema,
    /**
     * Health of a member before its first probe: "down" (default: takes no traffic until
     * one probe passes, then is up at once) or "up" (routable immediately).
     */
    initialState: z
      .enum(['down', 'up'], { error: 'expected "down" or "up"' })
      .default('down'),
    /** On a member marked down: keep its open connections (default) or close them. */
    onMarkedDown: z
      .enum(['keep-connections', 'close-connections'], {
        error: 'expected "keep-connections" or "close-connections"',
      })
      .default('keep-connections'),
    ...healthProxyProtocolShape,
  },
  'a mapping',
).prefault({})
