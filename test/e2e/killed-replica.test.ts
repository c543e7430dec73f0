// A killed replica costs clients zero failed connections: connect failures are retried on
// another member, and count as passive failures that take the dead member out.
// Both workers modes: with workers, the passive failures come from the worker processes.
import t from 'tap'
import { startReplica } from '../../src/demo/replica.js'
import { startCorral } from '../helpers/corral-process.js'
import { httpRequest } from '../helpers/http-client.js'
import { WORKER_MODES, lbYaml, modeName, stateChanged } from '../helpers/lb-config.js'

// Tests here run once per workers mode: up to twice the corral starts of a one-mode file,
// on a shared 2-core machine. Above .taprc's 120 s per file, still bounded.
t.setTimeout(240_000)

const REQUESTS = 300
const CONCURRENCY = 4

for (const mode of WORKER_MODES) {
  void t.test(
    `${modeName(mode)}: killing a replica under load fails no client connection`,
    async t => {
      const replicas = await Promise.all(['r1', 'r2', 'r3'].map(id => startReplica(id)))
      t.teardown(() => Promise.all(replicas.map(r => r.kill())))
      // Slow checks: the passive path (connect failure → retry → passive failure) must do the work.
      const lb = await startCorral(
        t.testdir(),
        lbYaml(replicas, {
          health: '{ interval: 5s, timeout: 1s, rise: 1, fall: 3, initialState: up }',
          workers: mode,
        }),
      )
      t.teardown(() => lb.stop())
      const port = lb.ports.http ?? 0

      const seen = new Map<string, number>()
      const errors: string[] = []
      const run = async (count: number): Promise<number> => {
        let sent = 0
        let failed = 0
        const worker = async (): Promise<void> => {
          while (sent < count) {
            sent++
            try {
              const res = await httpRequest(port)
              if (res.status !== 200) throw new Error(`status ${res.status}`)
              const who = res.body.trim()
              seen.set(who, (seen.get(who) ?? 0) + 1)
            } catch (err) {
              failed++
              errors.push((err as Error).message)
            }
          }
        }
        await Promise.all(Array.from({ length: CONCURRENCY }, worker))
        return failed
      }
      t.equal(await run(REQUESTS / 3), 0, 'warm-up: every request succeeded')
      // Killed between requests: a request in flight on a killed replica's own connection is
      // lost at L4 whatever the balancer does; every NEW connection must still succeed.
      await replicas[1]?.kill()
      const failed = await run(REQUESTS)
      t.equal(
        failed,
        0,
        `no failed request out of ${REQUESTS} (${errors.slice(0, 3).join('; ')})`,
      )
      t.ok(
        (seen.get('hello from r2') ?? 0) > 0,
        'r2 served requests before it was killed',
      )
      await lb.waitForLog(stateChanged('r2', 'down'), 5_000)
      const metrics = await httpRequest(lb.adminPort, '/metrics')
      t.match(
        metrics.body,
        /corral_connections_total\{listener="http",member="r2",outcome="connect_error"\} [1-9]/,
      )
      t.match(
        metrics.body,
        /corral_connections_total\{listener="http",member="r(1|3)",outcome="retried"\} [1-9]/,
      )
      t.match(metrics.body, /corral_member_up\{member="r2"\} 0/)
    },
  )
}
