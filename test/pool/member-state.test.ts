// Every arrow of the member state machine drawn in docs/state-machine.md, as sequences of
// (result, now) → expected rows. Thresholds are rise=2 fall=3 unless a case says otherwise,
// so the counter runs 0..4: 0-1 is down, 2-4 is up.
import t from 'tap'
import {
  describeResult,
  initialHealth,
  isPending,
  isRoutable,
  observe,
  RECENT_RESULTS,
  rethreshold,
  visibleState,
  type MemberHealth,
  type Step,
  type StepChange,
  type Thresholds,
} from '../../src/pool/member-state.js'
import type {
  AdminState,
  CheckResult,
  Health,
  MemberState,
} from '../../src/pool/types.js'

const T23: Thresholds = { rise: 2, fall: 3 }
const T11: Thresholds = { rise: 1, fall: 1 }

const OK: CheckResult = { ok: true, latencyMs: 3 }
const REFUSED: CheckResult = {
  ok: false,
  reason: 'refused',
  detail: 'connect ECONNREFUSED 10.0.0.11:443',
}
const TIMEOUT: CheckResult = {
  ok: false,
  reason: 'timeout',
  detail: 'no answer in 1000ms',
}
const BAD_STATUS: CheckResult = {
  ok: false,
  reason: 'bad-status',
  detail: 'status 503',
  status: 503,
}

/** What one row expects; `reason` and `upSince` are compared only when a row names them. */
interface Expected {
  readonly health: Health
  readonly change: StepChange
  readonly counter: number
  /** The step's reason. */
  readonly reason?: string
  /** The health's upSince after the step; 'none' = absent (no slow start). */
  readonly upSince?: number | 'none'
}

interface Row {
  readonly result: CheckResult
  readonly now: number
  readonly expect: Expected
}

interface SequenceCase {
  readonly name: string
  readonly thresholds: Thresholds
  /** Where the sequence starts: a fresh member, or a member driven there by `setup`. */
  readonly start: Health
  /** Results applied before the rows (at now = 1, 2, ...), not checked. */
  readonly setup?: readonly CheckResult[]
  readonly rows: readonly Row[]
}

const row = (result: CheckResult, now: number, expect: Expected): Row => ({
  result,
  now,
  expect,
})

/** The parts of a step a row compares. */
function actual(step: Step, expect: Expected): Expected {
  const h = step.health
  return {
    health: h.health,
    change: step.change,
    counter: h.counter,
    ...(expect.reason !== undefined ? { reason: step.reason } : {}),
    ...(expect.upSince !== undefined ? { upSince: h.upSince ?? 'none' } : {}),
  }
}

function run(
  h: MemberHealth,
  results: readonly CheckResult[],
  t0: number,
  th: Thresholds,
): MemberHealth {
  return results.reduce((acc, r, i) => observe(acc, r, t0 + i, th).health, h)
}

/** A member that was up and went down: the state where `rise` successes readmit it. */
const WAS_UP_DOWN = [REFUSED, REFUSED, REFUSED] as const
/** The reason WAS_UP_DOWN leaves with T23. */
const EVICTED = '3 failed checks (last refused: connect ECONNREFUSED 10.0.0.11:443)'

void t.test('each (result, now) row moves health and the counter as drawn', t => {
  const cases: SequenceCase[] = [
    {
      name: 'initial down → up on the first success, with no slow start',
      thresholds: T23,
      start: 'down',
      rows: [
        row(OK, 10, {
          health: 'up',
          change: 'changed',
          counter: 4,
          reason: 'first check passed',
          upSince: 'none',
        }),
      ],
    },
    {
      name: 'initial down that fails first still needs rise successes, then no slow start',
      thresholds: T23,
      start: 'down',
      rows: [
        row(REFUSED, 10, {
          health: 'down',
          change: 'unchanged',
          counter: 0,
          reason: 'refused: connect ECONNREFUSED 10.0.0.11:443',
        }),
        row(OK, 20, { health: 'down', change: 'pending', counter: 1, reason: 'ok' }),
        row(OK, 30, {
          health: 'up',
          change: 'changed',
          counter: 4,
          reason: 'first check passed',
          upSince: 'none',
        }),
      ],
    },
    {
      name: 'initial up stays up on a success (counter already at the top)',
      thresholds: T23,
      start: 'up',
      rows: [
        row(OK, 10, { health: 'up', change: 'unchanged', counter: 4, upSince: 'none' }),
      ],
    },
    {
      name: 'up stays up after fall-1 failures (negative twin)',
      thresholds: T23,
      start: 'up',
      rows: [
        row(REFUSED, 10, { health: 'up', change: 'pending', counter: 3 }),
        row(REFUSED, 20, { health: 'up', change: 'pending', counter: 2 }),
      ],
    },
    {
      name: 'up → down on the fall-th failure, the reason naming the last failure',
      thresholds: T23,
      start: 'up',
      rows: [
        row(REFUSED, 10, { health: 'up', change: 'pending', counter: 3 }),
        row(BAD_STATUS, 20, { health: 'up', change: 'pending', counter: 2 }),
        row(TIMEOUT, 30, {
          health: 'down',
          change: 'changed',
          counter: 0,
          reason: '3 failed checks (last timeout: no answer in 1000ms)',
        }),
      ],
    },
    {
      name: 'down (after being up) stays down after rise-1 successes (negative twin)',
      thresholds: T23,
      start: 'up',
      setup: WAS_UP_DOWN,
      rows: [row(OK, 40, { health: 'down', change: 'pending', counter: 1 })],
    },
    {
      name: 'down → up on the rise-th success: readmission sets upSince = now (slow start)',
      thresholds: T23,
      start: 'up',
      setup: WAS_UP_DOWN,
      rows: [
        row(OK, 40, { health: 'down', change: 'pending', counter: 1, upSince: 'none' }),
        row(OK, 50, {
          health: 'up',
          change: 'changed',
          counter: 4,
          reason: '2 consecutive successful checks',
          upSince: 50,
        }),
        row(OK, 60, { health: 'up', change: 'unchanged', counter: 4, upSince: 50 }),
      ],
    },
    {
      name: 'going down again clears upSince',
      thresholds: T23,
      start: 'up',
      setup: [...WAS_UP_DOWN, OK, OK],
      rows: [
        row(REFUSED, 60, { health: 'up', change: 'pending', counter: 3, upSince: 5 }),
        row(REFUSED, 70, { health: 'up', change: 'pending', counter: 2, upSince: 5 }),
        row(REFUSED, 80, {
          health: 'down',
          change: 'changed',
          counter: 0,
          upSince: 'none',
        }),
      ],
    },
    {
      name: 'HAProxy counter: up, 2 failures, 1 success, then 2 more failures take it down',
      thresholds: T23,
      start: 'up',
      rows: [
        row(REFUSED, 10, { health: 'up', change: 'pending', counter: 3 }),
        row(REFUSED, 20, { health: 'up', change: 'pending', counter: 2 }),
        row(OK, 30, { health: 'up', change: 'unchanged', counter: 3 }),
        row(REFUSED, 40, { health: 'up', change: 'pending', counter: 2 }),
        row(REFUSED, 50, {
          health: 'down',
          change: 'changed',
          counter: 0,
          reason: '3 failed checks (last refused: connect ECONNREFUSED 10.0.0.11:443)',
        }),
      ],
    },
    {
      name: 'HAProxy counter on the way up: a failure between successes costs one step',
      thresholds: T23,
      start: 'up',
      setup: WAS_UP_DOWN,
      rows: [
        row(OK, 40, { health: 'down', change: 'pending', counter: 1 }),
        row(REFUSED, 50, { health: 'down', change: 'unchanged', counter: 0 }),
        row(OK, 60, { health: 'down', change: 'pending', counter: 1 }),
        row(OK, 70, { health: 'up', change: 'changed', counter: 4, upSince: 70 }),
      ],
    },
    {
      name: 'alternating failure/success never takes an up member down',
      thresholds: T23,
      start: 'up',
      rows: [
        row(REFUSED, 10, { health: 'up', change: 'pending', counter: 3 }),
        row(OK, 20, { health: 'up', change: 'unchanged', counter: 4 }),
        row(REFUSED, 30, { health: 'up', change: 'pending', counter: 3 }),
        row(OK, 40, { health: 'up', change: 'unchanged', counter: 4 }),
        row(REFUSED, 50, { health: 'up', change: 'pending', counter: 3 }),
      ],
    },
    {
      name: 'the counter never goes above rise+fall-1 while up',
      thresholds: T23,
      start: 'up',
      rows: [
        row(OK, 10, { health: 'up', change: 'unchanged', counter: 4 }),
        row(OK, 20, { health: 'up', change: 'unchanged', counter: 4 }),
        row(OK, 30, { health: 'up', change: 'unchanged', counter: 4 }),
        // Extra successes bought no credit: fall failures still take it down.
        row(REFUSED, 40, { health: 'up', change: 'pending', counter: 3 }),
        row(REFUSED, 50, { health: 'up', change: 'pending', counter: 2 }),
        row(REFUSED, 60, { health: 'down', change: 'changed', counter: 0 }),
      ],
    },
    {
      name: 'the counter never goes below 0 while down',
      thresholds: T23,
      start: 'up',
      setup: WAS_UP_DOWN,
      rows: [
        row(REFUSED, 40, {
          health: 'down',
          change: 'unchanged',
          counter: 0,
          reason: 'refused: connect ECONNREFUSED 10.0.0.11:443',
        }),
        row(REFUSED, 50, { health: 'down', change: 'unchanged', counter: 0 }),
        row(REFUSED, 60, { health: 'down', change: 'unchanged', counter: 0 }),
        // Extra failures bought no debt: rise successes still bring it up.
        row(OK, 70, { health: 'down', change: 'pending', counter: 1 }),
        row(OK, 80, { health: 'up', change: 'changed', counter: 4 }),
      ],
    },
    {
      name: 'rise=1 fall=1: every result that disagrees flips the verdict',
      thresholds: T11,
      start: 'up',
      rows: [
        row(OK, 10, { health: 'up', change: 'unchanged', counter: 1 }),
        row(TIMEOUT, 20, {
          health: 'down',
          change: 'changed',
          counter: 0,
          reason: '1 failed check (last timeout: no answer in 1000ms)',
        }),
        row(TIMEOUT, 30, { health: 'down', change: 'unchanged', counter: 0 }),
        row(OK, 40, {
          health: 'up',
          change: 'changed',
          counter: 1,
          reason: '1 consecutive successful check',
          upSince: 40,
        }),
      ],
    },
    {
      name: 'rise=1: initial down starts at counter 0 and the first success admits it',
      thresholds: T11,
      start: 'down',
      rows: [
        row(OK, 10, {
          health: 'up',
          change: 'changed',
          counter: 1,
          reason: 'first check passed',
          upSince: 'none',
        }),
      ],
    },
  ]
  t.plan(cases.length)
  for (const c of cases) {
    let h = run(initialHealth(c.start, c.thresholds, 0), c.setup ?? [], 1, c.thresholds)
    const got: Expected[] = []
    for (const r of c.rows) {
      const step = observe(h, r.result, r.now, c.thresholds)
      got.push(actual(step, r.expect))
      h = step.health
    }
    t.strictSame(
      got,
      c.rows.map(r => r.expect),
      c.name,
    )
  }
})

void t.test('initialHealth starts up at the top, or down one success short of up', t => {
  const cases: {
    name: string
    initial: Health
    thresholds: Thresholds
    expect: MemberHealth
  }[] = [
    {
      name: 'up',
      initial: 'up',
      thresholds: T23,
      expect: {
        health: 'up',
        counter: 4,
        since: 7,
        wasUp: true,
        reason: 'initial state up',
        recent: [],
      },
    },
    {
      name: 'down',
      initial: 'down',
      thresholds: T23,
      expect: {
        health: 'down',
        counter: 1,
        since: 7,
        wasUp: false,
        reason: 'awaiting first check',
        recent: [],
      },
    },
    {
      name: 'down with rise=5',
      initial: 'down',
      thresholds: { rise: 5, fall: 2 },
      expect: {
        health: 'down',
        counter: 4,
        since: 7,
        wasUp: false,
        reason: 'awaiting first check',
        recent: [],
      },
    },
  ]
  t.plan(cases.length)
  for (const c of cases) {
    t.strictSame(initialHealth(c.initial, c.thresholds, 7), c.expect, c.name)
  }
})

void t.test(
  'a transition records since = now and keeps it while the verdict holds',
  t => {
    const h0 = initialHealth('up', T23, 0)
    const steps = [REFUSED, REFUSED, REFUSED, REFUSED, OK, OK, OK].map(
      (r, i) => [r, (i + 1) * 10] as const,
    )
    const sinces: number[] = []
    steps.reduce((h, [r, now]) => {
      const next = observe(h, r, now, T23).health
      sinces.push(next.since)
      return next
    }, h0)
    t.strictSame(sinces, [0, 0, 30, 30, 30, 60, 60])
    t.end()
  },
)

void t.test('recent keeps the last 5 results, newest last', t => {
  const results: CheckResult[] = [OK, REFUSED, OK, TIMEOUT, OK, BAD_STATUS, OK]
  let h = initialHealth('up', T23, 0)
  const lengths: number[] = []
  results.forEach((r, i) => {
    h = observe(h, r, i + 1, T23).health
    lengths.push(h.recent.length)
  })
  t.equal(RECENT_RESULTS, 5)
  t.strictSame(lengths, [1, 2, 3, 4, 5, 5, 5])
  t.strictSame(h.recent, [
    { at: 3, result: OK },
    { at: 4, result: TIMEOUT },
    { at: 5, result: OK },
    { at: 6, result: BAD_STATUS },
    { at: 7, result: OK },
  ])
  t.end()
})

void t.test('observe never mutates the health it is given', t => {
  const h0 = initialHealth('up', T23, 0)
  const before = structuredClone(h0)
  const step = observe(h0, REFUSED, 1, T23)
  t.strictSame(h0, before)
  t.not(step.health, h0)
  t.end()
})

void t.test(
  'a down member keeps why it went down as its reason, the latest check apart',
  t => {
    const cases: {
      name: string
      start: Health
      results: CheckResult[]
      reason: string
      /** The latest check, when the case asserts it (recent's last entry). */
      last?: CheckResult
    }[] = [
      {
        name: 'new member failing keeps its first failure',
        start: 'down',
        results: [REFUSED, TIMEOUT],
        reason: 'first check failed: refused: connect ECONNREFUSED 10.0.0.11:443',
        last: TIMEOUT,
      },
      {
        name: 'new member failing once says so',
        start: 'down',
        results: [BAD_STATUS],
        reason: 'first check failed: bad-status: status 503',
        last: BAD_STATUS,
      },
      {
        name: 'evicted member failing on keeps the eviction reason',
        start: 'up',
        results: [...WAS_UP_DOWN, BAD_STATUS],
        reason: EVICTED,
        last: BAD_STATUS,
      },
      {
        name: 'evicted member failing differently keeps the eviction reason',
        start: 'up',
        results: [...WAS_UP_DOWN, TIMEOUT, BAD_STATUS, REFUSED],
        reason: EVICTED,
        last: REFUSED,
      },
      {
        name: 'evicted member one success short keeps the eviction reason',
        start: 'up',
        results: [REFUSED, REFUSED, TIMEOUT, OK],
        reason: '3 failed checks (last timeout: no answer in 1000ms)',
      },
      {
        name: 'up member with a pending failure keeps its admission reason',
        start: 'down',
        results: [OK, REFUSED],
        reason: 'first check passed',
      },
    ]
    t.plan(cases.length)
    for (const c of cases) {
      const h = run(initialHealth(c.start, T23, 0), c.results, 1, T23)
      t.strictSame(
        { reason: h.reason, last: h.recent.at(-1)?.result },
        { reason: c.reason, last: c.last ?? c.results.at(-1) },
        c.name,
      )
    }
  },
)

void t.test(
  'rethreshold keeps the verdict and clamps the counter into the new range',
  t => {
    const cases: {
      name: string
      start: Health
      setup: CheckResult[]
      to: Thresholds
      expect: { health: Health; counter: number; pending: boolean }
    }[] = [
      {
        name: 'up at the top moves to the new top',
        start: 'up',
        setup: [],
        to: { rise: 3, fall: 5 },
        expect: { health: 'up', counter: 7, pending: false },
      },
      {
        name: 'up with pending failures stays up, at the new top',
        start: 'up',
        setup: [REFUSED, REFUSED],
        to: { rise: 1, fall: 1 },
        expect: { health: 'up', counter: 1, pending: false },
      },
      {
        name: 'down at 0 stays at 0 with a higher rise',
        start: 'up',
        setup: WAS_UP_DOWN.slice(),
        to: { rise: 5, fall: 5 },
        expect: { health: 'down', counter: 0, pending: false },
      },
      {
        name: 'down one short of rise=2 is clamped to rise-1 = 0 for rise=1 (still down)',
        start: 'down',
        setup: [],
        to: { rise: 1, fall: 1 },
        expect: { health: 'down', counter: 0, pending: false },
      },
      {
        name: 'down pending keeps its progress when it still fits',
        start: 'up',
        setup: [...WAS_UP_DOWN, OK],
        to: { rise: 4, fall: 2 },
        expect: { health: 'down', counter: 1, pending: true },
      },
    ]
    t.plan(cases.length)
    for (const c of cases) {
      const before = run(initialHealth(c.start, T23, 0), c.setup, 1, T23)
      const h = rethreshold(before, c.to)
      t.strictSame(
        {
          health: h.health,
          counter: h.counter,
          pending: isPending(h, c.to),
          kept: [h.since, h.reason, h.recent, h.wasUp],
        },
        { ...c.expect, kept: [before.since, before.reason, before.recent, before.wasUp] },
        c.name,
      )
    }
  },
)

void t.test('after rethreshold the new rise and fall apply', t => {
  const cases: {
    name: string
    start: Health
    to: Thresholds
    results: CheckResult[]
    expect: Health[]
  }[] = [
    {
      name: 'up with fall raised 3 → 5 survives 4 failures and goes down on the 5th',
      start: 'up',
      to: { rise: 2, fall: 5 },
      results: [REFUSED, REFUSED, REFUSED, REFUSED, REFUSED],
      expect: ['up', 'up', 'up', 'up', 'down'],
    },
    {
      name: 'new member with rise lowered 2 → 1 comes up on one success',
      start: 'down',
      to: { rise: 1, fall: 3 },
      results: [OK],
      expect: ['up'],
    },
  ]
  t.plan(cases.length)
  for (const c of cases) {
    let h = rethreshold(initialHealth(c.start, T23, 0), c.to)
    const got: Health[] = []
    c.results.forEach((r, i) => {
      h = observe(h, r, i + 1, c.to).health
      got.push(h.health)
    })
    t.strictSame(got, c.expect, c.name)
  }
})

void t.test('isPending is true exactly while a transition is in progress', t => {
  const cases: {
    name: string
    start: Health
    thresholds: Thresholds
    results: CheckResult[]
    expect: boolean
  }[] = [
    { name: 'initial up', start: 'up', thresholds: T23, results: [], expect: false },
    {
      name: 'up after one failure',
      start: 'up',
      thresholds: T23,
      results: [REFUSED],
      expect: true,
    },
    {
      name: 'up after fall-1 failures',
      start: 'up',
      thresholds: T23,
      results: [REFUSED, REFUSED],
      expect: true,
    },
    {
      name: 'up after a failure then a success',
      start: 'up',
      thresholds: T23,
      results: [REFUSED, OK],
      expect: false,
    },
    {
      name: 'up after two failures then one success (margin not yet restored)',
      start: 'up',
      thresholds: T23,
      results: [REFUSED, REFUSED, OK],
      expect: true,
    },
    {
      name: 'new member one success short (rise=2)',
      start: 'down',
      thresholds: T23,
      results: [],
      expect: true,
    },
    {
      name: 'new member with rise=1',
      start: 'down',
      thresholds: T11,
      results: [],
      expect: false,
    },
    {
      name: 'just evicted',
      start: 'up',
      thresholds: T23,
      results: WAS_UP_DOWN.slice(),
      expect: false,
    },
    {
      name: 'evicted, then one success',
      start: 'up',
      thresholds: T23,
      results: [...WAS_UP_DOWN, OK],
      expect: true,
    },
    {
      name: 'just readmitted',
      start: 'up',
      thresholds: T23,
      results: [...WAS_UP_DOWN, OK, OK],
      expect: false,
    },
  ]
  t.plan(cases.length)
  for (const c of cases) {
    const h = run(initialHealth(c.start, c.thresholds, 0), c.results, 1, c.thresholds)
    t.strictSame(isPending(h, c.thresholds), c.expect, c.name)
  }
})

void t.test('visibleState: admin intent wins over health, for every pair', t => {
  const cases: { health: Health; admin: AdminState; expect: MemberState }[] = [
    { health: 'up', admin: 'enabled', expect: 'up' },
    { health: 'down', admin: 'enabled', expect: 'down' },
    { health: 'up', admin: 'draining', expect: 'draining' },
    { health: 'down', admin: 'draining', expect: 'draining' },
    { health: 'up', admin: 'disabled', expect: 'disabled' },
    { health: 'down', admin: 'disabled', expect: 'disabled' },
  ]
  t.plan(cases.length)
  for (const c of cases) {
    t.strictSame(visibleState(c.health, c.admin), c.expect, `${c.health} + ${c.admin}`)
  }
})

void t.test('isRoutable: only up takes new connections', t => {
  const cases: { state: MemberState; expect: boolean }[] = [
    { state: 'up', expect: true },
    { state: 'down', expect: false },
    { state: 'draining', expect: false },
    { state: 'disabled', expect: false },
  ]
  t.plan(cases.length)
  for (const c of cases) t.strictSame(isRoutable(c.state), c.expect, c.state)
})

void t.test('describeResult says ok (with status) or reason: detail', t => {
  const cases: { name: string; result: CheckResult; expect: string }[] = [
    { name: 'ok without status', result: OK, expect: 'ok' },
    {
      name: 'ok with status',
      result: { ok: true, latencyMs: 1, status: 204 },
      expect: 'ok 204',
    },
    { name: 'failure', result: BAD_STATUS, expect: 'bad-status: status 503' },
  ]
  t.plan(cases.length)
  for (const c of cases) t.strictSame(describeResult(c.result), c.expect, c.name)
})
