// membershipOps: what an instance does to its pool to match the shared records.
import t from 'tap'
import type { MemberRecord } from '../../src/coordination/codec.js'
import { membershipOps, type MembershipOp } from '../../src/coordination/membership.js'
import type { AdminState, Health, MemberView } from '../../src/pool/types.js'

const record = (
  id: string,
  extra: {
    admin?: AdminState
    removing?: boolean
    address?: string
    weight?: number
  } = {},
): MemberRecord => ({
  v: 1,
  member: {
    id,
    address: extra.address ?? '10.0.0.1',
    ports: { web: 8080 },
    weight: extra.weight ?? 1,
  },
  admin: extra.admin ?? 'enabled',
  removing: extra.removing ?? false,
  rev: 1,
  by: 'lb2',
  reason: 'operator',
  at: 0,
})
const view = (
  id: string,
  extra: {
    admin?: AdminState
    removing?: boolean
    address?: string
    checked?: boolean
    ports?: Record<string, number>
  } = {},
): MemberView => ({
  id,
  address: extra.address ?? '10.0.0.1',
  ports: extra.ports ?? { web: 8080 },
  weight: 1,
  state: 'up',
  health: 'up',
  admin: extra.admin ?? 'enabled',
  stateSince: 0,
  reason: '',
  recent: extra.checked === false ? [] : [{ at: 1, result: { ok: true, latencyMs: 1 } }],
  removing: extra.removing ?? false,
})
const endpoint = (id: string, address = '10.0.0.1') => ({
  id,
  address,
  ports: { web: 8080 },
  weight: 1,
})
const cold = (): Health | undefined => undefined

interface Row {
  name: string
  records: MemberRecord[]
  views: MemberView[]
  warm?: (id: string) => Health | undefined
  want: MembershipOp[]
}

void t.test('ops that bring the pool in line with the records', t => {
  const cases: Row[] = [
    { name: 'nothing to do when both are empty', records: [], views: [], want: [] },
    {
      name: 'in line already: no ops',
      records: [record('a')],
      views: [view('a')],
      want: [],
    },
    {
      name: 'a new enabled member is added',
      records: [record('a')],
      views: [],
      want: [{ op: 'upsert', endpoint: endpoint('a') }],
    },
    {
      name: 'a new disabled member is added, then disabled',
      records: [record('a', { admin: 'disabled' })],
      views: [],
      want: [
        { op: 'upsert', endpoint: endpoint('a') },
        { op: 'admin', id: 'a', admin: 'disabled', reason: 'operator (via lb2)' },
      ],
    },
    {
      name: 'an address change is an upsert',
      records: [record('a', { address: '10.0.0.9' })],
      views: [view('a')],
      want: [{ op: 'upsert', endpoint: endpoint('a', '10.0.0.9') }],
    },
    {
      name: 'a port change is an upsert',
      records: [record('a')],
      views: [view('a', { ports: { web: 9090 } })],
      want: [{ op: 'upsert', endpoint: endpoint('a') }],
    },
    {
      name: 'a weight change is an upsert',
      records: [record('a', { weight: 5 })],
      views: [view('a')],
      want: [{ op: 'upsert', endpoint: { ...endpoint('a'), weight: 5 } }],
    },
    {
      name: 'a proxyProtocol change is an upsert (every instance writes the same header)',
      records: [
        { ...record('a'), member: { ...record('a').member, proxyProtocol: 'v2' } },
      ],
      views: [view('a')],
      want: [{ op: 'upsert', endpoint: { ...endpoint('a'), proxyProtocol: 'v2' } }],
    },
    {
      name: 'an admin change is applied',
      records: [record('a', { admin: 'draining' })],
      views: [view('a')],
      want: [{ op: 'admin', id: 'a', admin: 'draining', reason: 'operator (via lb2)' }],
    },
    {
      name: 're-enabling is applied',
      records: [record('a')],
      views: [view('a', { admin: 'disabled' })],
      want: [{ op: 'admin', id: 'a', admin: 'enabled', reason: 'operator (via lb2)' }],
    },
    {
      name: 'a member missing from the records is drained for removal',
      records: [],
      views: [view('a')],
      want: [{ op: 'request-removal', id: 'a' }],
    },
    {
      name: 'a member already being removed is left alone',
      records: [],
      views: [view('a', { admin: 'draining', removing: true })],
      want: [],
    },
    {
      name: 'a removing record drains the local member',
      records: [record('a', { admin: 'draining', removing: true })],
      views: [view('a')],
      want: [{ op: 'request-removal', id: 'a' }],
    },
    {
      name: 'a removing record is not requested twice',
      records: [record('a', { admin: 'draining', removing: true })],
      views: [view('a', { admin: 'draining', removing: true })],
      want: [],
    },
    {
      name: 'a removing record for a member gone here is never re-added',
      records: [record('a', { admin: 'draining', removing: true })],
      views: [],
      warm: () => 'up',
      want: [],
    },
    {
      name: 'a record no longer removing cancels the local removal',
      records: [record('a')],
      views: [view('a', { admin: 'draining', removing: true })],
      want: [
        { op: 'upsert', endpoint: endpoint('a') },
        { op: 'admin', id: 'a', admin: 'enabled', reason: 'operator (via lb2)' },
      ],
    },
    {
      name: 'warm start: a new member starts with the shared verdict',
      records: [record('a')],
      views: [],
      warm: () => 'up',
      want: [{ op: 'upsert', endpoint: endpoint('a'), initial: 'up' }],
    },
    {
      name: 'warm start: an unchecked member takes the shared verdict',
      records: [record('a')],
      views: [view('a', { checked: false })],
      warm: () => 'down',
      want: [{ op: 'upsert', endpoint: endpoint('a'), initial: 'down' }],
    },
    {
      name: 'warm start: a checked member keeps its own verdict',
      records: [record('a')],
      views: [view('a')],
      warm: () => 'down',
      want: [],
    },
  ]
  t.plan(cases.length)
  for (const c of cases) {
    const records = new Map(c.records.map(r => [r.member.id, r]))
    t.strictSame(membershipOps(records, c.views, c.warm ?? cold), c.want, c.name)
  }
})
