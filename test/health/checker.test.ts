import { EventEmitter, once } from 'node:events'
import t from 'tap'
import { monotonicClock } from '../../src/clock.js'
import type { HealthConfig, ListenerConfig } from '../../src/config/types.js'
import { HealthChecker } from '../../src/health/checker.js'
import type { HealthCheckerDeps, HealthCheckerLog } from '../../src/health/checker.js'
import { memberPort, probePort } from '../../src/health/target.js'
import type { CheckResult, MemberEndpoint } from '../../src/pool/types.js'
import { startHealthServer } from '../helpers/health-server.js'
import type { HealthServer, HealthServerOptions } from '../helpers/health-server.js'

/** The part of a tap test the helpers need. */
interface Test {
  teardown(fn: () => unknown): void
}

const LISTENERS: readonly ListenerConfig[] = [
  { name: 'http', host: '127.0.0.1', port: 8080 },
  { name: 'grpc', host: '127.0.0.1', port: 9090 },
]

function health(overrides: Partial<HealthConfig> = {}): HealthConfig {
  return {
    port: 'http',
    scheme: 'http',
    path: '/health',
    intervalMs: 50,
    fastIntervalMs: 50,
    downIntervalMs: 50,
    jitter: 0,
    timeoutMs: 2_000,
    rise: 2,
    fall: 3,
    expectStatus: [[200, 299]],
    maxBodyBytes: 4096,
    headers: {},
    tls: { insecure: false },
    initialState: 'down',
    onMarkedDown: 'keep-connections',
    proxyProtocol: 'inherit',
    proxyProtocolSource: 'local',
    ...overrides,
  }
}

function member(id: string, port: number, weight = 1): MemberEndpoint {
  return { id, address: '127.0.0.1', ports: { http: port }, weight }
}

/** Returns `first` values in turn, then `rest` forever. */
function sequence(first: readonly number[], rest: number): () => number {
  let i = 0
  return () => first[i++] ?? rest
}

interface Recorded {
  readonly id: string
  readonly result: CheckResult
  readonly at: number
}

/** Records every onResult call and lets a test wait for a condition on them. */
class Results {
  readonly all: Recorded[] = []
  readonly #events = new EventEmitter()

  readonly onResult = (id: string, result: CheckResult): void => {
    this.all.push({ id, result, at: monotonicClock.now() })
    this.#events.emit('result')
  }

  of(id: string): Recorded[] {
    return this.all.filter(r => r.id === id)
  }

  count(id: string): number {
    return this.of(id).length
  }

  /** Resolves once `done()` holds after some result; fails the test after `ms`. */
  async until(done: () => boolean, ms = 3_000): Promise<void> {
    const signal = AbortSignal.timeout(ms)
    while (!done()) await once(this.#events, 'result', { signal })
  }
}

async function makeServer(
  t: Test,
  options: HealthServerOptions = {},
): Promise<HealthServer> {
  const server = await startHealthServer(options)
  t.teardown(() => server.close())
  return server
}

function makeChecker(
  t: Test,
  h: HealthConfig,
  results: Results,
  deps: Partial<HealthCheckerDeps> = {},
): HealthChecker {
  const checker = new HealthChecker(
    { health: h, listeners: LISTENERS },
    { clock: monotonicClock, onResult: results.onResult, ...deps },
  )
  t.teardown(() => checker.destroy())
  return checker
}

void t.test(
  'probePort: a fixed port, else the member override, else the listener port',
  t => {
    const withOverride: MemberEndpoint = member('a', 18080)
    const noOverride: MemberEndpoint = {
      id: 'b',
      address: '10.0.0.2',
      ports: {},
      weight: 1,
    }
    const otherOverride: MemberEndpoint = {
      id: 'c',
      address: '10.0.0.3',
      ports: { grpc: 19090 },
      weight: 1,
    }
    const cases: readonly {
      name: string
      m: MemberEndpoint
      port: HealthConfig['port']
      expected: number
    }[] = [
      {
        name: 'fixed port ignores overrides',
        m: withOverride,
        port: 9000,
        expected: 9000,
      },
      {
        name: 'listener with a member override',
        m: withOverride,
        port: 'http',
        expected: 18080,
      },
      {
        name: 'listener without an override',
        m: noOverride,
        port: 'http',
        expected: 8080,
      },
      {
        name: 'override for another listener',
        m: otherOverride,
        port: 'http',
        expected: 8080,
      },
      { name: 'the other listener', m: otherOverride, port: 'grpc', expected: 19090 },
    ]
    t.plan(cases.length + 1)
    for (const { name, m, port, expected } of cases) {
      t.equal(probePort(m, { port }, LISTENERS), expected, name)
    }
    t.throws(() => probePort(withOverride, { port: 'nope' }, LISTENERS), {
      name: 'ConfigError',
      code: 'CONFIG_INVALID',
      message:
        'health.port: expected a port or a listener name ("http", "grpc"), got "nope"',
    })
  },
)

void t.test('memberPort prefers the member override for that listener', t => {
  const listener = { name: 'http', port: 8080 }
  const cases: readonly {
    name: string
    ports: Record<string, number>
    expected: number
  }[] = [
    { name: 'override', ports: { http: 18080 }, expected: 18080 },
    { name: 'no override', ports: {}, expected: 8080 },
    { name: 'another listener overridden', ports: { grpc: 19090 }, expected: 8080 },
  ]
  t.plan(cases.length)
  for (const { name, ports, expected } of cases) {
    t.equal(memberPort({ ports }, listener), expected, name)
  }
})

void t.test('every member is probed, repeatedly, at its own probe port', async t => {
  const servers = [await makeServer(t), await makeServer(t, { status: 503 })]
  const results = new Results()
  const checker = makeChecker(t, health(), results)
  checker.setMembers(servers.map((s, i) => member(`m${i}`, s.port)))
  checker.start()
  await results.until(() => results.count('m0') >= 2 && results.count('m1') >= 2)
  t.ok(
    results.of('m0').every(r => r.result.ok),
    'm0 answers 200',
  )
  t.ok(
    results.of('m1').every(r => !r.result.ok && r.result.reason === 'bad-status'),
    'm1 answers 503',
  )
  for (const server of servers) t.ok(server.requests >= 2, 'each server was probed')
})

void t.test(
  'first probes are spread over the interval, not all in one millisecond',
  async t => {
    const server = await makeServer(t)
    const results = new Results()
    // First delays 0, 40, 80, 120, 160 ms of a 200 ms interval, in member order.
    const random = sequence([0, 0.2, 0.4, 0.6, 0.8], 0.5)
    const checker = makeChecker(t, health({ intervalMs: 200 }), results, { random })
    const ids = ['a', 'b', 'c', 'd', 'e']
    checker.setMembers(ids.map(id => member(id, server.port)))
    const started = monotonicClock.now()
    checker.start()
    await results.until(() => ids.every(id => results.count(id) >= 1))
    const firsts = ids.map(id => results.of(id)[0]?.at ?? NaN)
    t.equal(new Set(firsts.map(at => Math.round(at))).size, ids.length, 'distinct times')
    t.strictSame(
      [...firsts].sort((x, y) => x - y),
      firsts,
      'in the order of their random delays',
    )
    const last = firsts.at(-1) ?? NaN
    t.ok(last - started >= 150, `the last first probe came after its 160 ms delay`)
    t.ok(last - (firsts[0] ?? NaN) >= 100, 'spread over most of the interval')
  },
)

void t.test(
  'a member added at runtime is probed at once; unchanged ones keep their schedule',
  async t => {
    const server = await makeServer(t)
    const results = new Results()
    // First probe of "a" at 0 ms; every later delay is 10 s (jitter 0), or 5 s for a
    // first probe that waited for its random delay.
    const random = sequence([0], 0.5)
    const checker = makeChecker(t, health({ intervalMs: 10_000 }), results, { random })
    checker.setMembers([member('a', server.port)])
    checker.start()
    await results.until(() => results.count('a') === 1)
    const added = monotonicClock.now()
    checker.setMembers([member('a', server.port, 5), member('b', server.port)])
    await results.until(() => results.count('b') === 1, 2_000)
    t.ok(
      monotonicClock.now() - added < 2_000,
      'b was probed long before an interval passed',
    )
    t.equal(results.count('a'), 1, 'a weight change did not re-probe a')
  },
)

void t.test('a removed member is no longer probed', async t => {
  const kept = await makeServer(t)
  const removed = await makeServer(t)
  const results = new Results()
  const checker = makeChecker(t, health(), results)
  checker.setMembers([member('kept', kept.port), member('gone', removed.port)])
  checker.start()
  await results.until(() => results.count('kept') >= 2 && results.count('gone') >= 2)
  checker.setMembers([member('kept', kept.port)])
  const goneResults = results.count('gone')
  const goneRequests = removed.requests
  const keptResults = results.count('kept')
  await results.until(() => results.count('kept') >= keptResults + 5)
  t.equal(results.count('gone'), goneResults, 'no result for the removed member')
  // A probe already written when the member was removed may still arrive.
  t.ok(removed.requests <= goneRequests + 1, 'no new probes to the removed member')
})

void t.test(
  'a member whose probe port changed is re-targeted and probed at once',
  async t => {
    const before = await makeServer(t)
    const after = await makeServer(t, { status: 503 })
    const results = new Results()
    const random = sequence([0], 0.5)
    const checker = makeChecker(t, health({ intervalMs: 10_000 }), results, { random })
    checker.setMembers([member('a', before.port)])
    checker.start()
    await results.until(() => results.count('a') === 1)
    checker.setMembers([member('a', after.port)])
    await results.until(() => results.count('a') === 2, 2_000)
    const second = results.of('a')[1]?.result
    t.equal(second?.ok === false ? second.reason : undefined, 'bad-status')
    t.equal(before.requests, 1, 'the old port got no further probe')
    t.equal(after.requests, 1, 'the new port got one probe')
  },
)

void t.test(
  'a probe running when its member is re-targeted is never reported',
  async t => {
    const slow = await makeServer(t, { delayMs: 300 })
    const fresh = await makeServer(t, { status: 503 })
    const results = new Results()
    const checker = makeChecker(t, health(), results, { random: () => 0 })
    checker.setMembers([member('a', slow.port)])
    checker.start()
    await slow.waitForRequests(1, AbortSignal.timeout(2_000))
    checker.setMembers([member('a', fresh.port)])
    // Six results at 50 ms intervals outlast the slow answer (300 ms).
    await results.until(() => results.count('a') >= 6)
    t.ok(
      results.of('a').every(r => !r.result.ok && r.result.reason === 'bad-status'),
      'only results of the new target',
    )
  },
)

void t.test('updateHealthConfig: new probe settings reuse the connection', async t => {
  const server = await makeServer(t)
  const results = new Results()
  const checker = makeChecker(t, health(), results)
  checker.setMembers([member('a', server.port)])
  checker.start()
  await results.until(() => results.count('a') >= 2)
  checker.updateHealthConfig(health({ path: '/ready', headers: { 'x-reload': '1' } }))
  const seenBefore = server.seen.length
  await results.until(() => results.count('a') >= 5)
  const later = server.seen.slice(seenBefore + 1)
  t.ok(later.length >= 2, 'probes after the reload')
  t.ok(
    later.every(r => r.path === '/ready' && r.headers['x-reload'] === '1'),
    'they use the new path and headers',
  )
  t.equal(server.connections, 1, 'one connection throughout')
})

void t.test('updateHealthConfig: a new probe port gets a new prober', async t => {
  const first = await makeServer(t)
  const second = await makeServer(t)
  const results = new Results()
  const checker = makeChecker(t, health(), results)
  checker.setMembers([member('a', first.port)])
  checker.start()
  await results.until(() => results.count('a') >= 2)
  checker.updateHealthConfig(health({ port: second.port }))
  await second.waitForRequests(2, AbortSignal.timeout(3_000))
  const firstRequests = first.requests
  const count = results.count('a')
  await results.until(() => results.count('a') >= count + 3)
  t.equal(first.requests, firstRequests, 'the old port is no longer probed')
})

void t.test('interval hints switch a member to fastIntervalMs or downIntervalMs', t => {
  for (const hint of ['pending', 'down'] as const) {
    void t.test(`${hint}, set from onResult`, async t => {
      const server = await makeServer(t)
      const results = new Results()
      const h = health({
        intervalMs: 10_000,
        fastIntervalMs: 10_000,
        downIntervalMs: 10_000,
      })
      const checker: HealthChecker = makeChecker(
        t,
        {
          ...h,
          ...(hint === 'pending' ? { fastIntervalMs: 50 } : { downIntervalMs: 50 }),
        },
        results,
        {
          random: sequence([0], 0.5),
          onResult: (id, result) => {
            results.onResult(id, result)
            checker.setIntervalHint(id, hint)
          },
        },
      )
      checker.setMembers([member('a', server.port)])
      checker.start()
      await results.until(() => results.count('a') >= 4, 2_000)
      t.pass('four probes long before one steady interval')
    })
  }

  void t.test(
    'set while a long wait is pending, the shorter interval applies at once',
    async t => {
      const server = await makeServer(t)
      const results = new Results()
      const checker = makeChecker(t, health({ intervalMs: 10_000 }), results, {
        random: sequence([0], 0.5),
      })
      checker.setMembers([member('a', server.port)])
      checker.start()
      await results.until(() => results.count('a') === 1)
      checker.setIntervalHint('unknown', 'down')
      checker.setIntervalHint('a', 'pending')
      await results.until(() => results.count('a') >= 3, 2_000)
      t.pass('probed again without waiting out the 10 s interval')
    },
  )
  t.end()
})

void t.test('probes of one member never overlap', async t => {
  const server = await makeServer(t, { delayMs: 300 })
  const results = new Results()
  const checker = makeChecker(t, health({ intervalMs: 300 }), results, {
    random: () => 0,
  })
  checker.setMembers([member('a', server.port)])
  checker.start()
  await results.until(() => results.count('a') >= 3, 5_000)
  const times = results.of('a').map(r => r.at)
  for (let i = 1; i < times.length; i += 1) {
    const gap = (times[i] ?? NaN) - (times[i - 1] ?? NaN)
    // Answer (300 ms) plus interval (300 ms): a timer that ignored running probes
    // would report every ~300 ms.
    t.ok(gap >= 500, `gap ${Math.round(gap)} ms covers the answer and the interval`)
  }
  t.equal(server.maxConcurrent, 1, 'one request at a time')
})

void t.test('close() stops everything; nothing is reported after it', async t => {
  const slow = await makeServer(t, { delayMs: 200 })
  const other = await makeServer(t)
  const results = new Results()
  const checker = makeChecker(t, health(), results, { random: () => 0 })
  checker.setMembers([member('a', slow.port)])
  checker.start()
  await slow.waitForRequests(1, AbortSignal.timeout(2_000))
  const asked = monotonicClock.now()
  const closing = checker.close()
  t.equal(checker.close(), closing, 'close() is idempotent')
  await closing
  const waitedMs = monotonicClock.now() - asked
  t.ok(waitedMs >= 190, `close() waited ${Math.round(waitedMs)} ms for the running probe`)
  t.equal(results.count('a'), 0, 'the probe running at close() was not reported')
  await slow.waitForNoConnections(AbortSignal.timeout(2_000))
  t.pass('the probe connection was closed')
  checker.setMembers([member('b', other.port)])
  checker.start()
  // A second checker is the clock: ten of its probes span several intervals.
  const witness = new Results()
  const metronome = makeChecker(t, health(), witness)
  metronome.setMembers([member('w', other.port)])
  metronome.start()
  await witness.until(() => witness.count('w') >= 10)
  t.equal(results.all.length, 0, 'no result after close()')
  t.equal(slow.requests, 1, 'no probe after close()')
  t.equal(
    other.requests,
    witness.count('w'),
    'setMembers and start after close() do nothing',
  )
})

void t.test(
  'destroy() aborts a running probe, even while close() waits for it',
  async t => {
    const server = await makeServer(t, { mode: 'hang' })
    const results = new Results()
    const checker = makeChecker(t, health({ timeoutMs: 10_000 }), results, {
      random: () => 0,
    })
    checker.setMembers([member('a', server.port)])
    checker.start()
    await server.waitForRequests(1, AbortSignal.timeout(2_000))
    const started = monotonicClock.now()
    const closing = checker.close()
    await checker.destroy()
    await closing
    t.ok(monotonicClock.now() - started < 2_000, 'returned well before the 10 s timeout')
    t.equal(results.all.length, 0)
  },
)

void t.test('an onResult that throws is logged and does not stop the checks', async t => {
  const server = await makeServer(t)
  const results = new Results()
  const warnings: { obj: object; msg: string }[] = []
  const log: HealthCheckerLog = {
    debug: () => undefined,
    warn: (obj, msg) => warnings.push({ obj, msg }),
  }
  const checker = makeChecker(t, health(), results, {
    log,
    onResult: (id, result) => {
      results.onResult(id, result)
      if (results.count(id) === 1) throw new Error('observer bug')
    },
  })
  checker.setMembers([member('a', server.port)])
  checker.start()
  await results.until(() => results.count('a') >= 3)
  t.equal(warnings.length, 1)
  t.match(warnings[0], { obj: { member: 'a', err: { message: 'observer bug' } } })
  t.equal(warnings[0]?.msg, 'health result handler failed')
})

void t.test('a health.port naming no listener throws and changes nothing', async t => {
  const first = await makeServer(t)
  const results = new Results()
  const checker = makeChecker(t, health(), results)
  checker.setMembers([member('a', first.port)])
  checker.start()
  await results.until(() => results.count('a') >= 1)
  t.throws(
    () => {
      checker.updateHealthConfig(health({ port: 'nope', path: '/other' }))
    },
    {
      code: 'CONFIG_INVALID',
    },
  )
  checker.setMembers([member('a', first.port), member('b', first.port)])
  const count = results.count('a')
  await results.until(() => results.count('a') >= count + 3 && results.count('b') >= 1)
  t.ok(
    first.seen.every(r => r.path === '/health'),
    'old and new members are probed with the old settings',
  )
})

void t.test('without a log, a throwing onResult becomes a process warning', async t => {
  const server = await makeServer(t)
  const results = new Results()
  const checker = makeChecker(t, health(), results, {
    onResult: () => {
      throw new Error('observer bug')
    },
  })
  checker.setMembers([member('a', server.port)])
  const warned = once(process, 'warning', { signal: AbortSignal.timeout(3_000) })
  checker.start()
  const args: unknown[] = await warned
  const warning = args[0]
  t.match(warning, {
    message: 'health result handler failed for member a',
    detail: 'Error: observer bug',
  })
})
