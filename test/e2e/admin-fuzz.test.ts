// A seeded, bounded fuzz of the admin API against a real corral in the default mode
// (`workers: auto`): random methods, request targets, headers and bodies, sent byte for
// byte. For every request: an HTTP answer, never a 5xx (but /readyz's documented 503),
// no 2xx on a mutation without the token, and the pool unchanged unless the request was
// an accepted mutation. Afterwards the process is healthy and logged no error.
// Replay a run with FUZZ_SEED=<seed>; FUZZ_RUNS sets the number of requests.
import { randomInt } from 'node:crypto'
import t from 'tap'
import { startReplica } from '../../src/demo/replica.js'
import { startCorral } from '../helpers/corral-process.js'
import { lbYaml } from '../helpers/lb-config.js'
import { rawRequest, type RawRequest, type RawResponse } from '../helpers/raw-request.js'

const TOKEN = 'fuzz-token-0123456789'
const SEED = Number(process.env.FUZZ_SEED ?? randomInt(2 ** 31))
const RUNS = Number(process.env.FUZZ_RUNS ?? 300)
/** Wall-clock budget for the request loop; the run stops early (and says so) past it. */
const BUDGET_MS = 90_000

t.setTimeout(BUDGET_MS + 60_000)

/** mulberry32: a tiny seeded PRNG (public domain, Tommy Ettinger); same seed, same run. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

/** The random choices of one run, all drawn from one seeded PRNG. */
class Gen {
  readonly #next: () => number
  constructor(seed: number) {
    this.#next = prng(seed)
  }
  int(n: number): number {
    return Math.floor(this.#next() * n)
  }
  chance(p: number): boolean {
    return this.#next() < p
  }
  /** One of `items` (lists use null, not undefined, for "leave it out"). */
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)]
    if (item === undefined) throw new Error('pick from an empty list')
    return item
  }
  bytes(n: number): Buffer {
    return Buffer.from(Array.from({ length: n }, () => this.int(256)))
  }
  /** Characters a request target may hold (RFC 3986 unreserved, sub-delims, ":@/?%"). */
  text(n: number): string {
    const chars = "abcXYZ019-._~!$&'()*+,;=:@/?%"
    return Array.from({ length: n }, () => chars.charAt(this.int(chars.length))).join('')
  }
}

const METHODS = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'OPTIONS',
  'PATCH',
  'TRACE',
  'get',
  'FOO',
]
const MUTATING = new Set(['POST', 'PUT', 'DELETE', 'PATCH'])
const IDS = [
  'r1',
  'r2',
  'fz-1',
  'fz-2',
  'nope',
  'a%2Fb',
  '..',
  '%2e%2e',
  'x'.repeat(64),
  '-bad',
  '',
]
const ACTIONS = ['drain', 'enable', 'disable', 'remove', '', 'drain/', 'DRAIN']

function target(g: Gen): string {
  const id = g.pick(IDS)
  const base = g.pick([
    '/',
    '/healthz',
    '/readyz',
    '/metrics',
    '/api/v1/pool',
    `/api/v1/members/${id}`,
    `/api/v1/members/${id}/${g.pick(ACTIONS)}`,
    `//${g.text(g.int(12))}`,
    `//api/v1/members/${id}/drain`,
    `//${g.text(g.int(6))}/api/v1/members/${id}/drain`,
    `/api/v1/../v1/members/${id}`,
    `/%61pi/v1/pool`,
    `/api%2Fv1%2Fpool`,
    `/${g.text(g.int(40))}`,
    `/${'a/'.repeat(2_000 + g.int(8_000))}`,
    '*',
    `http://127.0.0.1/api/v1/members/${id}/drain`,
  ])
  const query = g.pick([
    '',
    '',
    `?${g.text(g.int(30))}`,
    `?q=${'x'.repeat(1_000 + g.int(20_000))}`,
    '?%zz',
    '?',
  ])
  return `${base}${query}`
}

/** The documented paths, as the docs write them: only these may answer 2xx. */
const DOCUMENTED = [
  /^\/$/,
  /^\/healthz$/,
  /^\/readyz$/,
  /^\/metrics$/,
  /^\/api\/v1\/pool$/,
  /^\/api\/v1\/members\/[A-Za-z0-9][A-Za-z0-9._-]{0,62}(?:\/drain|\/enable|\/disable)?$/,
]

/** A well-formed mutation (valid path, body and mostly the right token): reaches handlers. */
function plausibleMutation(g: Gen): RawRequest {
  const id = g.pick(['r1', 'r2', 'fz-1', 'fz-2'])
  const auth = g.pick([
    `Bearer ${TOKEN}`,
    `Bearer ${TOKEN}`,
    `Bearer ${TOKEN}-wrong`,
    null,
  ])
  const headers: [string, string][] = [['Content-Type', 'application/json']]
  if (auth !== null) headers.push(['Authorization', auth])
  const kind = g.int(3)
  if (kind === 0)
    return {
      method: 'POST',
      target: `/api/v1/members/${id}/${g.pick(['drain', 'enable', 'disable'])}`,
      headers,
    }
  if (kind === 1)
    return {
      method: 'PUT',
      target: `/api/v1/members/${id}`,
      headers,
      body: JSON.stringify({ address: '127.0.0.1', ports: { http: 1 + g.int(65_535) } }),
    }
  return {
    method: 'DELETE',
    target: `/api/v1/members/${g.pick(['fz-1', 'fz-2'])}`,
    headers,
  }
}

function headers(g: Gen): [string, string][] {
  const out: [string, string][] = []
  const type = g.pick([
    null,
    'application/json',
    'application/json; charset=utf-8',
    'APPLICATION/JSON',
    'text/plain',
    'application/jsonx',
    'multipart/form-data; boundary=x',
    '',
  ])
  if (type !== null) out.push(['Content-Type', type])
  const auth = g.pick([
    null,
    `Bearer ${TOKEN}`,
    `bearer ${TOKEN}`,
    `Bearer ${TOKEN}x`,
    'Bearer',
    'Bearer ',
    `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`,
    `Bearer ${TOKEN} extra`,
    `Bearer ${'A'.repeat(4_000 + g.int(20_000))}`,
  ])
  if (auth !== null) out.push(['Authorization', auth])
  if (g.chance(0.1)) out.push(['Transfer-Encoding', 'chunked'])
  return out
}

function body(g: Gen): Buffer | string | null {
  const port = 1 + g.int(65_535)
  return g.pick([
    null,
    null,
    JSON.stringify({ address: '127.0.0.1', ports: { http: port } }),
    JSON.stringify({ address: '127.0.0.1', weight: 1 + g.int(300) }),
    JSON.stringify({ address: '127.0.0.1', ports: { nope: port } }),
    JSON.stringify({ id: 'other', address: '127.0.0.1' }),
    '{"address": "127.0.0.1",',
    'null',
    '[]',
    '"text"',
    `${'['.repeat(10_000 + g.int(20_000))}${']'.repeat(10_000)}`,
    `{"address":${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}}`,
    g.bytes(g.int(2_000)),
    `{"address":"${'x'.repeat(70_000)}"}`,
  ])
}

// Methods Node's HTTP parser (llhttp) accepts; others never reach corral.
const PARSER_METHODS = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'OPTIONS',
  'PATCH',
  'TRACE',
])

/**
 * Whether Node's HTTP parser itself rejects the request (unknown method, Transfer-Encoding
 * with Content-Length, a head over its 16 KiB limit). It then answers 400/431 and destroys
 * the socket, so a body still in flight can turn that answer into a reset: allowed here.
 */
function parserRejects(req: RawRequest): boolean {
  const hs = req.headers ?? []
  const headBytes =
    req.method.length +
    req.target.length +
    hs.reduce((n, [k, v]) => n + k.length + v.length + 4, 0)
  const chunked = hs.some(([k]) => k === 'Transfer-Encoding')
  const hasLength =
    req.body !== undefined || req.method === 'POST' || req.method === 'PUT'
  return (
    !PARSER_METHODS.has(req.method) || (chunked && hasLength) || headBytes > 15 * 1024
  )
}

function describe(req: RawRequest): string {
  const head = `${req.method} ${req.target.slice(0, 100)}${req.target.length > 100 ? `… (${req.target.length} chars)` : ''}`
  const hs = (req.headers ?? []).map(
    ([k, v]) => `${k}: ${v.slice(0, 40)}${v.length > 40 ? '…' : ''}`,
  )
  const b = req.body === undefined ? 'no body' : `${req.body.length}-byte body`
  return [head, ...hs, b].join(' | ')
}

/** The parts of the pool only an accepted mutation may change (health moves by itself). */
function membership(pool: unknown): string {
  const members =
    pool !== null &&
    typeof pool === 'object' &&
    'members' in pool &&
    Array.isArray(pool.members)
      ? (pool.members as Record<string, unknown>[])
      : []
  return JSON.stringify(
    members.map(m => [m.id, m.address, m.ports, m.weight, m.admin, m.removing]),
  )
}

async function poolOf(port: number): Promise<unknown> {
  const res = await rawRequest(port, { method: 'GET', target: '/api/v1/pool' })
  if (res.status !== 200) throw new Error(`GET /api/v1/pool: ${res.status} ${res.body}`)
  return JSON.parse(res.body) as unknown
}

void t.test(
  'the admin API survives random requests with no 5xx and no unauthorised change',
  async t => {
    t.comment(`admin fuzz: seed ${SEED}, ${RUNS} requests (replay: FUZZ_SEED=${SEED})`)
    const replicas = await Promise.all(['r1', 'r2'].map(id => startReplica(id)))
    t.teardown(() => Promise.all(replicas.map(r => r.kill())))
    const lb = await startCorral(
      t.testdir(),
      lbYaml(replicas, {
        admin: `{ bind: "127.0.0.1:0", token: "${TOKEN}" }`,
        extra: 'workers: auto',
      }),
      { readyTimeoutMs: 30_000 },
    )
    t.teardown(() => lb.stop())
    const port = lb.adminPort

    const g = new Gen(SEED)
    const deadline = Date.now() + BUDGET_MS
    let expected = membership(await poolOf(port))
    const failures: string[] = []
    let sent = 0
    let resets = 0
    const statuses = new Map<number, number>()
    for (let i = 0; i < RUNS && failures.length === 0; i++) {
      if (Date.now() > deadline) {
        t.comment(`stopped after ${i} requests: the ${BUDGET_MS} ms budget ran out`)
        break
      }
      const req: RawRequest = {
        method: g.pick(METHODS),
        target: target(g),
        headers: headers(g),
      }
      const b = body(g)
      const full: RawRequest = g.chance(0.25)
        ? plausibleMutation(g)
        : b === null
          ? req
          : { ...req, body: b }
      const where = `request ${i} (seed ${SEED}): ${describe(full)}`
      let res: RawResponse
      try {
        res = await rawRequest(port, full, 10_000)
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err)
        if (!parserRejects(full) || !/ECONNRESET|EPIPE|no HTTP response/.test(message)) {
          failures.push(`${where}: no HTTP answer: ${message}`)
          break
        }
        resets++
        res = { status: 0, headers: {}, body: '' }
      }
      sent++
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
      const path = full.target.split('?')[0]
      if (res.status >= 500 && !(res.status === 503 && path === '/readyz'))
        failures.push(`${where}: ${res.status} ${res.body.slice(0, 300)}`)
      const authorised = (full.headers ?? []).some(
        ([k, v]) =>
          k === 'Authorization' &&
          /^Bearer\s+\S+\s*$/i.test(v) &&
          v.trim().split(/\s+/)[1] === TOKEN,
      )
      const mutation = MUTATING.has(full.method)
      const accepted = mutation && res.status >= 200 && res.status < 300
      if (
        res.status >= 200 &&
        res.status < 300 &&
        !DOCUMENTED.some(d => d.test(path ?? ''))
      )
        failures.push(`${where}: ${res.status} on a path that is not documented`)
      if (accepted && !authorised)
        failures.push(`${where}: ${res.status} for a mutation without the token`)
      if (accepted && full.method === 'DELETE') {
        // Removal completes once the member is idle: wait for it, bounded.
        const id = path?.split('/')[4] ?? ''
        const until = Date.now() + 10_000
        while (membership(await poolOf(port)).includes(`"${id}"`) && Date.now() < until) {
          await new Promise(resolve => setImmediate(resolve))
        }
      }
      const now = membership(await poolOf(port))
      if (!accepted && now !== expected)
        failures.push(
          `${where}: ${res.status} but the pool changed:\n  before ${expected}\n  after  ${now}`,
        )
      expected = now
    }
    t.strictSame(failures, [], `every answer as specified (seed ${SEED})`)
    t.comment(
      `resets by Node's parser (status 0): ${resets}; statuses: ${[...statuses]
        .sort(([a], [b]) => a - b)
        .map(([s, n]) => `${s}×${n}`)
        .join(' ')}`,
    )
    t.ok(sent > 0, 'requests were sent')

    const health = await rawRequest(port, { method: 'GET', target: '/healthz' })
    t.equal(health.status, 200, 'still healthy afterwards')
    const metrics = await rawRequest(port, { method: 'GET', target: '/metrics' })
    t.equal(metrics.status, 200, 'still scrapeable afterwards')
    t.equal(lb.proc.exitCode, null, 'the process is still running')
    const errors = lb.logs.filter(l => typeof l.level === 'number' && l.level >= 50)
    t.strictSame(errors, [], 'nothing logged at error level')
    t.equal(await lb.stop(), 0, 'and it shuts down cleanly')
  },
)
