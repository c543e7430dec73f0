// reconcile(): every rule of a DNS discovery source, as sequences of answers over a
// simulated pool that applies the actions (add → member, remove → draining, idle → gone).
import t from 'tap'
import {
  INITIAL_STATE,
  reconcile,
  tolerated,
  type Answer,
  type AnswerFailure,
  type ReconcileState,
  type SourceMember,
} from '../../src/discovery/reconcile.js'
import { memberIdOf, targetsOf } from '../../src/discovery/targets.js'

const GRACE = 1_000

/** One step: an answer at a time, or the data path reporting drained members idle. */
type Step =
  | { at: number; ips: string[]; want: string[]; outcome?: string }
  | { at: number; fail: AnswerFailure; want: string[] }
  | { idle: true }

const answer = (ips: string[]): Answer => ({
  ok: true,
  targets: targetsOf(
    { name: 'reg', ports: { http: 80 } },
    { kind: 'addresses', addresses: ips },
    ['http'],
  ),
})

/** Runs the steps; returns the actions taken, one line per step, e.g. "+reg-10.0.0.1 -reg-10.0.0.2". */
function run(steps: readonly Step[], others = 0): string[] {
  let state: ReconcileState = INITIAL_STATE
  let members: SourceMember[] = []
  const log: string[] = []
  for (const s of steps) {
    if ('idle' in s) {
      members = members.filter(m => !m.removing)
      continue
    }
    const a: Answer =
      'fail' in s ? { ok: false, reason: s.fail, detail: '' } : answer(s.ips)
    const r = reconcile(state, a, {
      now: s.at,
      members,
      poolSize: others + members.filter(m => !m.removing).length,
      graceMs: GRACE,
    })
    state = r.state
    const words: string[] = []
    for (const act of r.actions) {
      if (act.kind === 'add') {
        members.push({ ...act.target, removing: false })
        words.push(`+${act.target.address}`)
      } else if (act.kind === 'update') {
        members = members.map(m =>
          m.id === act.target.id ? { ...act.target, removing: false } : m,
        )
        words.push(`~${act.target.address}`)
      } else {
        members = members.map(m => (m.id === act.id ? { ...m, removing: true } : m))
        words.push(`-${act.id.slice(4)}`)
      }
    }
    for (const w of r.waiting) words.push(`wait:${w.slice(4)}`)
    if (r.outcome !== 'success') words.push(`(${r.outcome})`)
    log.push(words.join(' '))
  }
  return log
}

interface Row {
  name: string
  steps: Step[]
  others?: number
}

const A = '10.0.0.1'
const B = '10.0.0.2'
const C = '10.0.0.3'
const D = '10.0.0.4'
const E = '10.0.0.5'

const rows: Row[] = [
  {
    name: 'a first answer adds every address',
    steps: [{ at: 0, ips: [A, B], want: [`+${A} +${B}`] }],
  },
  {
    name: 'duplicate records are one member',
    steps: [{ at: 0, ips: [A, A, B, A], want: [`+${A} +${B}`] }],
  },
  {
    name: 'scale up adds only the new address',
    steps: [
      { at: 0, ips: [A, B, C], want: [`+${A} +${B} +${C}`] },
      { at: 100, ips: [A, B, C, D], want: [`+${D}`] },
    ],
  },
  {
    name: 'a missing address is held for the grace period, then removed',
    steps: [
      { at: 0, ips: [A, B, C], want: [`+${A} +${B} +${C}`] },
      { at: 100, ips: [A, B], want: [''] },
      { at: 1_099, ips: [A, B], want: [''] },
      { at: 1_100, ips: [A, B], want: [`-${C}`] },
      { at: 1_200, ips: [A, B], want: [''] },
    ],
  },
  {
    name: 'alternating subset answers never drain',
    steps: [
      { at: 0, ips: [A, B, C], want: [`+${A} +${B} +${C}`] },
      { at: 500, ips: [A, B], want: [''] },
      { at: 1_000, ips: [A, B, C], want: [''] },
      { at: 1_500, ips: [A, C], want: [''] },
      { at: 2_000, ips: [A, B, C], want: [''] },
      { at: 2_500, ips: [B, C], want: [''] },
      { at: 3_000, ips: [A, B, C], want: [''] },
    ],
  },
  ...(['timeout', 'servfail', 'refused', 'nxdomain', 'empty', 'error'] as const).map(
    (fail): Row => ({
      name: `${fail} for many intervals changes nothing, not even a running grace period`,
      steps: [
        { at: 0, ips: [A, B, C], want: [`+${A} +${B} +${C}`] },
        { at: 100, ips: [A, B], want: [''] },
        ...[500, 1_000, 5_000, 60_000].map(at => ({ at, fail, want: [`(${fail})`] })),
        // The first good answer after the outage completes the grace period.
        { at: 60_100, ips: [A, B], want: [`-${C}`] },
      ],
    }),
  ),
  {
    name: 'a good answer with no records counts as empty',
    steps: [
      { at: 0, ips: [A], want: [`+${A}`] },
      { at: 2_000, ips: [], want: ['(empty)'] },
      { at: 4_000, ips: [], want: ['(empty)'] },
    ],
  },
  {
    name: 'losing a majority at once is suspicious until the same answer repeats',
    steps: [
      { at: 0, ips: [A, B, C, D, E], want: [`+${A} +${B} +${C} +${D} +${E}`] },
      { at: 100, ips: [A, B], want: ['(suspicious)'] },
      { at: 200, ips: [A, B], want: [''] },
      { at: 1_200, ips: [A, B], want: [`-${C} -${D} -${E}`] },
    ],
  },
  {
    name: 'losing exactly what the pool tolerates is not suspicious',
    steps: [
      { at: 0, ips: [A, B, C, D, E], want: [`+${A} +${B} +${C} +${D} +${E}`] },
      { at: 100, ips: [A, B, C], want: [''] },
      { at: 1_100, ips: [A, B, C], want: [`-${D} -${E}`] },
    ],
  },
  {
    name: 'alternating suspicious answers are never applied',
    steps: [
      { at: 0, ips: [A, B, C], want: [`+${A} +${B} +${C}`] },
      { at: 100, ips: [A], want: ['(suspicious)'] },
      { at: 200, ips: [B], want: ['(suspicious)'] },
      { at: 300, ips: [A], want: ['(suspicious)'] },
      { at: 2_000, ips: [A, B, C], want: [''] },
    ],
  },
  {
    name: 'config members count toward the pool the majority rule protects',
    others: 4,
    steps: [
      { at: 0, ips: [A, B, C], want: [`+${A} +${B} +${C}`] },
      // 7 members tolerate 3: losing 3 at once is fine.
      { at: 100, ips: [D], want: [`+${D}`] },
    ],
  },
  {
    name: 'an address back while its old member drains is added once that one is gone',
    steps: [
      { at: 0, ips: [A, B, C], want: [`+${A} +${B} +${C}`] },
      { at: 100, ips: [A, B], want: [''] },
      { at: 1_100, ips: [A, B], want: [`-${C}`] },
      { at: 1_200, ips: [A, B, C], want: [`wait:${C}`] },
      { idle: true },
      { at: 1_300, ips: [A, B, C], want: [`+${C}`] },
    ],
  },
  {
    name: 'an address back within the grace period is kept as it was',
    steps: [
      { at: 0, ips: [A, B, C], want: [`+${A} +${B} +${C}`] },
      { at: 100, ips: [A, B], want: [''] },
      { at: 900, ips: [A, B, C], want: [''] },
      { at: 1_500, ips: [A, B], want: [''] },
      { at: 2_499, ips: [A, B], want: [''] },
      { at: 2_500, ips: [A, B], want: [`-${C}`] },
    ],
  },
]

t.plan(rows.length + 3)
for (const row of rows) {
  const want = row.steps.flatMap(s => ('want' in s ? s.want : []))
  t.strictSame(run(row.steps, row.others), want, row.name)
}

void t.test(
  'SRV targets: one member per target and port, the port on every listener',
  t => {
    const targets = targetsOf(
      { name: 'reg', ports: { admin: 9000 } },
      {
        kind: 'srv',
        entries: [
          { target: 'r-1.reg.svc.', port: 5000, address: '10.1.0.1' },
          { target: 'r-1.reg.svc', port: 5000, address: '10.1.0.1' },
          { target: 'r-2.reg.svc', port: 5001, address: '10.1.0.2' },
        ],
      },
      ['http', 'admin'],
    )
    t.strictSame(targets, [
      {
        id: 'reg-r-1.reg.svc-5000',
        address: '10.1.0.1',
        ports: { http: 5000, admin: 9000 },
      },
      {
        id: 'reg-r-2.reg.svc-5001',
        address: '10.1.0.2',
        ports: { http: 5001, admin: 9000 },
      },
    ])
    t.end()
  },
)

void t.test('member ids are valid, readable and distinct', t => {
  t.equal(memberIdOf('reg', 'fd00::5'), 'reg-fd00--5')
  const long = 'a'.repeat(40)
  const x = memberIdOf('reg', `${long}.one.svc.cluster.local`, 5000)
  const y = memberIdOf('reg', `${long}.two.svc.cluster.local`, 5000)
  t.ok(x.length <= 63 && y.length <= 63, 'at most 63 characters')
  t.not(x, y, 'cut ids keep a hash of the whole')
  t.match(x, /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/)
  t.end()
})

void t.test('the majority a pool can lose', t => {
  t.strictSame([0, 1, 2, 3, 4, 5, 7].map(tolerated), [0, 0, 0, 1, 1, 2, 3])
  t.end()
})
