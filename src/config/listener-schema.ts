// Config key `listeners:` and the two pieces other sections reuse: a listener name (members'
// `ports` keys, `health.port`) and a "host:port" bind (listeners, `admin.bind`). Kept apart
// from schema.ts, which imports it. docs/config.md documents every key.
import { z } from 'zod'
import { mapping } from './primitives.js'

/** A listener name: lowercase, ≤ 32 chars (cross-field.ts checks references against it). */
export const NAME_RE = /^[a-z][a-z0-9_-]{0,31}$/

/** "host:port" with an IPv4 address, a hostname or a [bracketed] IPv6 address; port may be 0. */
export const bindSchema = z
  .string({ error: 'expected "host:port", e.g. "0.0.0.0:443"' })
  .transform((text, ctx) => {
    const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(text)
    const port = match?.[2] === undefined ? NaN : Number(match[2])
    if (!match?.[1] || !(port >= 0 && port <= 65535)) {
      ctx.addIssue({
        code: 'custom',
        message: 'expected "host:port" with a port 0-65535, e.g. "0.0.0.0:443"',
        input: text,
      })
      return z.NEVER
    }
    return { host: match[1].replace(/^\[|\]$/g, ''), port }
  })

/** A listener name, as `listeners[].name`, member `ports` keys and `health.port` write it. */
export const nameSchema = z
  .string({ error: 'expected a name' })
  .regex(NAME_RE, { error: 'expected a lowercase name: a-z, 0-9, "-", "_", ≤ 32 chars' })

/** One `listeners:` entry. */
export const listenerSchema = mapping(
  {
    /** Listener name; members' `ports` and `health.port` refer to it. */
    name: nameSchema,
    /** Address to accept client connections on; port 0 picks a free port. */
    bind: bindSchema,
  },
  'a mapping with name and bind',
)

/** `listeners:` when the file has none: http on 0.0.0.0:80 and https on 0.0.0.0:443. */
export const DEFAULT_LISTENERS = [
  { name: 'http', bind: '0.0.0.0:80' },
  { name: 'https', bind: '0.0.0.0:443' },
]
