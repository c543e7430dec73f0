// Decodes the SNAPSHOT script's reply (redis-scripts.ts) into a SharedSnapshot. Everything
// read from Redis is untrusted input: each value is parsed with the codec's schema, and
// one that does not parse is reported in `invalid` and skipped, never acted on (an
// unreadable member record is "unknown", listed in `unreadableMembers`, never "absent").
import {
  drainLeaseSchema,
  instanceRecordSchema,
  memberRecordSchema,
  observationSchema,
  parseRecord,
  sidecarRecordSchema,
  verdictSchema,
  type DrainLease,
  type InstanceRecord,
  type Observation,
  type SidecarRecord,
} from './codec.js'
import type { PoolKeys } from './keys.js'
import type { InvalidEntry, SharedSnapshot } from './store.js'

/** A reply of a Lua script, as ioredis hands it over. */
export type Reply = string | number | null | Reply[]

/** Where the instance triples start in the SNAPSHOT reply. */
const INSTANCES_AT = 9

/** A hash as field → value, or the error text when the key holds another type. */
export function pairs(reply: Reply | undefined): Map<string, string> | string {
  const out = new Map<string, string>()
  if (!Array.isArray(reply)) return out
  if (reply[0] === '__wrongtype__')
    return typeof reply[1] === 'string' ? reply[1] : 'WRONGTYPE'
  for (let i = 0; i + 1 < reply.length; i += 2) {
    const k = reply[i]
    const v = reply[i + 1]
    if (typeof k === 'string' && typeof v === 'string') out.set(k, v)
  }
  return out
}

/** A reply element as a string ('' for anything else). */
export function asString(r: Reply | undefined): string {
  return typeof r === 'string' ? r : typeof r === 'number' ? String(r) : ''
}

/** See the file comment. */
export function decodeSnapshot(k: PoolKeys, reply: readonly Reply[]): SharedSnapshot {
  const invalid: InvalidEntry[] = []
  const now = Number(reply[0])
  const versionRaw = asString(reply[1])
  let version = Number(versionRaw)
  if (!Number.isSafeInteger(version)) {
    invalid.push({
      key: k.version,
      kind: 'version',
      error: `${k.version}: expected an integer, got ${JSON.stringify(versionRaw.slice(0, 40))}`,
    })
    version = -1
  }
  const seeded = reply[2] === 1
  const table = <T>(
    key: string,
    kind: InvalidEntry['kind'],
    raw: Reply | undefined,
    parse: (
      field: string,
      value: string,
    ) => { ok: true; value: T } | { ok: false; error: string },
  ): Map<string, T> => {
    const out = new Map<string, T>()
    const p = pairs(raw)
    if (typeof p === 'string') {
      invalid.push({
        key,
        kind,
        error: `${key}: expected a hash, found another Redis type (${p})`,
      })
      return out
    }
    for (const [field, value] of p) {
      const r = parse(field, value)
      if (r.ok) out.set(field, r.value)
      else invalid.push({ key: `${key}[${field}]`, kind, error: r.error })
    }
    return out
  }
  const membersDamaged = typeof pairs(reply[3]) === 'string'
  const unreadableMembers = new Map<string, string>()
  const members =
    reply[3] === null || membersDamaged
      ? undefined
      : table(k.members, 'member', reply[3], (field, value) => {
          const r = parseRecord(memberRecordSchema, `${k.members}[${field}]`, value)
          if (r.ok && r.value.member.id !== field) {
            unreadableMembers.set(field, value)
            return {
              ok: false as const,
              error: `${k.members}[${field}]: member.id is "${r.value.member.id}", expected the field name`,
            }
          }
          if (!r.ok) unreadableMembers.set(field, value)
          return r
        })
  if (membersDamaged) {
    invalid.push({
      key: k.members,
      kind: 'member',
      error: `${k.members}: expected a hash, found another Redis type`,
    })
  }
  const sidecarsAll = table(k.sidecars, 'sidecar', reply[4], (f, v) =>
    parseRecord(sidecarRecordSchema, `${k.sidecars}[${f}]`, v),
  )
  const sidecars = new Map<string, SidecarRecord>()
  for (const [m, s] of sidecarsAll) if (s.at + s.ttlMs > now) sidecars.set(m, s)
  const drainsAll = table(k.drains, 'drain', reply[5], (f, v) =>
    parseRecord(drainLeaseSchema, `${k.drains}[${f}]`, v),
  )
  const drains = new Map<string, DrainLease>()
  for (const [m, d] of drainsAll) if (d.expiresAt > now) drains.set(m, d)
  const verdicts = table(k.verdicts, 'verdict', reply[6], (f, v) =>
    parseRecord(verdictSchema, `${k.verdicts}[${f}]`, v),
  )
  const membersMissing = reply[7] !== 1
  const removed = decodeTombstones(k, reply[8], invalid)
  const instances = new Map<string, InstanceRecord>()
  const observations = new Map<string, ReadonlyMap<string, Observation>>()
  for (let i = INSTANCES_AT; i + 2 < reply.length; i += 3) {
    const id = asString(reply[i])
    const raw = reply[i + 1]
    const rec = parseRecord(
      instanceRecordSchema,
      k.instance(id),
      typeof raw === 'string' ? raw : null,
    )
    if (!rec.ok) {
      // A live heartbeat whose record expired or is unreadable: not counted.
      if (raw !== null)
        invalid.push({ key: k.instance(id), kind: 'instance', error: rec.error })
      continue
    }
    instances.set(id, rec.value)
    observations.set(
      id,
      table(k.observations(id), 'observation', reply[i + 2], (f, v) =>
        parseRecord(observationSchema, `${k.observations(id)}[${f}]`, v),
      ),
    )
  }
  return {
    now,
    version,
    members,
    membersMissing,
    membersDamaged,
    unreadableMembers,
    removed,
    seeded,
    instances,
    observations,
    sidecars,
    drains,
    verdicts,
    invalid,
  }
}

/** The tombstones zset (id, score, ...); damage makes it empty: nothing reads as deleted. */
function decodeTombstones(
  k: PoolKeys,
  raw: Reply | undefined,
  invalid: InvalidEntry[],
): Map<string, number> {
  const out = new Map<string, number>()
  const p = pairs(raw)
  if (typeof p === 'string') {
    invalid.push({
      key: k.removed,
      kind: 'tombstone',
      error: `${k.removed}: expected a sorted set, found another Redis type (${p})`,
    })
    return out
  }
  for (const [id, score] of p) {
    const rev = Number(score)
    if (Number.isSafeInteger(rev)) out.set(id, rev)
  }
  return out
}
