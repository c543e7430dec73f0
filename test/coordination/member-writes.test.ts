// The admin API's membership writes say what the store must keep (a drain, a removal) that
// this instance's copy may have missed; the store keeps it in the same script step.
import t from 'tap'
import type { MemberRecord } from '../../src/coordination/codec.js'
import {
  adminWrite,
  budgetLeft,
  drainRequest,
  removalWrite,
  upsertWrite,
} from '../../src/coordination/member-writes.js'
import type { MemberView } from '../../src/pool/types.js'

const endpoint = { id: 'r1', address: '127.0.0.1', ports: { http: 80 }, weight: 1 }
const record: MemberRecord = {
  v: 1,
  member: endpoint,
  admin: 'enabled',
  removing: false,
  rev: 3,
  by: 'lb1',
  reason: 'x',
  at: 0,
}
const view = (
  id: string,
  health: 'up' | 'down',
  admin: MemberView['admin'] = 'enabled',
) => ({ ...endpoint, id, health, admin, removing: false }) as unknown as MemberView

void t.test('each write keeps what the store may hold that this copy missed', t => {
  const cases = [
    {
      name: 'PUT keeps a stored drain or disable, cancels a removal',
      got: upsertWrite(endpoint, 'r'),
      want: { admin: 'enabled', keepAdmin: true, removing: false },
    },
    {
      name: 'disable keeps a stored removal',
      got: adminWrite(record, 'disabled', 'r'),
      want: { admin: 'disabled', keepRemoving: true, removing: false },
    },
    {
      name: 'enable cancels a removal (no keepRemoving)',
      got: adminWrite(record, 'enabled', 'r'),
      want: { admin: 'enabled', removing: false },
    },
    {
      name: 'DELETE drains, then removes',
      got: removalWrite(record),
      want: { admin: 'draining', removing: true },
    },
  ]
  t.plan(cases.length + 1)
  for (const c of cases) t.match(c.got, c.want, c.name)
  t.notOk('keepRemoving' in adminWrite(record, 'enabled', 'r'), 'enable: nothing kept')
})

void t.test('a drain reports only health: down members other than itself', t => {
  const r = drainRequest(
    record,
    [view('r1', 'down'), view('r2', 'down'), view('r3', 'up')],
    {
      holder: 'api@lb1',
      reason: 'drained by operator',
      ttlMs: 1_000,
      force: false,
    },
  )
  t.strictSame(r.down, ['r2'])
  t.match(r.write, { admin: 'draining', removing: false })
  t.end()
})

void t.test('the gauge: floor((N-1)/2) less the members out, never below 0', t => {
  const up = ['r1', 'r2', 'r3', 'r4', 'r5'].map(id => view(id, 'up'))
  t.equal(budgetLeft(up, new Map()), 2, '5 up: 2')
  t.equal(budgetLeft([...up.slice(0, 4), view('r5', 'down')], new Map()), 1, 'one down')
  t.equal(
    budgetLeft(
      [view('r1', 'up'), view('r2', 'down'), view('r3', 'up', 'disabled')],
      new Map(),
    ),
    0,
    'never below 0',
  )
  t.end()
})
