// Config key `members:` (one entry), also the admin API's member body (admin/member-body.ts),
// the sidecar's `member:` and the shared pool's member record (coordination/codec.ts).
// Kept apart from schema.ts, which imports it. docs/config.md documents every key.
import { z } from 'zod'
import { nameSchema } from './listener-schema.js'
import { integer, mapping, portSchema } from './primitives.js'
import { proxyProtocolSchema } from './proxy-protocol-schema.js'

/** A member id: letters, digits, ".", "_", "-", ≤ 63 chars (cross-field.ts: unique). */
export const MEMBER_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/

const memberIdSchema = z.string({ error: 'expected a member id' }).regex(MEMBER_ID_RE, {
  error: 'expected a member id: letters, digits, ".", "_", "-", ≤ 63 chars',
})

const addressSchema = z
  .string({ error: 'expected a hostname or IP address' })
  .min(1, { error: 'expected a hostname or IP address' })
  .max(253, { error: 'expected a hostname or IP address' })
  .regex(/^[A-Za-z0-9._:-]+$/, { error: 'expected a hostname or IP address' })

/**
 * One replica: where to reach it, and per-listener port overrides. Whether each `ports`
 * key names a configured listener is a cross-field rule of configSchema.
 */
export const memberSchema = mapping(
  {
    /** Unique id; metrics and the admin API name the member by it. */
    id: memberIdSchema,
    /** Hostname or IP address of the replica. */
    address: addressSchema,
    /** Per-listener port override; default: the listener's own port. */
    ports: z
      .record(nameSchema, portSchema, {
        error: issue =>
          issue.code === 'invalid_key'
            ? 'expected a listener name'
            : 'expected a mapping of listener name to port',
      })
      .default({}),
    /** Relative share of new connections (1-256), default 1. */
    weight: integer(1, 256).default(1),
    /** PROXY protocol header to this member ("off", "v1", "v2"); default: the pool's. */
    proxyProtocol: proxyProtocolSchema.exactOptional(),
  },
  'a mapping with id and address',
)
