// Parses what is read from Redis. Everything under the prefix is untrusted input: another
// version of corral, an operator's redis-cli, or a bug may have written it. A record that
// does not parse is reported (where, what was expected, what was found) and skipped; the
// caller keeps its last good value. Records carry a format version `v`.
import { z } from 'zod'
import { memberSchema } from '../config/member-schema.js'

/** The format version this build writes and reads. */
export const RECORD_VERSION = 1
/** Longest record accepted, in bytes of JSON: a member record is ~200 bytes. */
export const MAX_RECORD_BYTES = 64 * 1024

const adminSchema = z.enum(['enabled', 'draining', 'disabled'])
const healthSchema = z.enum(['up', 'down'])
const reasonSchema = z.string().max(1_000)
const idSchema = z.string().min(1).max(128)
const wallMsSchema = z.number().int().nonnegative()

/**
 * Who added a member: config, api, sidecar or dns:<discovery name>. Optional: records
 * written before sources existed have none (the pool API then says config or api).
 */
const sourceSchema = z.union([
  z.enum(['config', 'api', 'sidecar']),
  z.templateLiteral(['dns:', z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/)]),
])

/** One member's shared record: where it is and what the operators want of it. */
export const memberRecordSchema = z.strictObject({
  v: z.literal(RECORD_VERSION),
  member: memberSchema.extend({ source: sourceSchema.exactOptional() }),
  admin: adminSchema,
  /** DELETE was requested: drain everywhere, then the record goes. */
  removing: z.boolean(),
  /** The pool version this write produced. */
  rev: z.number().int().nonnegative(),
  /** Who wrote it (instance or sidecar id) and why. */
  by: idSchema,
  reason: reasonSchema,
  at: wallMsSchema,
})
/** A parsed member record. */
export type MemberRecord = z.output<typeof memberRecordSchema>

/** One instance's verdict on one member. */
export const observationSchema = z.strictObject({
  v: z.literal(RECORD_VERSION),
  health: healthSchema,
  /** "http": a full /health probe; "tcp": a reachability check only. */
  probe: z.enum(['http', 'tcp']),
  reason: reasonSchema,
  at: wallMsSchema,
})
/** A parsed observation. */
export type Observation = z.output<typeof observationSchema>

/** The latest verdict anyone published for a member (warm start). */
export const verdictSchema = z.strictObject({
  v: z.literal(RECORD_VERSION),
  health: healthSchema,
  by: idSchema,
  at: wallMsSchema,
})
/** A parsed verdict. */
export type Verdict = z.output<typeof verdictSchema>

/** What a load-balancer instance says about itself at every heartbeat. */
export const instanceRecordSchema = z.strictObject({
  v: z.literal(RECORD_VERSION),
  id: idSchema,
  host: z.string().max(255),
  pid: z.number().int().nonnegative(),
  version: z.string().max(64),
  startedAt: wallMsSchema,
  /** The membership version it has applied: everything up to it is in its picker. */
  appliedVersion: z.number().int().nonnegative(),
  /** Open connections per member (members with none are left out). */
  loads: z.record(z.string().max(128), z.number().int().nonnegative()),
  /** Members it routes new connections to. */
  routable: z.array(z.string().max(128)).max(100_000),
  /** Unready because it alone sees every member down (self-fencing). */
  fenced: z.boolean(),
})
/** A parsed instance record. */
export type InstanceRecord = z.output<typeof instanceRecordSchema>

/** A sidecar's heartbeat: its member's local verdict, valid until `at + ttlMs`. */
export const sidecarRecordSchema = z.strictObject({
  v: z.literal(RECORD_VERSION),
  id: idSchema,
  health: healthSchema,
  reason: reasonSchema,
  at: wallMsSchema,
  ttlMs: z.number().int().positive().max(3_600_000),
})
/** A parsed sidecar record. */
export type SidecarRecord = z.output<typeof sidecarRecordSchema>

/** A drain lease: who holds one unit of the fleet-wide drain budget, until when. */
export const drainLeaseSchema = z.strictObject({
  v: z.literal(RECORD_VERSION),
  holder: idSchema,
  token: z.string().min(1).max(128),
  reason: reasonSchema,
  at: wallMsSchema,
  expiresAt: wallMsSchema,
})
/** A parsed drain lease. */
export type DrainLease = z.output<typeof drainLeaseSchema>

/** The outcome of parsing one stored value. */
export type Parsed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: string }

/**
 * Parses one stored JSON value with `schema`; `where` names the key (and field) for the
 * error, e.g. `corral:dtr:members[dtr-1]`.
 */
export function parseRecord<T>(
  schema: z.ZodType<T>,
  where: string,
  raw: string | null | undefined,
): Parsed<T> {
  if (raw === null || raw === undefined) return { ok: false, error: `${where}: missing` }
  if (raw.length > MAX_RECORD_BYTES) {
    return {
      ok: false,
      error: `${where}: expected at most ${MAX_RECORD_BYTES} bytes of JSON, got ${raw.length}`,
    }
  }
  let json: unknown
  try {
    json = JSON.parse(raw)
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err)
    return { ok: false, error: `${where}: expected JSON, got ${preview(raw)} (${why})` }
  }
  if (
    typeof json === 'object' &&
    json !== null &&
    'v' in json &&
    json.v !== RECORD_VERSION
  ) {
    return {
      ok: false,
      error: `${where}: expected format version ${RECORD_VERSION}, got ${preview(JSON.stringify(json.v))} (written by another corral version?)`,
    }
  }
  const result = schema.safeParse(json)
  if (result.success) return { ok: true, value: result.data }
  const issues = result.error.issues
    .slice(0, 3)
    .map(i => `${i.path.length > 0 ? i.path.join('.') : '(record)'}: ${i.message}`)
    .join('; ')
  return { ok: false, error: `${where}: ${issues}` }
}

function preview(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?')
  return JSON.stringify(clean.length > 60 ? `${clean.slice(0, 60)}…` : clean)
}
