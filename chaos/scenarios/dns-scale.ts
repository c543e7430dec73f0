// Scenario 11: members from DNS (issue #21). A service scales 3 → 5 → 2 → 3 the way
// Swarm does it, through its `tasks.<service>` A records, under steady load: new tasks
// take connections only once checked, the 5 → 2 answer (a majority at once) is held until
// it repeats, removed tasks are drained before they stop, and a returning address comes
// back as a new member. Budget: 0 failed connections.
import { startDnsServer, type DnsServer } from '../../test/helpers/dns-server.js'
import {
  CHAOS_CONNECT_TIMEOUT_MS,
  CHAOS_HEALTH,
  chaosDataPath,
  healthYaml,
} from '../corral/config.js'
import { CorralProcess } from '../corral/process.js'
import { LoadGenerator } from '../load.js'
import { ReplicaProcess } from '../replica/process.js'
import {
  check,
  describeFailures,
  hold,
  loadOptions,
  ms,
  type Check,
  type Scenario,
} from '../scenario.js'

const NAME = 'tasks.registry'
const INTERVAL_MS = 500
const GRACE_MS = 2_000
/** Five tasks, each on its own loopback address, as Swarm gives each task its own IP. */
const IPS = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6'] as const

const memberId = (ip: string): string => `reg-${ip}`

/** See the file comment. */
export const dnsScale: Scenario = {
  number: 11,
  name: 'dns-scale',
  title: 'a service scaled 3 → 5 → 2 → 3 through its DNS records under load',
  async run(ctx) {
    const closers: (() => unknown)[] = []
    const dns: DnsServer = await startDnsServer({ teardown: fn => closers.push(fn) })
    const replicas = IPS.map(
      (ip, i) =>
        new ReplicaProcess(`t${i + 1}`, {
          certPath: ctx.cert.certPath,
          keyPath: ctx.cert.keyPath,
          host: ip,
        }),
    )
    const lb = new CorralProcess('lb1', ctx.dir)
    let load: LoadGenerator | undefined
    try {
      // One port pair for every task (the first picks it), as a Swarm service has.
      const [first, ...rest] = replicas
      if (first === undefined) throw new Error('no replicas')
      await first.start()
      for (const r of rest) {
        r.httpPort = first.httpPort
        r.tlsPort = first.tlsPort
        await r.start()
      }
      const answer = (n: readonly number[]): void => {
        dns.set('A', NAME, { addresses: n.map(i => IPS[i] ?? '') })
      }
      answer([0, 1, 2])
      await lb.start(`# written by chaos/scenarios/dns-scale.ts
listeners:
  - { name: http, bind: "127.0.0.1:0" }
  - { name: https, bind: "127.0.0.1:0" }
members: []
discovery:
  - { name: reg, dns: ${NAME}, servers: ['${dns.address}'], interval: ${INTERVAL_MS}ms, timeout: 300ms, tries: 2, grace: ${GRACE_MS}ms, ports: { http: ${first.httpPort}, https: ${first.tlsPort} } }
${healthYaml(CHAOS_HEALTH, 'http')}
balance: round-robin
timeouts: { connect: ${CHAOS_CONNECT_TIMEOUT_MS}ms, shutdown: 2s }
admin: { bind: "127.0.0.1:0" }
dataPath: ${chaosDataPath()}
`)
      const t0 = Date.now()
      await Promise.all(
        [0, 1, 2].map(i => lb.waitForChange(memberId(IPS[i] ?? ''), 'up', t0, 20_000)),
      )
      load = new LoadGenerator(
        [{ lb: lb.name, httpPort: lb.ports.http ?? 0, httpsPort: lb.ports.https ?? 0 }],
        loadOptions(ctx),
      )
      load.start()
      const pool = async (): Promise<
        { id: string; state: string; removing: boolean }[]
      > => {
        const res = await fetch(`http://127.0.0.1:${lb.adminPort}/api/v1/pool`, {
          signal: AbortSignal.timeout(5_000),
        })
        const body = (await res.json()) as {
          members: { id: string; state: string; removing: boolean }[]
        }
        return body.members
      }
      const waitForPool = async (
        what: string,
        ok: (ms: { id: string; state: string; removing: boolean }[]) => boolean,
        timeoutMs: number,
      ): Promise<number> => {
        const started = Date.now()
        while (Date.now() - started < timeoutMs) {
          if (ok(await pool())) return Date.now() - started
          await hold(100)
        }
        throw new Error(`${what}: not reached within ${timeoutMs} ms`)
      }
      const phases: Partial<Record<string, number>> = {}
      await hold(3_000)

      ctx.log('scale 3 → 5')
      const up5At = Date.now()
      answer([0, 1, 2, 3, 4])
      const added = await Promise.all(
        [3, 4].map(i => lb.waitForChange(memberId(IPS[i] ?? ''), 'up', up5At, 20_000)),
      )
      phases['3 → 5'] = Math.max(...added.map(c => c.timeMs)) - up5At
      const newAddedDown = [3, 4].every(i =>
        lb.changes.some(
          c =>
            c.member === memberId(IPS[i] ?? '') &&
            c.from === 'absent' &&
            c.to === 'down' &&
            c.timeMs >= up5At,
        ),
      )
      await hold(3_000)

      ctx.log('scale 5 → 2 (a majority at once: held until the answer repeats)')
      const down2At = Date.now()
      const polls = async (): Promise<number> =>
        (await lb.metric('corral_discovery_polls_total', 'result="suspicious"')) ?? 0
      const suspiciousBefore = await polls()
      answer([0, 1])
      const gone = [2, 3, 4].map(i => memberId(IPS[i] ?? ''))
      await waitForPool(
        'three members draining',
        ms => gone.every(id => ms.find(m => m.id === id)?.removing !== false),
        20_000,
      )
      const drainStartedAt = Date.now()
      phases['5 → 2 (to draining)'] = drainStartedAt - down2At
      await waitForPool('three members removed', ms => ms.length === 2, 30_000)
      phases['5 → 2 (removed)'] = Date.now() - down2At
      const suspicious = (await polls()) - suspiciousBefore
      // The tasks stop only now, once drained: what a Swarm stop_grace_period longer
      // than corral's grace + drain gives.
      for (const i of [2, 3, 4]) await replicas[i]?.kill()
      const stoppedAt = Date.now()
      await hold(2_000)
      for (const i of [2, 3, 4]) await replicas[i]?.start()

      ctx.log('scale 2 → 3 (a reused address: a new member)')
      const up3At = Date.now()
      answer([0, 1, 2])
      const back = await lb.waitForChange(memberId(IPS[2]), 'up', up3At, 20_000)
      phases['2 → 3'] = back.timeMs - up3At
      const backAsNew = lb.changes.some(
        c =>
          c.member === memberId(IPS[2]) &&
          c.from === 'absent' &&
          c.to === 'down' &&
          c.timeMs >= up3At,
      )
      await hold(3_000)
      await load.stop()
      const final = (await pool()).map(m => `${m.id}=${m.state}`).sort()

      const attempts = load.attempts
      // New connections to removed tasks after they drained: the picker reaches the
      // workers one IPC hop after the pool changes; 500 ms covers it.
      const goneReplicas = new Set(['t3', 't4', 't5'])
      const lateToGone = attempts.filter(
        a =>
          a.atMs > drainStartedAt + 500 &&
          a.atMs < stoppedAt &&
          a.replica !== undefined &&
          goneReplicas.has(a.replica),
      )
      ctx.attach('phases', phases)
      ctx.attach('failed', attempts.filter(a => !a.ok).slice(0, 200))
      const checks: Check[] = [
        check(
          'failed connections',
          '0',
          describeFailures(attempts),
          attempts.every(a => a.ok),
        ),
        check(
          'new tasks start down (checked before routed)',
          'absent → down for each',
          newAddedDown && backAsNew ? 'yes' : 'no',
          newAddedDown && backAsNew,
        ),
        check(
          '5 → 2 held as suspicious until repeated',
          '≥ 1 suspicious answer',
          String(suspicious),
          suspicious >= 1,
        ),
        check(
          '5 → 2 not drained before the grace period',
          `≥ ${ms(GRACE_MS)}`,
          ms(phases['5 → 2 (to draining)'] ?? 0),
          (phases['5 → 2 (to draining)'] ?? 0) >= GRACE_MS,
        ),
        check(
          'new connections to draining tasks',
          '0 (500 ms after the drain began)',
          String(lateToGone.length),
          lateToGone.length === 0,
        ),
        check(
          'members at the end',
          '3, all up',
          final.join(', '),
          final.length === 3 && final.every(s => s.endsWith('=up')),
        ),
      ]
      return checks
    } finally {
      await load?.stop()
      await lb.stop()
      await Promise.all(replicas.map(r => r.kill()))
      for (const c of closers) await c()
    }
  },
}
