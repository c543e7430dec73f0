// Drain / enable / add / remove through the admin API take effect on the next connection;
// bad requests get 4xx JSON errors; mutations need the bearer token when one is set.
// Mutations that must reach the data path run in both workers modes; the rest in the
// default mode only (the API lives in the primary either way).
import t, { type Test } from 'tap'
import { startReplica, type Replica } from '../../src/demo/replica.js'
import {
  runCorralCli,
  startCorral,
  type CorralProcess,
} from '../helpers/corral-process.js'
import { adminRequest, httpRequest } from '../helpers/http-client.js'
import {
  WORKER_MODES,
  lbYaml,
  modeName,
  stateChanged,
  type WorkersMode,
} from '../helpers/lb-config.js'

// Tests here run once per workers mode: up to twice the corral starts of a one-mode file,
// on a shared 2-core machine. Above .taprc's 120 s per file, still bounded.
t.setTimeout(240_000)

const TOKEN = 's3cret-token-for-tests'

async function whoAnswers(port: number, n: number): Promise<Set<string>> {
  const bodies = await Promise.all(Array.from({ length: n }, () => httpRequest(port)))
  return new Set(bodies.map(b => b.body.trim().replace('hello from ', '')))
}

async function setup(
  t: Test,
  extra: { admin?: string; env?: NodeJS.ProcessEnv; workers?: WorkersMode } = {},
) {
  const replicas = await Promise.all(['r1', 'r2', 'r3'].map(id => startReplica(id)))
  t.teardown(() => Promise.all(replicas.map(r => r.kill())))
  const lb = await startCorral(
    t.testdir(),
    lbYaml(replicas, {
      ...(extra.admin !== undefined ? { admin: extra.admin } : {}),
      ...(extra.workers !== undefined ? { workers: extra.workers } : {}),
    }),
    extra.env !== undefined ? { env: extra.env } : {},
  )
  t.teardown(() => lb.stop())
  await Promise.all(replicas.map(r => lb.waitForLog(stateChanged(r.id, 'up'))))
  return { replicas, lb, port: lb.ports.http ?? 0 }
}

interface Setup {
  replicas: Replica[]
  lb: CorralProcess
  port: number
}

for (const mode of WORKER_MODES) {
  void t.test(
    `${modeName(mode)}: drain and enable take effect on the next connection`,
    async t => {
      const { lb, port }: Setup = await setup(t, { workers: mode })
      const drained = await adminRequest(lb.adminPort, 'POST', '/api/v1/members/r2/drain')
      t.equal(drained.status, 200)
      t.match(drained.json, { member: { id: 'r2', state: 'draining' } })
      await lb.poolSynced()
      t.notOk(
        (await whoAnswers(port, 9)).has('r2'),
        'a drained member takes no new connection',
      )
      const enabled = await adminRequest(
        lb.adminPort,
        'POST',
        '/api/v1/members/r2/enable',
      )
      t.match(enabled.json, { member: { id: 'r2', state: 'up' } })
      await lb.poolSynced()
      t.ok(
        (await whoAnswers(port, 9)).has('r2'),
        'an enabled member takes connections again',
      )
      const disabled = await adminRequest(
        lb.adminPort,
        'POST',
        '/api/v1/members/r3/disable',
      )
      t.match(disabled.json, { member: { id: 'r3', state: 'disabled' } })
      await lb.poolSynced()
      t.notOk(
        (await whoAnswers(port, 9)).has('r3'),
        'a disabled member takes no new connection',
      )
    },
  )

  void t.test(
    `${modeName(mode)}: a member added at runtime takes traffic after its first check; removal drains it`,
    async t => {
      const { lb, port }: Setup = await setup(t, { workers: mode })
      const r4 = await startReplica('r4')
      t.teardown(() => r4.kill())
      const since = lb.logs.length
      const put = await adminRequest(lb.adminPort, 'PUT', '/api/v1/members/r4', {
        address: '127.0.0.1',
        ports: { http: r4.port },
      })
      t.equal(put.status, 201, 'created')
      t.match(put.json, {
        member: { id: 'r4', state: 'down', reason: 'awaiting first check' },
      })
      await lb.waitForLog(stateChanged('r4', 'up'), 3_000, since)
      t.ok((await whoAnswers(port, 12)).has('r4'), 'the added member takes connections')

      const replaced = await adminRequest(lb.adminPort, 'PUT', '/api/v1/members/r4', {
        address: '127.0.0.1',
        ports: { http: r4.port },
        weight: 2,
      })
      t.equal(replaced.status, 200, 'replacing an existing member answers 200')
      t.match(
        replaced.json,
        { member: { id: 'r4', state: 'up', weight: 2 } },
        'a weight change keeps its health',
      )

      const del = await adminRequest(lb.adminPort, 'DELETE', '/api/v1/members/r4')
      t.equal(del.status, 202)
      await lb.waitForLog(stateChanged('r4', 'absent'), 3_000)
      t.notOk(
        (await whoAnswers(port, 12)).has('r4'),
        'a removed member takes no connection',
      )
      const pool = await adminRequest(lb.adminPort, 'GET', '/api/v1/pool')
      t.match(pool.json, {
        summary: {
          size: 3,
          live: 3,
          routable: 3,
          up: 3,
          quorumSize: 2,
          failuresTolerated: 1,
          quorumShortfall: 0,
          quorum: true,
        },
      })
    },
  )
}

void t.test('malformed requests get 4xx JSON errors and change nothing', async t => {
  const { lb }: Setup = await setup(t)
  const cases: {
    name: string
    method: string
    path: string
    body?: unknown
    headers?: Record<string, string>
    status: number
    message: RegExp
  }[] = [
    {
      name: 'bad JSON',
      method: 'PUT',
      path: '/api/v1/members/x',
      body: '{"address":',
      status: 400,
      message: /not valid JSON/,
    },
    {
      name: 'bad port',
      method: 'PUT',
      path: '/api/v1/members/x',
      body: { address: '127.0.0.1', ports: { http: 'abc' } },
      status: 400,
      message: /ports\.http: expected an integer 1-65535, got "abc"/,
    },
    {
      name: 'unknown listener',
      method: 'PUT',
      path: '/api/v1/members/x',
      body: { address: '127.0.0.1', ports: { ftp: 21 } },
      status: 400,
      message: /ports\.ftp: no listener named "ftp"/,
    },
    {
      name: 'unknown key',
      method: 'PUT',
      path: '/api/v1/members/x',
      body: { address: '127.0.0.1', colour: 'red' },
      status: 400,
      message: /colour: unknown key/,
    },
    {
      name: 'missing address',
      method: 'PUT',
      path: '/api/v1/members/x',
      body: {},
      status: 400,
      message: /address: expected a hostname or IP address/,
    },
    {
      name: 'id mismatch',
      method: 'PUT',
      path: '/api/v1/members/x',
      body: { id: 'y', address: '127.0.0.1' },
      status: 400,
      message: /id: body says "y"/,
    },
    {
      name: 'not an object',
      method: 'PUT',
      path: '/api/v1/members/x',
      body: [1, 2],
      status: 400,
      message: /expected a JSON object/,
    },
    {
      name: 'wrong content type',
      method: 'PUT',
      path: '/api/v1/members/x',
      body: undefined,
      headers: { 'content-type': 'text/plain' },
      status: 415,
      message: /expected Content-Type: application\/json/,
    },
    {
      name: 'unknown member',
      method: 'POST',
      path: '/api/v1/members/nope/drain',
      status: 404,
      message: /no member with id "nope"/,
    },
    {
      name: 'unknown member delete',
      method: 'DELETE',
      path: '/api/v1/members/nope',
      status: 404,
      message: /no member with id "nope"/,
    },
    {
      name: 'unknown route',
      method: 'GET',
      path: '/api/v2/whatever',
      status: 404,
      message: /no such endpoint/,
    },
    {
      name: 'wrong method',
      method: 'PATCH',
      path: '/api/v1/pool',
      status: 405,
      message: /PATCH is not allowed/,
    },
  ]
  t.plan(cases.length * 2 + 1)
  for (const c of cases) {
    const res = await adminRequest(
      lb.adminPort,
      c.method,
      c.path,
      c.body,
      c.headers ?? {},
    )
    t.equal(res.status, c.status, `${c.name}: status`)
    t.match(res.json, { error: { message: c.message } }, `${c.name}: message`)
  }
  const pool = await adminRequest(lb.adminPort, 'GET', '/api/v1/pool')
  t.match(pool.json, { summary: { size: 3, up: 3 } }, 'the pool is unchanged')
})

void t.test('with a token, mutations need it and reads do not', async t => {
  const { lb, port }: Setup = await setup(t, {
    admin: '{ bind: "127.0.0.1:0", token: "${CORRAL_ADMIN_TOKEN}" }',
    env: { CORRAL_ADMIN_TOKEN: TOKEN },
  })
  const none = await adminRequest(lb.adminPort, 'POST', '/api/v1/members/r1/drain')
  t.equal(none.status, 401)
  const wrong = await adminRequest(
    lb.adminPort,
    'POST',
    '/api/v1/members/r1/drain',
    undefined,
    {
      authorization: 'Bearer nope',
    },
  )
  t.equal(wrong.status, 401)
  t.equal(
    (await adminRequest(lb.adminPort, 'GET', '/api/v1/pool')).status,
    200,
    'reads are open',
  )
  t.ok((await whoAnswers(port, 9)).has('r1'), 'r1 still serves: nothing changed')
  const ok = await adminRequest(
    lb.adminPort,
    'POST',
    '/api/v1/members/r1/drain',
    undefined,
    {
      authorization: `Bearer ${TOKEN}`,
    },
  )
  t.equal(ok.status, 200)
  t.notOk(
    lb.logs.some(l => JSON.stringify(l).includes(TOKEN)),
    'the token never appears in logs',
  )
})

void t.test(
  'an admin API on a non-loopback address without a token is refused at startup',
  async t => {
    const dir = t.testdir({
      'corral.yaml':
        'listeners: [{ name: http, bind: "127.0.0.1:0" }]\nadmin: { bind: "0.0.0.0:0" }\n',
    })
    const res = await runCorralCli(['lb', '--config', `${dir}/corral.yaml`])
    t.equal(res.code, 1)
    t.match(
      res.stdout + res.stderr,
      /admin\.bind: 0\.0\.0\.0 is not a loopback address and admin\.token is not set/,
    )
  },
)

void t.test(
  'an even pool size is warned about at startup and when membership changes',
  async t => {
    const replicas = await Promise.all(['r1', 'r2'].map(id => startReplica(id)))
    t.teardown(() => Promise.all(replicas.map(r => r.kill())))
    const lb = await startCorral(t.testdir(), lbYaml(replicas))
    t.teardown(() => lb.stop())
    const even = (l: Record<string, unknown>): boolean =>
      typeof l.msg === 'string' && l.msg.startsWith('pool has an even number of members')
    const atStart = await lb.waitForLog(even, 3_000)
    t.match(atStart, { size: 2, failuresTolerated: 0, level: 40 }, 'warned at startup')
    await Promise.all(replicas.map(r => lb.waitForLog(stateChanged(r.id, 'up'))))
    const pool = await adminRequest(lb.adminPort, 'GET', '/api/v1/pool')
    t.match(pool.json, { summary: { size: 2, evenSize: true, failuresTolerated: 0 } })

    const r3 = await startReplica('r3')
    t.teardown(() => r3.kill())
    const since = lb.logs.length
    await adminRequest(lb.adminPort, 'PUT', '/api/v1/members/r3', {
      address: '127.0.0.1',
      ports: { http: r3.port },
    })
    await lb.waitForLog(stateChanged('r3', 'up'), 3_000, since)
    t.notOk(lb.logs.slice(since).some(even), 'no warning once the pool is odd')
    await adminRequest(lb.adminPort, 'DELETE', '/api/v1/members/r3')
    const again = await lb.waitForLog(even, 3_000, since)
    t.match(again, { size: 2 }, 'warned again when a removal makes it even')
  },
)
