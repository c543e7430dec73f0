// The mapping from a connection's close events to its termination state and status
// (issue #22): one row per arrow, as docs/access-log.md tabulates them.
import t from 'tap'
import { isError, terminationOf, type CloseFacts } from '../../src/proxy/termination.js'

const cases: readonly (readonly [string, CloseFacts, string, number])[] = [
  [
    'client FIN after data',
    { closedBy: 'client', cause: 'fin', established: true },
    '--',
    200,
  ],
  [
    'member FIN after data',
    { closedBy: 'member', cause: 'fin', established: true },
    '--',
    200,
  ],
  [
    'native done, closer unknown',
    { closedBy: null, cause: 'fin', established: true },
    '--',
    200,
  ],
  [
    'client reset in data',
    { closedBy: 'client', cause: 'rst', established: true },
    'CD',
    200,
  ],
  [
    'member reset in data',
    { closedBy: 'member', cause: 'rst', established: true },
    'SD',
    200,
  ],
  [
    'native error, closer unknown',
    { closedBy: null, cause: 'rst', established: true },
    '-D',
    200,
  ],
  [
    'client left while connecting',
    { closedBy: 'client', cause: 'fin', established: false },
    'CC',
    200,
  ],
  [
    'client reset while connecting',
    { closedBy: 'client', cause: 'rst', established: false },
    'CC',
    200,
  ],
  [
    'idle timeout',
    { closedBy: 'corral', cause: 'idle_timeout', established: true },
    'cD',
    200,
  ],
  [
    'connect timeout',
    { closedBy: 'corral', cause: 'connect_timeout', established: false },
    'sC',
    502,
  ],
  [
    'connect refused',
    { closedBy: 'corral', cause: 'connect_error', established: false },
    'SC',
    502,
  ],
  [
    'no member up',
    { closedBy: 'corral', cause: 'no_member', established: false },
    'SC',
    503,
  ],
  ['over a limit', { closedBy: 'corral', cause: 'limit', established: false }, 'PC', 503],
  [
    'member marked down',
    { closedBy: 'corral', cause: 'member_down', established: true },
    'DD',
    200,
  ],
  [
    'drain deadline',
    { closedBy: 'corral', cause: 'drain_deadline', established: true },
    'KD',
    200,
  ],
  [
    'shutdown while connecting',
    { closedBy: 'corral', cause: 'shutdown', established: false },
    'KC',
    503,
  ],
]

void t.test('each close maps to its state and status', t => {
  t.plan(cases.length)
  for (const [name, facts, state, status] of cases) {
    t.strictSame(terminationOf(facts), { state, status }, name)
  }
})

void t.test('only "--" is a normal end', t => {
  t.equal(isError({ state: '--', status: 200 }), false)
  t.equal(isError({ state: 'CD', status: 200 }), true)
  t.equal(isError({ state: 'SC', status: 503 }), true)
  t.end()
})
