// Health policies end to end: one verdict covers every listener, on-marked-down
// close-connections, and the all-members-down policies. Both workers modes: with workers,
// routing, closing and rejecting happen in the worker processes.
import { once } from 'node:events'
import t from 'tap'
import { startReplica } from '../../src/demo/replica.js'
import { startCorral } from '../helpers/corral-process.js'
import { httpRequest } from '../helpers/http-client.js'
import { holdConnections } from '../helpers/held-connections.js'
import {
  WORKER_MODES,
  modeName,
  stateChanged,
  type WorkersMode,
} from '../helpers/lb-config.js'

// Tests here run once per workers mode: up to twice the corral starts of a one-mode file,
// on a shared 2-core machine. Above .taprc's 120 s per file, still bounded.
t.setTimeout(240_000)

const HEALTH = '{ interval: 100ms, timeout: 80ms, rise: 1, fall: 2, jitter: 0 }'

function twoListenerYaml(
  ports: readonly { id: string; port: number }[],
  mode: WorkersMode,
  extra = '',
  balance = 'round-robin',
): string {
  return `listeners:
  - { name: http, bind: "127.0.0.1:0" }
  - { name: https, bind: "127.0.0.1:0" }
members:
${ports.map(r => `  - { id: ${r.id}, address: 127.0.0.1, ports: { http: ${r.port}, https: ${r.port} } }`).join('\n')}
health: ${HEALTH}
balance: ${balance}
admin: { bind: "127.0.0.1:0" }
${mode === 'default' ? '' : `workers: ${String(mode)}`}
${extra}
`
}

for (const mode of WORKER_MODES) {
  void t.test(`${modeName(mode)}: one health verdict covers every listener`, async t => {
    const replicas = await Promise.all(['r1', 'r2'].map(id => startReplica(id)))
    t.teardown(() => Promise.all(replicas.map(r => r.kill())))
    const lb = await startCorral(t.testdir(), twoListenerYaml(replicas, mode))
    t.teardown(() => lb.stop())
    await Promise.all(replicas.map(r => lb.waitForLog(stateChanged(r.id, 'up'))))
    const since = lb.logs.length
    replicas[1]?.setHealthStatus(503)
    await lb.waitForLog(stateChanged('r2', 'down'), 3_000, since)
    for (const listener of ['http', 'https']) {
      const port = lb.ports[listener] ?? 0
      const bodies = await Promise.all(Array.from({ length: 6 }, () => httpRequest(port)))
      t.notOk(
        bodies.some(b => b.body.includes('r2')),
        `no connection on ${listener} reaches the member marked down`,
      )
    }
    // Probed once per interval, not once per listener: 3 checks, 3 /health requests.
    const failed = (l: Record<string, unknown>): boolean =>
      l.msg === 'check failed' && l.member === 'r2'
    let index = lb.logs.indexOf(await lb.waitForLog(failed, 3_000, lb.logs.length))
    const before = replicas[1]?.requests() ?? 0
    for (let i = 0; i < 3; i++)
      index = lb.logs.indexOf(await lb.waitForLog(failed, 3_000, index + 1))
    const probes = (replicas[1]?.requests() ?? 0) - before
    t.ok(probes >= 3 && probes <= 4, `3 checks, ${probes} /health requests`)
  })

  void t.test(
    `${modeName(mode)}: on-marked-down close-connections closes open connections`,
    async t => {
      const replicas = await Promise.all(['r1', 'r2'].map(id => startReplica(id)))
      t.teardown(() => Promise.all(replicas.map(r => r.kill())))
      const health = HEALTH.replace('}', ', onMarkedDown: close-connections }')
      const lb = await startCorral(
        t.testdir(),
        // least-connections puts the two connections on the two members in any mode.
        twoListenerYaml(replicas, mode, '', 'least-connections').replace(
          `health: ${HEALTH}`,
          `health: ${health}`,
        ),
      )
      t.teardown(() => lb.stop())
      await Promise.all(replicas.map(r => lb.waitForLog(stateChanged(r.id, 'up'))))
      const port = lb.ports.http ?? 0
      const [a, b] = await holdConnections(lb, port, 2)
      if (a === undefined || b === undefined) throw new Error('two connections')
      t.teardown(() => {
        a.close()
        b.close()
      })
      const answers = [await a.get(), await b.get()]
      const onR2 = answers[0]?.includes('r2') === true ? a : b
      const onR1 = onR2 === a ? b : a
      const closed = once(onR2.socket, 'close', { signal: AbortSignal.timeout(5_000) })
      const since = lb.logs.length
      replicas[1]?.setHealthStatus(503)
      await lb.waitForLog(stateChanged('r2', 'down'), 3_000, since)
      await closed
      t.pass('the connection to the member marked down was closed')
      t.match(
        await onR1.get(),
        /hello from r1/,
        'connections to healthy members stay open',
      )
    },
  )

  void t.test(
    `${modeName(mode)}: all members down: reject by default, fail-open when configured`,
    async t => {
      for (const policy of ['reject', 'fail-open'] as const) {
        const replicas = await Promise.all(['r1', 'r2', 'r3'].map(id => startReplica(id)))
        const lb = await startCorral(
          t.testdir(),
          twoListenerYaml(replicas, mode, `allDown: ${policy}`),
        )
        await Promise.all(replicas.map(r => lb.waitForLog(stateChanged(r.id, 'up'))))
        const since = lb.logs.length
        for (const r of replicas) r.setHealthStatus(503)
        await Promise.all(
          replicas.map(r => lb.waitForLog(stateChanged(r.id, 'down'), 3_000, since)),
        )
        const result = await httpRequest(lb.ports.http ?? 0).then(
          res => res.body.trim(),
          (err: unknown) => `error: ${(err as Error).message}`,
        )
        if (policy === 'reject') {
          t.match(
            result,
            /^error: (socket hang up|read ECONNRESET)/,
            'reject: the connection is closed',
          )
          const ready = await httpRequest(lb.adminPort, '/readyz')
          t.equal(ready.status, 503, 'readyz reports not ready')
          const metrics = await httpRequest(lb.adminPort, '/metrics')
          t.match(metrics.body, /outcome="rejected_no_member"\} [1-9]/)
        } else {
          t.match(
            result,
            /^hello from r[123]$/,
            'fail-open: served by a member that fails its checks',
          )
          const pool = await httpRequest(lb.adminPort, '/api/v1/pool')
          t.match(pool.body, /"failingOpen": true/)
        }
        await lb.stop()
        await Promise.all(replicas.map(r => r.kill()))
      }
    },
  )
}
