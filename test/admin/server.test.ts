// Request targets reach the route table verbatim: "//x", "%2F", ".." and absolute forms
// get a 4xx, never the status page and never a 500; 405 says which methods are allowed.
import t, { type Test } from 'tap'
import { AdminServer, type AdminApi } from '../../src/admin/server.js'
import { rawRequest } from '../helpers/raw-request.js'

const TOKEN = 'unit-test-token'

function fakeApi(): AdminApi & { calls: string[] } {
  const calls: string[] = []
  const member = (op: string, id: string) => {
    calls.push(`${op} ${id}`)
    return Promise.resolve({ ok: true as const, member: { id } })
  }
  return {
    calls,
    pool: () => ({ members: [] }),
    ready: () => ({ ready: true, reason: 'ok' }),
    drain: id => member('drain', id),
    enable: id => member('enable', id),
    disable: id => member('disable', id),
    upsert: m => {
      calls.push(`upsert ${m.id}`)
      return Promise.resolve({ member: { id: m.id }, created: true })
    },
    remove: id => member('remove', id),
    metrics: () => Promise.resolve({ contentType: 'text/plain', body: '' }),
    statusPage: () => '<html>status</html>',
  }
}

async function start(t: Test) {
  const api = fakeApi()
  const errors: unknown[] = []
  const server = new AdminServer(
    { host: '127.0.0.1', port: 0, token: TOKEN, listenerNames: ['http'] },
    api,
    err => errors.push(err),
  )
  const port = await server.listen()
  t.teardown(() => server.close())
  return { api, port, errors }
}

const AUTH: readonly (readonly [string, string])[] = [
  ['Authorization', `Bearer ${TOKEN}`],
]
const JSON_TYPE: readonly (readonly [string, string])[] = [
  ...AUTH,
  ['Content-Type', 'application/json'],
]

interface Case {
  readonly name: string
  readonly method: string
  readonly target: string
  readonly status: number
  readonly allow?: string
  readonly headers?: readonly (readonly [string, string])[]
  readonly body?: string
}

const cases: readonly Case[] = [
  {
    name: 'GET //anything is not the status page',
    method: 'GET',
    target: '//anything',
    status: 404,
  },
  { name: 'GET // is not the status page', method: 'GET', target: '//', status: 404 },
  {
    name: 'GET //healthz is not /healthz',
    method: 'GET',
    target: '//healthz',
    status: 404,
  },
  {
    name: 'GET //host/api/v1/pool is not the pool',
    method: 'GET',
    target: '//host/api/v1/pool',
    status: 404,
  },
  {
    name: 'POST //a:b (bad port as authority) is a 404',
    method: 'POST',
    target: '//a:b',
    status: 404,
    headers: AUTH,
  },
  {
    name: 'PUT //[::1 (bad IPv6 authority) is a 404',
    method: 'PUT',
    target: '//[::1',
    status: 404,
    headers: JSON_TYPE,
    body: '{}',
  },
  {
    name: 'OPTIONS //x:99999 is a 404',
    method: 'OPTIONS',
    target: '//x:99999',
    status: 404,
  },
  {
    name: 'POST //%zz is a 404',
    method: 'POST',
    target: '//%zz',
    status: 404,
    headers: AUTH,
  },
  { name: 'OPTIONS * is a 400', method: 'OPTIONS', target: '*', status: 400 },
  {
    name: 'an absolute-form target is a 400',
    method: 'GET',
    target: 'http://admin/healthz',
    status: 400,
  },
  {
    name: 'a percent-escaped path is not decoded',
    method: 'GET',
    target: '/%68ealthz',
    status: 404,
  },
  {
    name: 'dot segments are not resolved',
    method: 'GET',
    target: '/api/v1/../../healthz',
    status: 404,
  },
  {
    name: 'an encoded slash in an id is a 404',
    method: 'POST',
    target: '/api/v1/members/a%2Fb/drain',
    status: 404,
    headers: AUTH,
  },
  {
    name: 'a trailing slash is another path',
    method: 'GET',
    target: '/healthz/',
    status: 404,
  },
  {
    name: 'a query string is allowed on GET /healthz',
    method: 'GET',
    target: '/healthz?x=%zz',
    status: 200,
  },
  { name: 'GET / is the status page', method: 'GET', target: '/', status: 200 },
  {
    name: 'POST / is a 405 naming GET and HEAD',
    method: 'POST',
    target: '/',
    status: 405,
    allow: 'GET, HEAD',
  },
  {
    name: 'OPTIONS on a member path is a 405',
    method: 'OPTIONS',
    target: '/api/v1/members/r1',
    status: 405,
    allow: 'PUT, DELETE',
  },
  {
    name: 'GET on a drain path is a 405',
    method: 'GET',
    target: '/api/v1/members/r1/drain',
    status: 405,
    allow: 'POST',
  },
  {
    name: 'a drain without the token is a 401',
    method: 'POST',
    target: '/api/v1/members/r1/drain',
    status: 401,
  },
  {
    name: 'a drain with the token is a 200',
    method: 'POST',
    target: '/api/v1/members/r1/drain',
    status: 200,
    headers: AUTH,
  },
]

void t.test('every request target gets the right status, never a 5xx', async t => {
  const { port, errors } = await start(t)
  t.plan(cases.length + 1)
  for (const c of cases) {
    const res = await rawRequest(port, {
      method: c.method,
      target: c.target,
      ...(c.headers !== undefined ? { headers: c.headers } : {}),
      ...(c.body !== undefined ? { body: c.body } : {}),
    })
    t.strictSame(
      { status: res.status, allow: res.headers.allow },
      { status: c.status, allow: c.allow },
      c.name,
    )
  }
  t.strictSame(errors, [], 'no request reached the internal-error path')
})

void t.test('a request target that is not a path gets a message saying so', async t => {
  const { port } = await start(t)
  const res = await rawRequest(port, { method: 'OPTIONS', target: '*' })
  t.match(JSON.parse(res.body), {
    error: { code: 'ADMIN_BAD_REQUEST', message: /must be a path starting with "\/"/ },
  })
})

void t.test('no mutation reaches the API through a "//" target', async t => {
  const { port, api } = await start(t)
  for (const target of ['//api/v1/members/r1/drain', '//x/api/v1/members/r1/drain']) {
    const res = await rawRequest(port, { method: 'POST', target, headers: AUTH })
    t.equal(res.status, 404, target)
  }
  t.strictSame(api.calls, [])
})
