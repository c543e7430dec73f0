// parseRecord with every record schema: valid, invalid, oversized, wrong version, non-JSON.
import t from 'tap'
import type { z } from 'zod'
import {
  drainLeaseSchema,
  instanceRecordSchema,
  MAX_RECORD_BYTES,
  memberRecordSchema,
  observationSchema,
  parseRecord,
  sidecarRecordSchema,
  verdictSchema,
  type Parsed,
} from '../../src/coordination/codec.js'

const member = {
  v: 1,
  member: { id: 'a', address: '10.0.0.1', ports: { web: 8080 }, weight: 1 },
  admin: 'enabled',
  removing: false,
  rev: 3,
  by: 'lb1',
  reason: 'seeded from config',
  at: 1_700_000_000_000,
}
const observation = { v: 1, health: 'up', probe: 'http', reason: 'status 200', at: 5 }
const verdict = { v: 1, health: 'down', by: 'lb2', at: 5 }
const instance = {
  v: 1,
  id: 'lb1',
  host: 'node-1',
  pid: 42,
  version: '0.1.0',
  startedAt: 1,
  appliedVersion: 3,
  loads: { a: 2 },
  routable: ['a'],
  fenced: false,
}
const sidecar = { v: 1, id: 'sc-a', health: 'up', reason: 'ok', at: 5, ttlMs: 3_000 }
const drain = {
  v: 1,
  holder: 'lb1',
  token: 'lb1',
  reason: 'deploy',
  at: 5,
  expiresAt: 65,
}

interface Kind {
  name: string
  schema: z.ZodType
  valid: Record<string, unknown>
  /** One field broken, and the exact error it gives. */
  broken: Record<string, unknown>
  brokenError: string
}

const KINDS: Kind[] = [
  {
    name: 'member',
    schema: memberRecordSchema,
    valid: member,
    broken: { ...member, admin: 'sleepy' },
    brokenError:
      'K: admin: Invalid option: expected one of "enabled"|"draining"|"disabled"',
  },
  {
    name: 'observation',
    schema: observationSchema,
    valid: observation,
    broken: { ...observation, probe: 'udp' },
    brokenError: 'K: probe: Invalid option: expected one of "http"|"tcp"',
  },
  {
    name: 'verdict',
    schema: verdictSchema,
    valid: verdict,
    broken: { ...verdict, by: '' },
    brokenError: 'K: by: Too small: expected string to have >=1 characters',
  },
  {
    name: 'instance',
    schema: instanceRecordSchema,
    valid: instance,
    broken: { ...instance, pid: -1 },
    brokenError: 'K: pid: Too small: expected number to be >=0',
  },
  {
    name: 'sidecar',
    schema: sidecarRecordSchema,
    valid: sidecar,
    broken: { ...sidecar, ttlMs: 0 },
    brokenError: 'K: ttlMs: Too small: expected number to be >0',
  },
  {
    name: 'drain lease',
    schema: drainLeaseSchema,
    valid: drain,
    broken: { ...drain, expiresAt: 1.5 },
    brokenError: 'K: expiresAt: Invalid input: expected int, received number',
  },
]

const errorOf = (p: Parsed<unknown>): string | undefined => (p.ok ? undefined : p.error)

void t.test('every record kind', async t => {
  for (const k of KINDS) {
    await t.test(k.name, t => {
      const cases: {
        name: string
        raw: string | null | undefined
        want: Parsed<unknown>
      }[] = [
        {
          name: 'valid',
          raw: JSON.stringify(k.valid),
          want: { ok: true, value: k.valid },
        },
        { name: 'missing (null)', raw: null, want: { ok: false, error: 'K: missing' } },
        {
          name: 'missing (undefined)',
          raw: undefined,
          want: { ok: false, error: 'K: missing' },
        },
        {
          name: 'one field invalid',
          raw: JSON.stringify(k.broken),
          want: { ok: false, error: k.brokenError },
        },
        {
          name: 'an unknown field',
          raw: JSON.stringify({ ...k.valid, extra: 1 }),
          want: { ok: false, error: 'K: (record): Unrecognized key: "extra"' },
        },
        {
          name: 'wrong format version',
          raw: JSON.stringify({ ...k.valid, v: 2 }),
          want: {
            ok: false,
            error:
              'K: expected format version 1, got "2" (written by another corral version?)',
          },
        },
        {
          name: 'no format version',
          raw: JSON.stringify({ ...k.valid, v: undefined }),
          want: { ok: false, error: 'K: v: Invalid input: expected 1' },
        },
        {
          name: 'not JSON',
          raw: 'not json {',
          want: {
            ok: false,
            error: `K: expected JSON, got "not json {" (Unexpected token 'o', "not json {" is not valid JSON)`,
          },
        },
        {
          name: 'JSON but not an object',
          raw: '[1,2]',
          want: {
            ok: false,
            error: 'K: (record): Invalid input: expected object, received array',
          },
        },
        {
          name: 'oversized',
          raw: ' '.repeat(MAX_RECORD_BYTES + 1),
          want: {
            ok: false,
            error: `K: expected at most ${MAX_RECORD_BYTES} bytes of JSON, got ${MAX_RECORD_BYTES + 1}`,
          },
        },
      ]
      t.plan(cases.length)
      for (const c of cases)
        t.strictSame(parseRecord(k.schema, 'K', c.raw), c.want, c.name)
    })
  }
})

void t.test('error texts stay printable and short', t => {
  const cases: { name: string; raw: string; want: string }[] = [
    {
      name: 'control characters are replaced in the preview',
      raw: 'x\u0000\u0007y',
      want: 'K: expected JSON, got "x??y" (Unexpected token \'x\', "x\u0000\u0007y" is not valid JSON)',
    },
    {
      name: 'a long value is cut at 60 characters',
      raw: 'z'.repeat(100),
      want: `K: expected JSON, got "${'z'.repeat(60)}…" (Unexpected token 'z', "${'z'.repeat(10)}"... is not valid JSON)`,
    },
    {
      name: 'at most three issues are listed',
      raw: JSON.stringify({ v: 1 }),
      want: 'K: health: Invalid option: expected one of "up"|"down"; by: Invalid input: expected string, received undefined; at: Invalid input: expected number, received undefined',
    },
  ]
  t.plan(cases.length)
  for (const c of cases)
    t.strictSame(errorOf(parseRecord(verdictSchema, 'K', c.raw)), c.want, c.name)
})
