// Config keys of the connection access log (issue #22): `accessLog:`. Kept apart from
// schema.ts, which imports it. docs/access-log.md explains the records; docs/config.md
// lists every key.
import { z } from 'zod'
import { duration, integer, mapping } from './primitives.js'

/** How client addresses appear in access-log records. */
export type ClientAddressMode = 'full' | 'truncate' | 'hash'

/** `accessLog:`: one JSON line per client connection. Off by default. */
export const accessLogSchema = mapping(
  {
    /** Whether records are written at all. Default false. */
    enabled: z.boolean({ error: 'expected true or false' }).default(false),
    /** "stdout" (default) or an absolute file path, reopened on SIGHUP and SIGUSR1. */
    destination: z
      .string({ error: 'expected "stdout" or an absolute file path' })
      .refine(d => d === 'stdout' || d.startsWith('/'), {
        error:
          'expected "stdout" or an absolute file path such as "/var/log/corral/access.log"',
      })
      .default('stdout'),
    /**
     * Share (0-1) of normal connections logged; connections that ended in an error are
     * always logged. Default 1.
     */
    sample: z
      .number({ error: 'expected a number 0-1' })
      .min(0, { error: 'expected a number 0-1' })
      .max(1, { error: 'expected a number 0-1' })
      .default(1),
    /** Skip normal connections that carried no byte either way (probes, scans). Default true. */
    skipEmpty: z.boolean({ error: 'expected true or false' }).default(true),
    /** Most lines per second per process; 0 = no cap (default). Over it: dropped, counted. */
    maxLinesPerSecond: integer(0, 1_000_000).default(0),
    /** "full" (default), "truncate" (IPv4 /24, IPv6 /48) or "hash" (SHA-256 prefix). */
    clientAddress: z
      .enum(['full', 'truncate', 'hash'], {
        error: 'expected "full", "truncate" or "hash"',
      })
      .default('full'),
    /** Interim record for connections open this long, then every as long; "0s" = none (default). */
    interim: duration(0).default(0),
  },
  'a mapping with enabled, destination and sample',
).prefault({})

/** The resolved `accessLog:` block (interim in ms). */
export type AccessLogConfig = z.output<typeof accessLogSchema>
