// The relay thread's first-byte times on a connection's trace (native data path): counted
// from the member leg established, never after now, kept once recorded, ignored before a
// member leg.
import t from 'tap'
import { ConnectionTrace, traceNativeFirstBytes } from '../../src/proxy/trace.js'

void t.test('first-byte times count from the member leg established', t => {
  const cases: {
    name: string
    connectedAt: number
    before: readonly [number, number]
    reported: readonly [number, number]
    expect: readonly [number, number]
  }[] = [
    {
      name: 'both directions',
      connectedAt: 100,
      before: [0, 0],
      reported: [1.5, 3],
      expect: [101.5, 103],
    },
    {
      name: 'only the client spoke',
      connectedAt: 100,
      before: [0, 0],
      reported: [2, 0],
      expect: [102, 0],
    },
    {
      name: 'never connected: nothing',
      connectedAt: 0,
      before: [0, 0],
      reported: [2, 3],
      expect: [0, 0],
    },
    {
      name: 'recorded by an interim record: kept',
      connectedAt: 100,
      before: [101, 0],
      reported: [1, 7],
      expect: [101, 107],
    },
    {
      name: 'heard of late (a busy event loop): never after now',
      connectedAt: 100,
      before: [0, 0],
      reported: [5, 30],
      expect: [105, 120],
    },
  ]
  t.plan(cases.length)
  for (const c of cases) {
    const trace = new ConnectionTrace(50, 1)
    trace.connectedAt = c.connectedAt
    trace.firstToMemberAt = c.before[0]
    trace.firstToClientAt = c.before[1]
    traceNativeFirstBytes(trace, c.reported[0], c.reported[1], 120)
    t.strictSame([trace.firstToMemberAt, trace.firstToClientAt], c.expect, c.name)
  }
})
