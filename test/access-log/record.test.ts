// Records built from a trace: close vs interim, nulls for the unknown, and the hand
// written JSON line is exactly JSON.stringify's.
import t from 'tap'
import {
  buildRecord,
  recordLine,
  type ConnectionFacts,
} from '../../src/access-log/record.js'
import { ConnectionTrace } from '../../src/proxy/trace.js'

const FACTS: ConnectionFacts = {
  type: 'close',
  listener: 'https',
  member: 'dtr-2',
  established: true,
  bytesToMember: 1893,
  bytesToClient: 52_428_800,
}

function trace(): ConnectionTrace {
  const tr = new ConnectionTrace(1_000, 17)
  tr.clientAddress = '10.1.4.22'
  tr.clientPort = 51_544
  tr.attempts.push({
    member: 'dtr-1',
    address: '10.0.0.11:443',
    result: 'refused',
    error: null,
    ms: 0.412,
  })
  tr.connectedAt = 1_000.951
  tr.firstToClientAt = 1_003.871
  return tr
}

void t.test('a close record: times from accept, termination from the cause', t => {
  const tr = trace()
  tr.close('member', 'fin')
  const r = buildRecord(tr, FACTS, '48213', 6_120.334, Date.UTC(2026, 11, 7, 0, 21, 8))
  t.equal(r.id, '48213-17')
  t.equal(r.start, '2026-12-07T00:21:02.879Z', 'wall clock minus the duration')
  t.equal(r.durationMs, 5_120.334)
  t.equal(r.connectMs, 0.951)
  t.equal(r.firstByteToMemberMs, null, 'no byte seen: null, never "-"')
  t.equal(r.firstByteToClientMs, 3.871)
  t.equal(r.localAddress, null)
  t.strictSame(
    [r.closedBy, r.cause, r.termination, r.status],
    ['member', 'fin', '--', 200],
  )
  t.end()
})

void t.test('an interim record has no closer, cause or termination yet', t => {
  const tr = trace()
  const r = buildRecord(tr, { ...FACTS, type: 'interim' }, '1', 2_000, 0)
  t.strictSame(
    [r.type, r.closedBy, r.cause, r.termination, r.status],
    ['interim', null, null, null, null],
  )
  t.end()
})

void t.test('recordLine is JSON.stringify, escapes included', t => {
  const tr = trace()
  tr.sni = 'we"ird\\näme'
  tr.close('corral', 'no_member')
  for (const facts of [FACTS, { ...FACTS, member: null, established: false }]) {
    const r = buildRecord(tr, facts, '9', 1_500, 0)
    t.equal(recordLine(r), `${JSON.stringify(r)}\n`)
    t.strictSame(JSON.parse(recordLine(r)), JSON.parse(JSON.stringify(r)))
  }
  t.end()
})
