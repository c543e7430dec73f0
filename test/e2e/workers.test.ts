// `workers: 2`: the data path runs in two processes under one control plane. Checks are
// not multiplied, least-connections sees every worker's connections, metrics are summed,
// a dead worker is replaced, and SIGTERM drains every worker.
import { execFileSync } from 'node:child_process'
import t from 'tap'
import { startReplica } from '../../src/demo/replica.js'
import { startCorral } from '../helpers/corral-process.js'
import { adminRequest, httpRequest } from '../helpers/http-client.js'
import { lbYaml, stateChanged } from '../helpers/lb-config.js'
import { openRawHttp, type RawHttpConnection } from '../helpers/raw-http.js'

function workerPids(primary: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(primary)], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(Number)
  } catch {
    return []
  }
}

void t.test('two workers share the data path under one control plane', async t => {
  const replicas = await Promise.all(['r1', 'r2', 'r3'].map(id => startReplica(id)))
  t.teardown(() => Promise.all(replicas.map(r => r.kill())))
  const lb = await startCorral(
    t.testdir(),
    lbYaml(replicas, {
      balance: 'least-connections',
      health: '{ interval: 100ms, timeout: 80ms, rise: 1, fall: 2, jitter: 0 }',
      extra: 'workers: 2',
    }),
  )
  t.teardown(() => lb.stop('SIGKILL'))
  await Promise.all(replicas.map(r => lb.waitForLog(stateChanged(r.id, 'up'))))
  const port = lb.ports.http ?? 0
  const pid = lb.proc.pid ?? 0
  t.equal(workerPids(pid).length, 2, 'two worker processes')

  // 1. Health checks run once, in the primary: one /health request per check.
  const [r1, r2, r3] = replicas
  if (!r1 || !r2 || !r3) throw new Error('replicas')
  r3.setHealthStatus(503)
  const failed = (l: Record<string, unknown>): boolean =>
    l.msg === 'check failed' && l.member === 'r3'
  const first = await lb.waitForLog(failed, 3_000, lb.logs.length)
  const startCount = r3.requests()
  let index = lb.logs.indexOf(first)
  for (let i = 0; i < 10; i++) {
    const next = await lb.waitForLog(failed, 3_000, index + 1)
    index = lb.logs.indexOf(next)
  }
  const probes = r3.requests() - startCount
  t.ok(
    probes >= 10 && probes <= 11,
    `10 checks, ${probes} /health requests (not one per worker)`,
  )
  r3.setHealthStatus(200)
  await lb.waitForLog(stateChanged('r3', 'up'), 3_000, index)

  // 2. Least-connections across workers: 9 held connections end up 3/3/3.
  const held: RawHttpConnection[] = []
  t.teardown(() => {
    for (const c of held) c.close()
  })
  for (let i = 0; i < 9; i++) {
    const c = await openRawHttp(port)
    held.push(c)
    await c.get()
    // Poll (bounded) until the primary counts this connection and every worker has
    // acknowledged the merged counts: then the next pick sees all of them.
    for (let tries = 0; ; tries++) {
      const pool = await adminRequest(lb.adminPort, 'GET', '/api/v1/pool')
      const summary = (
        pool.json as { summary: { activeConnections: number; loadsSynced: boolean } }
      ).summary
      if (summary.activeConnections >= i + 1 && summary.loadsSynced) break
      if (tries > 200) throw new Error(`counts never synced: ${JSON.stringify(summary)}`)
      await new Promise(resolve => setTimeout(resolve, 10))
    }
  }
  const bodies = await Promise.all(held.map(c => c.get()))
  const perMember = ['r1', 'r2', 'r3'].map(
    id => bodies.filter(b => b.includes(id)).length,
  )
  t.same(
    perMember,
    [3, 3, 3],
    'held connections are spread evenly across members and workers',
  )

  // 3. /metrics sums the workers' data-path counters.
  const metrics = await httpRequest(lb.adminPort, '/metrics')
  const total = [
    ...metrics.body.matchAll(/^corral_connections_total\{[^}]*outcome="ok"\} (\d+)/gm),
  ]
    .map(m => Number(m[1]))
    .reduce((a, b) => a + b, 0)
  t.equal(total, 9, 'corral_connections_total counts the connections of both workers')
  t.match(metrics.body, /corral_pool_size 3\n/, 'control-plane gauges are not multiplied')
  t.match(metrics.body, /corral_connections_active\{listener="http",member="r1"\} 3/)

  // 4. A dead worker is replaced, and traffic keeps flowing.
  const [victim] = workerPids(pid)
  process.kill(victim ?? 0, 'SIGKILL')
  await lb.waitForLog(l => l.msg === 'data-path worker died: replacing it', 5_000)
  await lb.waitForLog(l => l.msg === 'data-path worker replaced', 5_000)
  t.equal(workerPids(pid).length, 2, 'two workers again')
  const slots = [
    ...(await httpRequest(lb.adminPort, '/metrics')).body.matchAll(
      /^process_start_time_seconds\{worker="(\d+)"\}/gm,
    ),
  ].map(m => m[1])
  t.same(slots.sort(), ['1', '2'], "the replacement takes the dead worker's slot label")
  const after = await Promise.all(Array.from({ length: 12 }, () => httpRequest(port)))
  t.ok(
    after.every(r => r.status === 200),
    'new connections succeed',
  )

  // 5. SIGTERM drains every worker and exits 0.
  for (const c of held) c.close()
  t.equal(await lb.stop('SIGTERM'), 0, 'exit code 0')
  t.same(workerPids(pid), [], 'no worker left behind')
})

// `workers: 1` is one data-path process beside the control plane (its small heap keeps GC
// cheap under bulk traffic); `workers: 0` keeps everything in the one process.
for (const workers of [0, 1]) {
  void t.test(`workers: ${workers} forks ${workers} data-path process(es)`, async t => {
    const replica = await startReplica('r1')
    t.teardown(() => replica.kill())
    const lb = await startCorral(
      t.testdir(),
      lbYaml([replica], {
        // Checks are not what this tests: a slow probe on a loaded machine must not
        // mark the only member down under the requests below.
        health: '{ interval: 100ms, timeout: 2s, rise: 1, fall: 3, jitter: 0 }',
        workers,
      }),
    )
    t.teardown(() => lb.stop('SIGKILL'))
    await lb.waitForLog(stateChanged('r1', 'up'))
    t.equal(workerPids(lb.proc.pid ?? 0).length, workers, `${workers} child processes`)
    const replies = await Promise.all(
      Array.from({ length: 5 }, () => httpRequest(lb.ports.http ?? 0)),
    )
    t.ok(
      replies.every(r => r.status === 200 && r.body.includes('r1')),
      'requests are relayed to the replica',
    )
    t.equal(await lb.stop('SIGTERM'), 0, 'exit code 0')
  })
}
