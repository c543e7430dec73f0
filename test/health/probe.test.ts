import t from 'tap'
import { monotonicClock } from '../../src/clock.js'
import type { Clock } from '../../src/clock.js'
import {
  Prober,
  classifyFailure,
  isExpectedStatus,
  probeOrigin,
  sameProbeTarget,
} from '../../src/health/probe.js'
import type {
  ClassifiedFailure,
  ProbeSettings,
  ProbeTarget,
} from '../../src/health/probe.js'
import type { CheckResult } from '../../src/pool/types.js'
import {
  deadPort,
  startHealthServer,
  startSilentServer,
} from '../helpers/health-server.js'
import type { HealthServer, HealthServerOptions } from '../helpers/health-server.js'
import { makeSelfSignedCert } from '../helpers/tls-cert.js'

/** The part of a tap test the helpers need. */
interface Test {
  teardown(fn: () => unknown): void
}

const SETTINGS: ProbeSettings = {
  path: '/health',
  timeoutMs: 2_000,
  expectStatus: [[200, 299]],
  maxBodyBytes: 4096,
  headers: {},
}

/** A clock that advances by `stepMs` on every read, so latencyMs is exactly `stepMs`. */
function steppingClock(stepMs: number): Clock {
  let now = 1_000
  return {
    now: () => {
      const value = now
      now += stepMs
      return value
    },
  }
}

function httpTarget(
  port: number,
  tls: ProbeTarget['tls'] = { insecure: false },
): ProbeTarget {
  return { scheme: 'http', address: '127.0.0.1', port, tls }
}

function httpsTarget(port: number, tls: ProbeTarget['tls']): ProbeTarget {
  return { scheme: 'https', address: '127.0.0.1', port, tls }
}

function makeProber(
  t: Test,
  target: ProbeTarget,
  settings: Partial<ProbeSettings> = {},
  clock: Clock = monotonicClock,
): Prober {
  const prober = new Prober({ target, settings: { ...SETTINGS, ...settings } }, { clock })
  t.teardown(() => prober.destroy())
  return prober
}

async function makeServer(
  t: Test,
  options: HealthServerOptions = {},
): Promise<HealthServer> {
  const server = await startHealthServer(options)
  t.teardown(() => server.close())
  return server
}

function failure(result: CheckResult): { reason: string; detail: string } | undefined {
  return result.ok ? undefined : { reason: result.reason, detail: result.detail }
}

function codeError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code })
}

void t.test(
  'a 2xx answer is ok, with its status and the latency the clock measured',
  async t => {
    const server = await makeServer(t)
    const prober = makeProber(t, httpTarget(server.port), {}, steppingClock(42))
    t.strictSame(await prober.probe(), { ok: true, latencyMs: 42, status: 200 })
    t.equal(server.seen[0]?.path, '/health')
    t.equal(server.seen[0]?.headers['user-agent'], 'corral-health-check')
  },
)

void t.test('a 503 is bad-status with the status in the detail', async t => {
  const server = await makeServer(t, { status: 503 })
  const prober = makeProber(t, httpTarget(server.port), {}, steppingClock(7))
  t.strictSame(await prober.probe(), {
    ok: false,
    reason: 'bad-status',
    detail: 'status 503',
    latencyMs: 7,
    status: 503,
  })
})

void t.test('custom expectStatus ranges decide which statuses are ok', async t => {
  const cases: readonly { status: number; ok: boolean }[] = [
    { status: 200, ok: true },
    { status: 201, ok: false },
    { status: 404, ok: true },
    { status: 418, ok: true },
    { status: 420, ok: true },
    { status: 421, ok: false },
    { status: 503, ok: false },
  ]
  t.plan(cases.length)
  const server = await makeServer(t)
  const prober = makeProber(t, httpTarget(server.port), {
    expectStatus: [
      [200, 200],
      [404, 404],
      [418, 420],
    ],
  })
  for (const { status, ok } of cases) {
    server.setStatus(status)
    const result = await prober.probe()
    t.strictSame(
      { ok: result.ok, status: result.status },
      { ok, status },
      `status ${status}`,
    )
  }
})

void t.test(
  'path and extra headers are sent, and a configured user-agent wins',
  async t => {
    const server = await makeServer(t)
    const prober = makeProber(t, httpTarget(server.port), {
      path: '/ready?deep=1',
      headers: { 'x-probe': 'corral', Host: 'svc.internal', 'User-Agent': 'custom/1' },
    })
    t.equal((await prober.probe()).ok, true)
    const seen = server.seen[0]
    t.equal(seen?.path, '/ready?deep=1')
    t.equal(seen?.headers['x-probe'], 'corral')
    t.equal(seen?.headers.host, 'svc.internal')
    t.equal(seen?.headers['user-agent'], 'custom/1')
  },
)

void t.test(
  'settings changed with setSettings apply to the next probe on the same connection',
  async t => {
    const server = await makeServer(t)
    const prober = makeProber(t, httpTarget(server.port))
    t.equal((await prober.probe()).ok, true)
    prober.setSettings({ ...SETTINGS, path: '/other', expectStatus: [[500, 599]] })
    t.strictSame(failure(await prober.probe()), {
      reason: 'bad-status',
      detail: 'status 200',
    })
    t.strictSame(
      server.seen.map(s => s.path),
      ['/health', '/other'],
    )
    t.equal(server.connections, 1)
  },
)

void t.test(
  'a port nothing listens on is refused, and the detail names the address',
  async t => {
    const port = await deadPort()
    const prober = makeProber(t, httpTarget(port))
    t.strictSame(failure(await prober.probe()), {
      reason: 'refused',
      detail: `connect ECONNREFUSED 127.0.0.1:${port}`,
    })
  },
)

void t.test('a member that never answers times out after timeoutMs', async t => {
  const server = await makeServer(t, { mode: 'hang' })
  const prober = makeProber(t, httpTarget(server.port), { timeoutMs: 200 })
  const started = monotonicClock.now()
  const result = await prober.probe()
  const elapsedMs = monotonicClock.now() - started
  t.strictSame(failure(result), { reason: 'timeout', detail: 'no response within 200ms' })
  t.ok(elapsedMs >= 190, `waited ${elapsedMs}ms, at least the timeout`)
  t.ok(elapsedMs < 1_500, `waited ${elapsedMs}ms, not much longer than the timeout`)
  t.equal(server.requests, 1)
})

void t.test('a TLS handshake that never completes times out', async t => {
  const server = await startSilentServer()
  t.teardown(() => server.close())
  const prober = makeProber(t, httpsTarget(server.port, { insecure: true }), {
    timeoutMs: 200,
  })
  t.equal(failure(await prober.probe())?.reason, 'timeout')
})

void t.test('a connection destroyed instead of answered is reset', async t => {
  const server = await makeServer(t, { mode: 'reset' })
  const prober = makeProber(t, httpTarget(server.port))
  t.equal(failure(await prober.probe())?.reason, 'reset')
  t.equal(server.requests, 1)
})

void t.test(
  'a body cut short by a closed connection is reset, even with a good status',
  async t => {
    const server = await makeServer(t, { mode: 'truncate', body: 'partial' })
    const prober = makeProber(t, httpTarget(server.port))
    t.equal(failure(await prober.probe())?.reason, 'reset')
  },
)

void t.test(
  'a body over maxBodyBytes is read off and the connection is reused',
  async t => {
    // The second half arrives after the headers: the probe must read past maxBodyBytes.
    const server = await makeServer(t, { body: 'x'.repeat(4096), splitBodyMs: 20 })
    const prober = makeProber(t, httpTarget(server.port), { maxBodyBytes: 16 })
    for (let i = 0; i < 3; i += 1)
      t.equal((await prober.probe()).ok, true, `probe ${i + 1}`)
    t.equal(server.requests, 3)
    t.equal(server.connections, 1, 'one kept-alive connection for three probes')
  },
)

void t.test(
  'a body far past the drain allowance is cut off without failing the probe',
  async t => {
    const server = await makeServer(t, { body: Buffer.alloc(4 * 1024 * 1024, 'x') })
    const prober = makeProber(t, httpTarget(server.port), { maxBodyBytes: 16 })
    t.equal((await prober.probe()).ok, true, 'first probe')
    t.equal((await prober.probe()).ok, true, 'second probe')
    t.equal(server.connections, 2, 'the cut-off connection was not reused')
  },
)

void t.test(
  'a cancelled probe resolves with reason error instead of rejecting',
  async t => {
    const server = await makeServer(t, { mode: 'hang' })
    const prober = makeProber(t, httpTarget(server.port), { timeoutMs: 10_000 })
    const pending = prober.probe()
    await server.waitForRequests(1, AbortSignal.timeout(2_000))
    prober.cancel()
    t.strictSame(failure(await pending), { reason: 'error', detail: 'probe aborted' })
    prober.cancel() // nothing in flight: no effect
    const next = prober.probe()
    await server.waitForRequests(2, AbortSignal.timeout(2_000))
    prober.cancel()
    t.strictSame(failure(await next), { reason: 'error', detail: 'probe aborted' })
  },
)

void t.test('a probe after close resolves with reason error', async t => {
  const server = await makeServer(t)
  const prober = makeProber(t, httpTarget(server.port))
  await prober.close()
  await prober.close()
  t.equal(failure(await prober.probe())?.reason, 'error')
  t.equal(server.requests, 0)
})

void t.test('HTTPS probes verify the member certificate', async t => {
  const cert = makeSelfSignedCert(t.testdir(), {
    cn: 'localhost',
    san: ['localhost', '127.0.0.1'],
  })
  const server = await makeServer(t, { tls: { key: cert.key, cert: cert.cert } })

  void t.test('verified with caPem, sending servername as SNI', async t => {
    const tls = { insecure: false, caPem: cert.ca, servername: 'localhost' }
    const prober = makeProber(t, httpsTarget(server.port, tls))
    t.strictSame((await prober.probe()).ok, true)
    t.equal(server.servernames.at(-1), 'localhost')
  })

  void t.test('verified against the address when there is no servername', async t => {
    const prober = makeProber(
      t,
      httpsTarget(server.port, { insecure: false, caPem: cert.ca }),
    )
    t.strictSame((await prober.probe()).ok, true)
  })

  void t.test('fails with reason tls without the CA', async t => {
    const prober = makeProber(t, httpsTarget(server.port, { insecure: false }))
    const result = failure(await prober.probe())
    t.equal(result?.reason, 'tls')
    t.match(result?.detail, /UNABLE_TO_VERIFY_LEAF_SIGNATURE/)
  })

  void t.test(
    'fails with reason tls when servername is not in the certificate',
    async t => {
      const tls = { insecure: false, caPem: cert.ca, servername: 'other.example' }
      const prober = makeProber(t, httpsTarget(server.port, tls))
      const result = failure(await prober.probe())
      t.equal(result?.reason, 'tls')
      t.match(result?.detail, /ERR_TLS_CERT_ALTNAME_INVALID/)
    },
  )

  void t.test('passes without the CA when insecure', async t => {
    const prober = makeProber(t, httpsTarget(server.port, { insecure: true }))
    t.strictSame((await prober.probe()).ok, true)
  })

  void t.test('servername wins over a Host header for SNI', async t => {
    const tls = { insecure: false, caPem: cert.ca, servername: 'localhost' }
    const prober = makeProber(t, httpsTarget(server.port, tls), {
      headers: { host: 'other.example' },
    })
    t.strictSame((await prober.probe()).ok, true)
    t.equal(server.servernames.at(-1), 'localhost')
    t.equal(server.seen.at(-1)?.headers.host, 'other.example')
  })

  void t.test('an HTTPS probe to a plain HTTP member fails with reason tls', async t => {
    const plain = await makeServer(t)
    const prober = makeProber(t, httpsTarget(plain.port, { insecure: true }))
    t.equal(failure(await prober.probe())?.reason, 'tls')
  })
})

void t.test('classifyFailure maps errors to the closed reason set', t => {
  const refused = codeError('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.11:443')
  const cases: readonly { name: string; err: unknown; expected: ClassifiedFailure }[] = [
    {
      name: 'refused',
      err: refused,
      expected: { reason: 'refused', detail: refused.message },
    },
    {
      name: 'connect timeout',
      err: codeError('UND_ERR_CONNECT_TIMEOUT', 'Connect Timeout Error'),
      expected: {
        reason: 'timeout',
        detail: 'Connect Timeout Error (UND_ERR_CONNECT_TIMEOUT)',
      },
    },
    {
      name: 'headers timeout',
      err: codeError('UND_ERR_HEADERS_TIMEOUT', 'Headers Timeout Error'),
      expected: {
        reason: 'timeout',
        detail: 'Headers Timeout Error (UND_ERR_HEADERS_TIMEOUT)',
      },
    },
    {
      name: 'ETIMEDOUT',
      err: codeError('ETIMEDOUT', 'connect ETIMEDOUT 10.0.0.11:443'),
      expected: { reason: 'timeout', detail: 'connect ETIMEDOUT 10.0.0.11:443' },
    },
    {
      name: 'AbortSignal.timeout reason',
      err: new DOMException('The operation was aborted due to timeout', 'TimeoutError'),
      expected: { reason: 'timeout', detail: 'The operation was aborted due to timeout' },
    },
    {
      name: 'ECONNRESET',
      err: codeError('ECONNRESET', 'read ECONNRESET'),
      expected: { reason: 'reset', detail: 'read ECONNRESET' },
    },
    {
      name: 'undici socket closed',
      err: codeError('UND_ERR_SOCKET', 'other side closed'),
      expected: { reason: 'reset', detail: 'other side closed (UND_ERR_SOCKET)' },
    },
    {
      name: 'ENOTFOUND',
      err: codeError('ENOTFOUND', 'getaddrinfo ENOTFOUND db.invalid'),
      expected: { reason: 'dns', detail: 'getaddrinfo ENOTFOUND db.invalid' },
    },
    {
      name: 'EAI_AGAIN',
      err: codeError('EAI_AGAIN', 'getaddrinfo EAI_AGAIN db.example'),
      expected: { reason: 'dns', detail: 'getaddrinfo EAI_AGAIN db.example' },
    },
    ...[
      'ERR_TLS_CERT_ALTNAME_INVALID',
      'CERT_HAS_EXPIRED',
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'SELF_SIGNED_CERT_IN_CHAIN',
      'ERR_SSL_WRONG_VERSION_NUMBER',
    ].map(code => ({
      name: code,
      err: codeError(code, 'tls trouble'),
      expected: { reason: 'tls' as const, detail: `tls trouble (${code})` },
    })),
    {
      name: 'a cause decides when the wrapper has no known code',
      err: new Error('fetch failed', { cause: refused }),
      expected: { reason: 'refused', detail: refused.message },
    },
    {
      name: 'an AggregateError (happy eyeballs) uses its members',
      err: new AggregateError([
        refused,
        codeError('ECONNREFUSED', 'connect ECONNREFUSED ::1'),
      ]),
      expected: { reason: 'refused', detail: refused.message },
    },
    {
      name: 'an unknown code is error, with the code in the detail',
      err: codeError('EWHATEVER', 'strange'),
      expected: { reason: 'error', detail: 'strange (EWHATEVER)' },
    },
    {
      name: 'a plain error is error',
      err: new Error('boom\nsecond line'),
      expected: { reason: 'error', detail: 'boom' },
    },
    {
      name: 'a thrown string is error',
      err: 'weird',
      expected: { reason: 'error', detail: 'weird' },
    },
  ]
  t.plan(cases.length + 1)
  for (const { name, err, expected } of cases)
    t.strictSame(classifyFailure(err), expected, name)
  const long = classifyFailure(new Error('y'.repeat(1_000)))
  t.equal(long.detail.length, 200, 'a long detail is cut to 200 characters')
})

void t.test('isExpectedStatus treats ranges as inclusive', t => {
  const ranges: readonly (readonly [number, number])[] = [
    [200, 299],
    [404, 404],
  ]
  const cases: readonly [number, boolean][] = [
    [199, false],
    [200, true],
    [299, true],
    [300, false],
    [404, true],
    [405, false],
  ]
  t.plan(cases.length + 1)
  for (const [status, expected] of cases) {
    t.equal(isExpectedStatus(status, ranges), expected, `status ${status}`)
  }
  t.equal(isExpectedStatus(200, []), false, 'no ranges: nothing is ok')
})

void t.test('probeOrigin brackets IPv6 addresses', t => {
  t.plan(3)
  t.equal(
    probeOrigin({ scheme: 'http', address: '10.0.0.1', port: 80 }),
    'http://10.0.0.1:80',
  )
  t.equal(
    probeOrigin({ scheme: 'https', address: '::1', port: 8443 }),
    'https://[::1]:8443',
  )
  t.equal(
    probeOrigin({ scheme: 'http', address: 'db-1.local', port: 8080 }),
    'http://db-1.local:8080',
  )
})

void t.test('sameProbeTarget compares scheme, address, port and TLS settings', t => {
  const base = httpTarget(8080, { insecure: false, caPem: 'CA', servername: 'a' })
  const cases: readonly { name: string; other: ProbeTarget; same: boolean }[] = [
    { name: 'identical copy', other: { ...base, tls: { ...base.tls } }, same: true },
    { name: 'scheme', other: { ...base, scheme: 'https' }, same: false },
    { name: 'address', other: { ...base, address: '127.0.0.2' }, same: false },
    { name: 'port', other: { ...base, port: 8081 }, same: false },
    {
      name: 'insecure',
      other: { ...base, tls: { ...base.tls, insecure: true } },
      same: false,
    },
    {
      name: 'caPem',
      other: { ...base, tls: { ...base.tls, caPem: 'CA2' } },
      same: false,
    },
    {
      name: 'servername',
      other: { ...base, tls: { ...base.tls, servername: 'b' } },
      same: false,
    },
    {
      name: 'ca path only',
      other: { ...base, tls: { ...base.tls, ca: '/x.pem' } },
      same: true,
    },
  ]
  t.plan(cases.length)
  for (const { name, other, same } of cases)
    t.equal(sameProbeTarget(base, other), same, name)
})
