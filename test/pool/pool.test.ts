// The Pool: membership, admin operations, the events it reports and when `version` moves.
import t from 'tap'
import { Pool, type PoolOptions } from '../../src/pool/pool.js'
import type {
  AdminState,
  CheckResult,
  Health,
  MemberChange,
  MemberEndpoint,
  MemberState,
  MemberView,
} from '../../src/pool/types.js'

const OPTIONS: PoolOptions = { thresholds: { rise: 2, fall: 3 }, initialHealth: 'down' }
const OK: CheckResult = { ok: true, latencyMs: 2 }
const REFUSED: CheckResult = {
  ok: false,
  reason: 'refused',
  detail: 'connect ECONNREFUSED',
}

const endpoint = (id: string, extra: Partial<MemberEndpoint> = {}): MemberEndpoint => ({
  id,
  address: `10.0.0.${id.charCodeAt(0) - 96}`,
  ports: {},
  weight: 1,
  ...extra,
})

/** A pool that records every change it emits. */
function recordingPool(options: PoolOptions = OPTIONS): {
  pool: Pool
  changes: MemberChange[]
} {
  const pool = new Pool(options)
  const changes: MemberChange[] = []
  pool.onChange(c => changes.push(c))
  return { pool, changes }
}

/** The parts of a view the admin tables compare. */
const summary = (v: MemberView | undefined) =>
  v === undefined
    ? undefined
    : { state: v.state, health: v.health, admin: v.admin, removing: v.removing }

void t.test(
  'upserting a new member adds it and reports absent → its initial state',
  t => {
    const cases: {
      name: string
      initial: Health
      view: MemberView
      change: MemberChange
    }[] = [
      {
        name: 'initial down',
        initial: 'down',
        view: {
          id: 'a',
          address: '10.0.0.1',
          ports: { https: 8443 },
          weight: 2,
          state: 'down',
          health: 'down',
          admin: 'enabled',
          stateSince: 10,
          reason: 'awaiting first check',
          recent: [],
          removing: false,
        },
        change: { id: 'a', from: 'absent', to: 'down', reason: 'member added', at: 10 },
      },
      {
        name: 'initial up',
        initial: 'up',
        view: {
          id: 'a',
          address: '10.0.0.1',
          ports: { https: 8443 },
          weight: 2,
          state: 'up',
          health: 'up',
          admin: 'enabled',
          stateSince: 10,
          reason: 'initial state up',
          recent: [],
          removing: false,
        },
        change: { id: 'a', from: 'absent', to: 'up', reason: 'member added', at: 10 },
      },
    ]
    t.plan(cases.length)
    for (const c of cases) {
      const { pool, changes } = recordingPool({ ...OPTIONS, initialHealth: c.initial })
      const returned = pool.upsert(
        endpoint('a', { ports: { https: 8443 }, weight: 2 }),
        10,
      )
      t.strictSame(
        { returned, got: pool.get('a'), changes },
        { returned: c.view, got: c.view, changes: [c.change] },
        c.name,
      )
    }
  },
)

void t.test('upserting the same endpoint keeps health and admin state', t => {
  const cases: { name: string; next: MemberEndpoint }[] = [
    {
      name: 'weight change',
      next: endpoint('a', { weight: 5, ports: { http: 81, https: 444 } }),
    },
    {
      name: 'same ports listed in another order',
      next: endpoint('a', { ports: { https: 444, http: 81 } }),
    },
    { name: 'identical', next: endpoint('a', { ports: { http: 81, https: 444 } }) },
  ]
  t.plan(cases.length)
  for (const c of cases) {
    const { pool, changes } = recordingPool()
    pool.upsert(endpoint('a', { ports: { http: 81, https: 444 } }), 0)
    pool.observe('a', OK, 1)
    pool.observe('a', REFUSED, 2)
    pool.setAdmin('a', 'draining', 3, 'drained by operator')
    changes.length = 0
    const before = pool.get('a')
    const view = pool.upsert(c.next, 4)
    t.strictSame(
      { view, changes },
      {
        view: { ...before, weight: c.next.weight, ports: c.next.ports },
        changes: [],
      },
      c.name,
    )
  }
})

void t.test('upserting a new address or port is a new replica: health starts over', t => {
  const cases: { name: string; next: MemberEndpoint }[] = [
    { name: 'new address', next: endpoint('a', { address: '10.9.9.9' }) },
    { name: 'new port value', next: endpoint('a', { ports: { http: 82 } }) },
    { name: 'port added', next: endpoint('a', { ports: { http: 81, https: 444 } }) },
    { name: 'port removed', next: endpoint('a') },
  ]
  t.plan(cases.length)
  for (const c of cases) {
    const { pool, changes } = recordingPool()
    pool.upsert(endpoint('a', { ports: { http: 81 } }), 0)
    pool.observe('a', OK, 1)
    changes.length = 0
    const view = pool.upsert(c.next, 5)
    t.strictSame(
      {
        state: view.state,
        reason: view.reason,
        recent: view.recent,
        stateSince: view.stateSince,
        pending: pool.isPending('a'),
        changes,
      },
      {
        state: 'down',
        reason: 'awaiting first check',
        recent: [],
        stateSince: 5,
        pending: true,
        changes: [
          { id: 'a', from: 'up', to: 'down', reason: 'member address changed', at: 5 },
        ],
      },
      c.name,
    )
  }
})

void t.test('a new address keeps the operator admin state', t => {
  const { pool, changes } = recordingPool()
  pool.upsert(endpoint('a'), 0)
  pool.setAdmin('a', 'disabled', 1, 'disabled by operator')
  changes.length = 0
  const view = pool.upsert(endpoint('a', { address: '10.9.9.9' }), 2)
  t.strictSame(summary(view), {
    state: 'disabled',
    health: 'down',
    admin: 'disabled',
    removing: false,
  })
  t.strictSame(changes, [])
  t.end()
})

interface AdminRow {
  readonly op: AdminState | 'remove-request'
  readonly expect: {
    state: MemberState
    health: Health
    admin: AdminState
    removing: boolean
  }
  /** The change emitted, if any: [from, to, reason]. */
  readonly change?: readonly [MemberState, MemberState, string]
}

void t.test('setAdmin and requestRemoval emit visible changes and keep health', t => {
  const reasonOf = (op: AdminRow['op']): string =>
    op === 'remove-request' ? 'removal requested: draining' : `${op} by operator`
  const cases: { name: string; health: Health; rows: AdminRow[] }[] = [
    {
      name: 'up member: drain, enable, disable, disable again, enable',
      health: 'up',
      rows: [
        {
          op: 'draining',
          expect: { state: 'draining', health: 'up', admin: 'draining', removing: false },
          change: ['up', 'draining', 'draining by operator'],
        },
        {
          op: 'enabled',
          expect: { state: 'up', health: 'up', admin: 'enabled', removing: false },
          change: ['draining', 'up', 'enabled by operator'],
        },
        {
          op: 'disabled',
          expect: { state: 'disabled', health: 'up', admin: 'disabled', removing: false },
          change: ['up', 'disabled', 'disabled by operator'],
        },
        {
          op: 'disabled',
          expect: { state: 'disabled', health: 'up', admin: 'disabled', removing: false },
        },
        {
          op: 'enabled',
          expect: { state: 'up', health: 'up', admin: 'enabled', removing: false },
          change: ['disabled', 'up', 'enabled by operator'],
        },
      ],
    },
    {
      name: 'down member: drain then enable returns to down',
      health: 'down',
      rows: [
        {
          op: 'draining',
          expect: {
            state: 'draining',
            health: 'down',
            admin: 'draining',
            removing: false,
          },
          change: ['down', 'draining', 'draining by operator'],
        },
        {
          op: 'enabled',
          expect: { state: 'down', health: 'down', admin: 'enabled', removing: false },
          change: ['draining', 'down', 'enabled by operator'],
        },
      ],
    },
    {
      name: 'enabling an enabled member emits nothing',
      health: 'up',
      rows: [
        {
          op: 'enabled',
          expect: { state: 'up', health: 'up', admin: 'enabled', removing: false },
        },
      ],
    },
    {
      name: 'requestRemoval drains and marks removing; disable keeps it; enable cancels it',
      health: 'up',
      rows: [
        {
          op: 'remove-request',
          expect: { state: 'draining', health: 'up', admin: 'draining', removing: true },
          change: ['up', 'draining', 'removal requested: draining'],
        },
        {
          op: 'disabled',
          expect: { state: 'disabled', health: 'up', admin: 'disabled', removing: true },
          change: ['draining', 'disabled', 'disabled by operator'],
        },
        {
          op: 'enabled',
          expect: { state: 'up', health: 'up', admin: 'enabled', removing: false },
          change: ['disabled', 'up', 'enabled by operator'],
        },
      ],
    },
    {
      name: 'requestRemoval of a disabled member moves it to draining',
      health: 'down',
      rows: [
        {
          op: 'disabled',
          expect: {
            state: 'disabled',
            health: 'down',
            admin: 'disabled',
            removing: false,
          },
          change: ['down', 'disabled', 'disabled by operator'],
        },
        {
          op: 'remove-request',
          expect: {
            state: 'draining',
            health: 'down',
            admin: 'draining',
            removing: true,
          },
          change: ['disabled', 'draining', 'removal requested: draining'],
        },
      ],
    },
  ]
  t.plan(cases.length)
  for (const c of cases) {
    const { pool, changes } = recordingPool({ ...OPTIONS, initialHealth: c.health })
    pool.upsert(endpoint('a'), 0)
    const got: { expect: AdminRow['expect'] | undefined; changes: MemberChange[] }[] = []
    c.rows.forEach((r, i) => {
      const now = (i + 1) * 10
      changes.length = 0
      const result =
        r.op === 'remove-request'
          ? pool.requestRemoval('a', now)
          : pool.setAdmin('a', r.op, now, reasonOf(r.op))
      got.push({
        expect: result.ok ? summary(result.view) : undefined,
        changes: [...changes],
      })
    })
    t.strictSame(
      got,
      c.rows.map((r, i) => ({
        expect: r.expect,
        changes:
          r.change === undefined
            ? []
            : [
                {
                  id: 'a',
                  from: r.change[0],
                  to: r.change[1],
                  reason: r.change[2],
                  at: (i + 1) * 10,
                },
              ],
      })),
      c.name,
    )
  }
})

void t.test('a draining member shows why in its reason, with its health', t => {
  const { pool } = recordingPool()
  pool.upsert(endpoint('a'), 0)
  pool.setAdmin('a', 'draining', 1, 'drained by operator')
  t.equal(
    pool.get('a')?.reason,
    'draining by operator; health down: awaiting first check',
  )
  t.end()
})

void t.test(
  'upserting a member whose removal is pending cancels the removal and its drain',
  t => {
    const cases: { name: string; next: MemberEndpoint; expect: MemberState }[] = [
      { name: 'same endpoint (re-added by a reload)', next: endpoint('a'), expect: 'up' },
      {
        name: 'new address (re-added elsewhere)',
        next: endpoint('a', { address: '10.9.9.9' }),
        expect: 'down',
      },
    ]
    t.plan(cases.length)
    for (const c of cases) {
      const { pool } = recordingPool()
      pool.upsert(endpoint('a'), 0)
      pool.observe('a', OK, 1)
      pool.requestRemoval('a', 2)
      // Left draining with no removal pending, it would take no traffic and never go away.
      t.strictSame(
        summary(pool.upsert(c.next, 3)),
        { state: c.expect, health: c.expect, admin: 'enabled', removing: false },
        c.name,
      )
    }
  },
)

void t.test('remove deletes the member and reports → absent', t => {
  const { pool, changes } = recordingPool()
  pool.upsert(endpoint('a'), 0)
  pool.upsert(endpoint('b'), 0)
  pool.requestRemoval('a', 1)
  changes.length = 0
  t.equal(pool.remove('a', 5, 'removed after draining'), true)
  t.strictSame(changes, [
    { id: 'a', from: 'draining', to: 'absent', reason: 'removed after draining', at: 5 },
  ])
  t.equal(pool.get('a'), undefined)
  t.strictSame(
    pool.views().map(v => v.id),
    ['b'],
  )
  changes.length = 0
  t.equal(pool.remove('b', 6), true)
  t.strictSame(changes, [
    { id: 'b', from: 'down', to: 'absent', reason: 'member removed', at: 6 },
  ])
  t.end()
})

void t.test('unknown ids are not-found or undefined and change nothing', t => {
  const { pool, changes } = recordingPool()
  pool.upsert(endpoint('a'), 0)
  changes.length = 0
  const version = pool.version
  const views = pool.views()
  const cases: { name: string; run: () => unknown; expect: unknown }[] = [
    {
      name: 'setAdmin',
      run: () => pool.setAdmin('zz', 'draining', 1, 'x'),
      expect: { ok: false, error: 'not-found' },
    },
    {
      name: 'requestRemoval',
      run: () => pool.requestRemoval('zz', 1),
      expect: { ok: false, error: 'not-found' },
    },
    { name: 'remove', run: () => pool.remove('zz', 1), expect: false },
    { name: 'observe', run: () => pool.observe('zz', OK, 1), expect: undefined },
    { name: 'get', run: () => pool.get('zz'), expect: undefined },
    { name: 'isPending', run: () => pool.isPending('zz'), expect: false },
  ]
  t.plan(cases.length + 1)
  for (const c of cases) t.strictSame(c.run(), c.expect, c.name)
  t.strictSame(
    { changes, version: pool.version, sameViews: pool.views() === views },
    { changes: [], version, sameViews: true },
    'no event, no version bump, same views',
  )
})

void t.test(
  'version moves on routing changes and not on results that change nothing visible',
  t => {
    const { pool } = recordingPool()
    const cases: { name: string; run: () => unknown; moves: boolean }[] = [
      {
        name: 'upsert a new member',
        run: () => pool.upsert(endpoint('a'), 0),
        moves: true,
      },
      {
        name: 'failure on a down member',
        run: () => pool.observe('a', REFUSED, 1),
        moves: false,
      },
      { name: 'success toward rise', run: () => pool.observe('a', OK, 2), moves: false },
      {
        name: 'success: first admission (down → up)',
        run: () => pool.observe('a', OK, 3),
        moves: true,
      },
      {
        name: 'success on an up member',
        run: () => pool.observe('a', OK, 4),
        moves: false,
      },
      {
        name: 'pending failure on an up member',
        run: () => pool.observe('a', REFUSED, 5),
        moves: false,
      },
      {
        name: 'success restoring the margin',
        run: () => pool.observe('a', OK, 6),
        moves: false,
      },
      { name: 'drain', run: () => pool.setAdmin('a', 'draining', 7, 'x'), moves: true },
      {
        name: 'drain again',
        run: () => pool.setAdmin('a', 'draining', 8, 'x'),
        moves: false,
      },
      { name: 'enable', run: () => pool.setAdmin('a', 'enabled', 9, 'x'), moves: true },
      {
        name: 'weight change',
        run: () => pool.upsert(endpoint('a', { weight: 3 }), 10),
        moves: true,
      },
      {
        name: 'new thresholds (reload) keep every verdict',
        run: () => {
          pool.setOptions({ ...OPTIONS, thresholds: { rise: 1, fall: 1 } }, 11)
        },
        moves: false,
      },
      {
        name: 'eviction (up → down)',
        run: () => pool.observe('a', REFUSED, 12),
        moves: true,
      },
      {
        name: 'readmission (down → up, upSince set)',
        run: () => pool.observe('a', OK, 13),
        moves: true,
      },
      { name: 'remove', run: () => pool.remove('a', 14), moves: true },
    ]
    t.plan(cases.length)
    for (const c of cases) {
      const before = pool.version
      c.run()
      t.strictSame(pool.version !== before, c.moves, c.name)
    }
  },
)

void t.test('views are sorted by id and cached until a change', t => {
  const { pool } = recordingPool()
  for (const id of ['c', 'a', 'b']) pool.upsert(endpoint(id), 0)
  const first = pool.views()
  t.strictSame(
    first.map(v => v.id),
    ['a', 'b', 'c'],
    'sorted by id, not insertion order',
  )
  t.equal(pool.views(), first, 'same array while nothing changes')
  pool.get('a')
  pool.isPending('a')
  t.equal(pool.views(), first, 'reads do not invalidate the cache')
  pool.observe('b', REFUSED, 1)
  const second = pool.views()
  t.not(second, first, 'a new array after a probe result (recent changed)')
  t.strictSame(second[1]?.recent, [{ at: 1, result: REFUSED }])
  t.equal(pool.views(), second, 'cached again')
  pool.setAdmin('a', 'draining', 2, 'x')
  t.not(pool.views(), second, 'a new array after an admin change')
  t.equal(first[0]?.state, 'down', 'earlier views are snapshots, never mutated')
  t.end()
})

void t.test('stateSince moves only when the visible state changes', t => {
  const { pool } = recordingPool()
  pool.upsert(endpoint('a'), 0)
  const rows: { run: () => unknown; stateSince: number }[] = [
    { run: () => pool.observe('a', REFUSED, 5), stateSince: 0 },
    { run: () => pool.observe('a', OK, 10), stateSince: 0 },
    { run: () => pool.observe('a', OK, 15), stateSince: 15 },
    { run: () => pool.observe('a', REFUSED, 20), stateSince: 15 },
    { run: () => pool.upsert(endpoint('a', { weight: 4 }), 25), stateSince: 15 },
    { run: () => pool.setAdmin('a', 'draining', 30, 'x'), stateSince: 30 },
    { run: () => pool.observe('a', REFUSED, 35), stateSince: 30 },
    { run: () => pool.observe('a', REFUSED, 40), stateSince: 30 },
  ]
  const got = rows.map(r => {
    r.run()
    return pool.get('a')?.stateSince
  })
  t.strictSame(
    got,
    rows.map(r => r.stateSince),
  )
  t.end()
})

void t.test(
  'health changes of a draining member emit nothing (its visible state holds)',
  t => {
    const { pool, changes } = recordingPool()
    pool.upsert(endpoint('a'), 0)
    pool.observe('a', OK, 1)
    pool.setAdmin('a', 'draining', 2, 'x')
    changes.length = 0
    for (const now of [3, 4, 5]) pool.observe('a', REFUSED, now)
    t.strictSame(summary(pool.get('a')), {
      state: 'draining',
      health: 'down',
      admin: 'draining',
      removing: false,
    })
    t.strictSame(changes, [])
    pool.setAdmin('a', 'enabled', 6, 'y')
    t.strictSame(changes, [{ id: 'a', from: 'draining', to: 'down', reason: 'y', at: 6 }])
    t.end()
  },
)

void t.test('observe reports the step and the probe-driven changes', t => {
  const { pool, changes } = recordingPool()
  pool.upsert(endpoint('a'), 0)
  changes.length = 0
  const steps = [OK, REFUSED, REFUSED, REFUSED, OK, OK].map((r, i) => {
    const step = pool.observe('a', r, i + 1)
    return [step?.change, pool.isPending('a')]
  })
  t.strictSame(steps, [
    ['changed', false],
    ['pending', true],
    ['pending', true],
    ['changed', false],
    ['pending', true],
    ['changed', false],
  ])
  t.strictSame(changes, [
    { id: 'a', from: 'down', to: 'up', reason: 'first check passed', at: 1 },
    {
      id: 'a',
      from: 'up',
      to: 'down',
      reason: '3 failed checks (last refused: connect ECONNREFUSED)',
      at: 4,
    },
    { id: 'a', from: 'down', to: 'up', reason: '2 consecutive successful checks', at: 6 },
  ])
  t.equal(pool.get('a')?.upSince, 6, 'readmission exposes upSince for slow start')
  t.end()
})

void t.test('setOptions applies new thresholds without changing any verdict', t => {
  const { pool, changes } = recordingPool()
  pool.upsert(endpoint('a'), 0)
  pool.upsert(endpoint('b'), 0)
  pool.observe('a', OK, 1)
  changes.length = 0
  pool.setOptions({ thresholds: { rise: 1, fall: 1 }, initialHealth: 'up' }, 2)
  t.strictSame(
    pool.views().map(v => [v.id, v.state]),
    [
      ['a', 'up'],
      ['b', 'down'],
    ],
  )
  t.strictSame(changes, [])
  pool.observe('a', REFUSED, 3)
  t.equal(pool.get('a')?.state, 'down', 'fall=1 now applies')
  pool.upsert(endpoint('c'), 4)
  t.equal(pool.get('c')?.state, 'up', 'new initial health applies to new members')
  t.end()
})

void t.test('onChange returns an unsubscribe function', t => {
  const pool = new Pool(OPTIONS)
  const seen: string[] = []
  const off = pool.onChange(c => seen.push(`${c.id}:${c.to}`))
  pool.upsert(endpoint('a'), 0)
  off()
  pool.upsert(endpoint('b'), 0)
  t.strictSame(seen, ['a:down'])
  t.end()
})

void t.test('a member view keeps why it went down while later checks fail on', t => {
  const TIMEOUT: CheckResult = {
    ok: false,
    reason: 'timeout',
    detail: 'no answer in 1000ms',
  }
  const EVICTED = '3 failed checks (last refused: connect ECONNREFUSED)'
  const cases: {
    name: string
    admin: AdminState
    results: CheckResult[]
    reason: string
  }[] = [
    {
      name: 'evicted, then timing out',
      admin: 'enabled',
      results: [OK, REFUSED, REFUSED, REFUSED, TIMEOUT, TIMEOUT],
      reason: EVICTED,
    },
    {
      name: 'evicted, then draining, then timing out',
      admin: 'draining',
      results: [OK, REFUSED, REFUSED, REFUSED, TIMEOUT],
      reason: `draining by operator; health down: ${EVICTED}`,
    },
    {
      name: 'never up: the first failure, not the latest',
      admin: 'enabled',
      results: [REFUSED, TIMEOUT, TIMEOUT],
      reason: 'first check failed: refused: connect ECONNREFUSED',
    },
  ]
  t.plan(cases.length)
  for (const c of cases) {
    const pool = new Pool(OPTIONS)
    pool.upsert(endpoint('a'), 0)
    if (c.admin !== 'enabled') pool.setAdmin('a', c.admin, 0, 'test')
    c.results.forEach((r, i) => pool.observe('a', r, i + 1))
    const view = pool.get('a')
    t.strictSame(
      { reason: view?.reason, last: view?.recent.at(-1)?.result },
      { reason: c.reason, last: c.results.at(-1) },
      c.name,
    )
  }
})
