// A replica whose /health turns 503 is out of rotation within fall × interval + timeout,
// and back after rise × interval; a member is never routable before its first check.
// Both workers modes: with workers, each eviction reaches the data path over IPC.
import t from 'tap'
import { startReplica } from '../../src/demo/replica.js'
import { startCorral } from '../helpers/corral-process.js'
import { httpRequest } from '../helpers/http-client.js'
import { WORKER_MODES, lbYaml, modeName, stateChanged } from '../helpers/lb-config.js'

// Tests here run once per workers mode: up to twice the corral starts of a one-mode file,
// on a shared 2-core machine. Above .taprc's 120 s per file, still bounded.
t.setTimeout(240_000)

const INTERVAL_MS = 200
const TIMEOUT_MS = 150
const RISE = 2
const FALL = 2
// Timer and event-loop scheduling on a busy 2-core CI machine: one interval of slack.
const SLACK_MS = INTERVAL_MS

for (const mode of WORKER_MODES) {
  void t.test(
    `${modeName(mode)}: a replica turning unhealthy leaves the rotation in time and comes back`,
    async t => {
      const replicas = await Promise.all(['r1', 'r2', 'r3'].map(id => startReplica(id)))
      t.teardown(() => Promise.all(replicas.map(r => r.kill())))
      const lb = await startCorral(
        t.testdir(),
        lbYaml(replicas, {
          health: `{ interval: ${INTERVAL_MS}ms, timeout: ${TIMEOUT_MS}ms, rise: ${RISE}, fall: ${FALL}, jitter: 0 }`,
          workers: mode,
        }),
      )
      t.teardown(() => lb.stop())
      const port = lb.ports.http ?? 0
      await Promise.all(replicas.map(r => lb.waitForLog(stateChanged(r.id, 'up'))))

      const [, r2] = replicas
      if (r2 === undefined) throw new Error('no r2')
      const failedAt = Date.now()
      r2.setHealthStatus(503)
      const down = await lb.waitForLog(stateChanged('r2', 'down'), 5_000, lb.logs.length)
      const evictMs = Date.now() - failedAt
      t.ok(
        evictMs <= FALL * INTERVAL_MS + TIMEOUT_MS + SLACK_MS,
        `evicted after ${evictMs}ms (bound ${FALL} × ${INTERVAL_MS} + ${TIMEOUT_MS} + slack ${SLACK_MS})`,
      )
      t.match(
        String(down.reason),
        /bad-status: status 503/,
        'the reason names the failing status',
      )

      const bodies = await Promise.all(
        Array.from({ length: 12 }, () => httpRequest(port)),
      )
      t.notOk(
        bodies.some(b => b.body.includes('r2')),
        'no new connection reaches the evicted replica',
      )
      t.ok(
        bodies.every(b => b.status === 200),
        'every request succeeded',
      )

      const recoveredAt = Date.now()
      r2.setHealthStatus(200)
      await lb.waitForLog(stateChanged('r2', 'up'), 5_000, lb.logs.length)
      const readmitMs = Date.now() - recoveredAt
      t.ok(
        readmitMs <= RISE * INTERVAL_MS + TIMEOUT_MS + SLACK_MS,
        `readmitted after ${readmitMs}ms (bound ${RISE} × ${INTERVAL_MS} + slack)`,
      )
      const after = await Promise.all(Array.from({ length: 6 }, () => httpRequest(port)))
      t.ok(
        after.some(b => b.body.includes('r2')),
        'the readmitted replica takes connections again',
      )
    },
  )

  void t.test(
    `${modeName(mode)}: a member that never passes a check is never routable`,
    async t => {
      const good = await startReplica('good')
      const sick = await startReplica('sick')
      sick.setHealthStatus(503)
      t.teardown(() => Promise.all([good.kill(), sick.kill()]))
      const lb = await startCorral(t.testdir(), lbYaml([good, sick], { workers: mode }))
      t.teardown(() => lb.stop())
      await lb.waitForLog(stateChanged('good', 'up'))
      // Two failed checks of the sick member (rise is 2: one pass would not be enough anyway).
      const sickChecks = (l: Record<string, unknown>): boolean =>
        l.msg === 'check failed' && l.member === 'sick'
      await lb.waitForLog(sickChecks, 3_000)
      await lb.waitForLog(sickChecks, 3_000, lb.logs.findIndex(sickChecks) + 1)
      const bodies = await Promise.all(
        Array.from({ length: 10 }, () => httpRequest(lb.ports.http ?? 0)),
      )
      t.notOk(
        bodies.some(b => b.body.includes('sick')),
        'no connection went to the member that never passed',
      )
      t.ok(sick.requests() >= 1, 'the sick member was probed')
      const pool = await httpRequest(lb.adminPort, '/api/v1/pool')
      t.match(
        pool.body,
        /"id": "sick",[\s\S]*?"state": "down"/,
        'the pool API shows it down',
      )
      t.match(
        pool.body,
        /"reason": "bad-status"/,
        'with the reason code of its last check',
      )
    },
  )
}
