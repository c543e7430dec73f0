// SIGHUP under traffic: members added/removed/changed and health settings applied, no
// open connection dropped, no new connection failed; an invalid config keeps the old one.
// The reload under traffic runs in both workers modes (workers get the new pool by IPC).
import t from 'tap'
import { startReplica } from '../../src/demo/replica.js'
import { startCorral } from '../helpers/corral-process.js'
import { httpRequest } from '../helpers/http-client.js'
import { holdConnections } from '../helpers/held-connections.js'
import { WORKER_MODES, lbYaml, modeName, stateChanged } from '../helpers/lb-config.js'

// Tests here run once per workers mode: up to twice the corral starts of a one-mode file,
// on a shared 2-core machine. Above .taprc's 120 s per file, still bounded.
t.setTimeout(240_000)

for (const mode of WORKER_MODES) {
  void t.test(
    `${modeName(mode)}: SIGHUP under traffic drops nothing and applies the new pool`,
    async t => {
      const replicas = await Promise.all(
        ['r1', 'r2', 'r3', 'r4'].map(id => startReplica(id)),
      )
      t.teardown(() => Promise.all(replicas.map(r => r.kill())))
      const [r1, r2, r3, r4] = replicas
      if (!r1 || !r2 || !r3 || !r4) throw new Error('replicas')
      // least-connections spreads the held connections evenly whatever the workers mode
      // (round-robin turns in each worker separately).
      const balance = 'least-connections'
      const lb = await startCorral(
        t.testdir(),
        lbYaml([r1, r2, r3], { balance, workers: mode }),
      )
      t.teardown(() => lb.stop())
      await Promise.all([r1, r2, r3].map(r => lb.waitForLog(stateChanged(r.id, 'up'))))
      const port = lb.ports.http ?? 0

      // Long-lived connections, one per member, kept across the reload.
      const held = await holdConnections(lb, port, 3)
      t.teardown(() => {
        for (const c of held) c.close()
      })
      const before = await Promise.all(held.map(c => c.get()))
      t.same(
        new Set(before.map(b => b.trim())).size,
        3,
        'held connections are spread over r1-r3',
      )

      // New connections before, during and after the reload: bounded by count.
      const TOTAL = 600
      let failures = 0
      let done = 0
      let midway: () => void = () => undefined
      const reachedMidway = new Promise<void>(resolve => (midway = resolve))
      const traffic = (async () => {
        while (done < TOTAL) {
          const batch = await Promise.allSettled(
            Array.from({ length: 4 }, () => httpRequest(port)),
          )
          for (const r of batch) {
            done++
            if (r.status === 'rejected' || r.value.status !== 200) failures++
          }
          if (done >= TOTAL / 4) midway()
        }
      })()
      await reachedMidway

      const since = lb.logs.length
      lb.writeConfig(
        lbYaml([r1, r2, r4], {
          health: '{ interval: 150ms, timeout: 100ms, rise: 1, fall: 2, jitter: 0 }',
          balance,
          workers: mode,
        }),
      )
      lb.proc.kill('SIGHUP')
      const reloaded = await lb.waitForLog(l => l.msg === 'config reloaded', 5_000, since)
      t.match(reloaded, { added: ['r4'], removed: ['r3'], healthChanged: true })
      await lb.waitForLog(stateChanged('r4', 'up'), 5_000, since)
      await lb.waitForLog(stateChanged('r3', 'draining'), 5_000, since)
      // Let traffic reach the new member, bounded by count rather than time.
      const sawR4 = async (): Promise<boolean> => {
        for (let i = 0; i < 30; i++) {
          if ((await httpRequest(port)).body.includes('r4')) return true
        }
        return false
      }
      t.ok(await sawR4(), 'the added member takes new connections')
      await traffic
      t.equal(failures, 0, `no failed request out of ${done} during the reload`)

      const after = await Promise.all(held.map(c => c.get()))
      t.same(after, before, 'every held connection still works, on its original member')
      const r3Answers = await Promise.all(
        Array.from({ length: 9 }, () => httpRequest(port)),
      )
      t.notOk(
        r3Answers.some(r => r.body.includes('r3')),
        'the removed member takes no new connection',
      )
      for (const c of held) c.close()
      await lb.waitForLog(stateChanged('r3', 'absent'), 5_000, since)
    },
  )
}

void t.test(
  'an invalid config on SIGHUP is logged and the running config kept',
  async t => {
    const replicas = await Promise.all(['r1', 'r2', 'r3'].map(id => startReplica(id)))
    t.teardown(() => Promise.all(replicas.map(r => r.kill())))
    const lb = await startCorral(t.testdir(), lbYaml(replicas))
    t.teardown(() => lb.stop())
    await Promise.all(replicas.map(r => lb.waitForLog(stateChanged(r.id, 'up'))))
    const since = lb.logs.length
    lb.writeConfig('members:\n  - { id: r1, address: 127.0.0.1, ports: { http: abc } }\n')
    lb.proc.kill('SIGHUP')
    const failed = await lb.waitForLog(
      l => l.msg === 'config reload failed: keeping the running config',
      5_000,
      since,
    )
    t.match(failed, {
      issues: ['members[0].ports.http: expected an integer 1-65535, got "abc"'],
    })
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => httpRequest(lb.ports.http ?? 0)),
    )
    t.ok(
      answers.every(a => a.status === 200),
      'still serving with the old config',
    )
    const metrics = await httpRequest(lb.adminPort, '/metrics')
    t.match(metrics.body, /corral_config_reloads_total\{result="failure"\} 1/)
    t.match(metrics.body, /corral_pool_size 3/)
  },
)
