// DiscoverySource with a real DNS server and an in-memory stand-in for the pool: what it
// writes, what it logs (once per change of condition), what it counts, and that a failed
// write is retried on the next answer.
import { EventEmitter, once } from 'node:events'
import { Writable } from 'node:stream'
import { Registry } from 'prom-client'
import t, { type Test } from 'tap'
import type { DiscoveryConfig } from '../../src/config/discovery-schema.js'
import { DiscoverySource } from '../../src/discovery/source.js'
import { createLogger } from '../../src/log.js'
import {
  createDiscoveryMetrics,
  initDiscoverySeries,
} from '../../src/metrics/discovery.js'
import type { MemberEndpoint, MemberSource, MemberView } from '../../src/pool/types.js'
import { startDnsServer } from '../helpers/dns-server.js'

const NAME = 'tasks.registry'

function view(m: MemberEndpoint, removing = false): MemberView {
  return {
    ...m,
    state: removing ? 'draining' : 'down',
    health: 'down',
    admin: removing ? 'draining' : 'enabled',
    stateSince: 0,
    reason: '',
    recent: [],
    removing,
  }
}

async function setup(t: Test, over: Partial<DiscoveryConfig> = {}) {
  const dns = await startDnsServer(t)
  const lines: Record<string, unknown>[] = []
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) {
        if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>)
      }
      done()
    },
  })
  const register = new Registry()
  const metrics = createDiscoveryMetrics(register)
  initDiscoverySeries(metrics, 'reg')
  const pool = new Map<string, MemberView>([
    [
      'web-1',
      view({ id: 'web-1', address: '10.0.0.1', ports: {}, weight: 1, source: 'config' }),
    ],
  ])
  const writes: string[] = []
  let failWrites = false
  let now = 0
  const rounds = { n: 0 }
  const ticks = new EventEmitter()
  const source = new DiscoverySource(
    {
      name: 'reg',
      dns: NAME,
      record: 'A',
      ports: { http: 8080 },
      intervalMs: 100,
      servers: [dns.address],
      timeoutMs: 100,
      tries: 1,
      graceMs: 0,
      weight: 2,
      ...over,
    },
    {
      log: createLogger('info', sink),
      clock: { now: () => now },
      wallNow: () => 1_700_000_000_000,
      metrics,
      views: () => [...pool.values()],
      sourceOf: (v): MemberSource => v.source ?? 'api',
      listeners: ['http'],
      writes: {
        upsert: async m => {
          await Promise.resolve()
          if (failWrites) throw new Error('store unreachable')
          writes.push(
            `+${m.id} ${m.address}:${m.ports.http} w${m.weight} ${m.source ?? ''}`,
          )
          pool.set(m.id, view(m))
        },
        remove: async id => {
          await Promise.resolve()
          if (failWrites) throw new Error('store unreachable')
          writes.push(`-${id}`)
          pool.delete(id)
        },
      },
    },
  )
  // Count finished rounds through the metric the source sets last.
  const origSet = metrics.members.set.bind(metrics.members)
  metrics.members.set = ((labels: never, value: never) => {
    origSet(labels, value)
    rounds.n++
    ticks.emit('round')
  }) as typeof metrics.members.set
  const rounds$ = async (n: number): Promise<void> => {
    const target = rounds.n + n
    const signal = AbortSignal.timeout(10_000)
    while (rounds.n < target) await once(ticks, 'round', { signal })
  }
  t.teardown(() => source.close())
  return {
    dns,
    source,
    lines,
    register,
    pool,
    writes,
    rounds: rounds$,
    setFail: (f: boolean) => {
      failWrites = f
    },
    advance: (ms: number) => {
      now += ms
    },
  }
}

void t.test('adds, keeps through failures, removes; logs once per change', async t => {
  const s = await setup(t)
  s.dns.set('A', NAME, { addresses: ['10.0.0.5', '10.0.0.6'] })
  s.source.start()
  await s.rounds(1)
  t.strictSame(s.writes, [
    '+reg-10.0.0.5 10.0.0.5:8080 w2 dns:reg',
    '+reg-10.0.0.6 10.0.0.6:8080 w2 dns:reg',
  ])
  s.dns.set('A', NAME, { fail: 'servfail' })
  await s.rounds(3)
  t.equal(s.writes.length, 2, 'a failing DNS writes nothing')
  t.match(s.source.status(), { failStatic: true, lastResult: 'servfail' })
  s.dns.set('A', NAME, { addresses: ['10.0.0.5'] })
  await s.rounds(1)
  t.strictSame(
    s.writes.slice(2),
    ['-reg-10.0.0.6'],
    'removed once answers are good again',
  )
  t.strictSame(
    s.lines
      .map(l => l.msg)
      .filter(m => typeof m === 'string' && m.startsWith('dns discovery')),
    [
      'dns discovery failing: keeping the last good members (fail-static)',
      'dns discovery answers again',
    ],
  )
  const text = await s.register.metrics()
  t.match(text, /corral_discovery_polls_total\{discovery="reg",result="servfail"\} [3-9]/)
  t.match(
    text,
    /corral_discovery_actions_total\{discovery="reg",action="add",result="success"\} 2/,
  )
  t.match(text, /corral_discovery_members\{discovery="reg"\} 1/)
})

void t.test('an id another source uses is skipped, with a warning', async t => {
  const s = await setup(t)
  s.pool.set(
    'reg-10.0.0.7',
    view({
      id: 'reg-10.0.0.7',
      address: '10.0.0.7',
      ports: {},
      weight: 1,
      source: 'api',
    }),
  )
  s.dns.set('A', NAME, { addresses: ['10.0.0.7', '10.0.0.8'] })
  s.source.start()
  await s.rounds(2)
  t.strictSame(s.writes, ['+reg-10.0.0.8 10.0.0.8:8080 w2 dns:reg'])
  t.strictSame(s.source.status().conflicts, ['reg-10.0.0.7'])
  t.equal(
    s.lines.filter(l => String(l.msg).startsWith('dns discovery skips')).length,
    1,
    'warned once',
  )
})

void t.test('a write the store refuses is retried on the next answer', async t => {
  const s = await setup(t)
  s.setFail(true)
  s.dns.set('A', NAME, { addresses: ['10.0.0.9'] })
  s.source.start()
  await s.rounds(1)
  t.strictSame(s.writes, [])
  t.ok(
    s.lines.some(l =>
      String(l.msg).startsWith('dns discovery could not change the pool'),
    ),
  )
  s.setFail(false)
  await s.rounds(1)
  t.strictSame(s.writes, ['+reg-10.0.0.9 10.0.0.9:8080 w2 dns:reg'])
})

void t.test('a majority lost at once waits for the same answer again', async t => {
  const s = await setup(t, { graceMs: 1_000 })
  s.dns.set('A', NAME, { addresses: ['10.0.0.2', '10.0.0.3', '10.0.0.4'] })
  s.source.start()
  await s.rounds(1)
  s.dns.set('A', NAME, { addresses: ['10.0.0.2'] })
  await s.rounds(1)
  t.equal(s.source.status().lastResult, 'suspicious')
  await s.rounds(1)
  t.equal(s.source.status().lastResult, 'success')
  t.strictSame(s.source.status().held, ['reg-10.0.0.3', 'reg-10.0.0.4'], 'held for grace')
  s.advance(1_000)
  await s.rounds(1)
  t.strictSame(s.writes.slice(3), ['-reg-10.0.0.3', '-reg-10.0.0.4'])
})
