// A member record's optional `source`: parsed strictly, and absent on records written
// before sources existed (those still read).
import t from 'tap'
import { memberRecordSchema, parseRecord } from '../../src/coordination/codec.js'

const record = (member: Record<string, unknown>): string =>
  JSON.stringify({
    v: 1,
    member: { id: 'reg-10.0.0.5', address: '10.0.0.5', ports: {}, weight: 1, ...member },
    admin: 'enabled',
    removing: false,
    rev: 3,
    by: 'lb-a',
    reason: 'added',
    at: 1,
  })

const rows: { name: string; member: Record<string, unknown>; want: string }[] = [
  { name: 'a record without a source (older corral)', member: {}, want: 'none' },
  { name: 'config', member: { source: 'config' }, want: 'config' },
  { name: 'api', member: { source: 'api' }, want: 'api' },
  { name: 'sidecar', member: { source: 'sidecar' }, want: 'sidecar' },
  {
    name: 'a discovery source',
    member: { source: 'dns:registry' },
    want: 'dns:registry',
  },
  { name: 'an unknown source', member: { source: 'gossip' }, want: 'error' },
  {
    name: 'a discovery name out of shape',
    member: { source: 'dns:Reg istry' },
    want: 'error',
  },
  { name: 'a source of the wrong type', member: { source: 7 }, want: 'error' },
]

t.plan(rows.length)
for (const row of rows) {
  const r = parseRecord(
    memberRecordSchema,
    'corral:members[reg-10.0.0.5]',
    record(row.member),
  )
  const got = r.ok ? (r.value.member.source ?? 'none') : 'error'
  t.equal(got, row.want, row.name)
}
