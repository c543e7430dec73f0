// DnsPoller against a real UDP DNS server on 127.0.0.1: each record type, each failure
// mapped to its reason, the polling loop's interval, jitter and backoff.
import t from 'tap'
import type { DiscoveryConfig } from '../../src/config/discovery-schema.js'
import { DnsPoller, type QueryResult } from '../../src/discovery/poller.js'
import { startDnsServer } from '../helpers/dns-server.js'

function config(over: Partial<DiscoveryConfig>, server: string): DiscoveryConfig {
  return {
    name: 'reg',
    dns: 'tasks.registry',
    record: 'A',
    ports: {},
    intervalMs: 1_000,
    servers: [server],
    timeoutMs: 100,
    tries: 1,
    graceMs: 3_000,
    weight: 1,
    ...over,
  }
}

void t.test('A, AAAA and SRV answers', async t => {
  const dns = await startDnsServer(t)
  dns.set('A', 'tasks.registry', { addresses: ['127.0.0.3', '127.0.0.2', '127.0.0.3'] })
  dns.set('AAAA', 'tasks.registry', { addresses: ['fd00::5'] })
  dns.set('SRV', '_http._tcp.registry', {
    srv: [
      { target: 'r-1.registry', port: 5000 },
      { target: 'r-2.registry', port: 5001 },
      { target: 'gone.registry', port: 5002 },
    ],
  })
  dns.set('A', 'r-1.registry', { addresses: ['127.0.0.4'] })
  dns.set('A', 'r-2.registry', { addresses: ['127.0.0.5'] })
  const a = await new DnsPoller(config({}, dns.address)).query()
  t.strictSame(a, {
    ok: true,
    records: { kind: 'addresses', addresses: ['127.0.0.3', '127.0.0.2', '127.0.0.3'] },
  })
  const aaaa = await new DnsPoller(config({ record: 'AAAA' }, dns.address)).query()
  t.strictSame(aaaa, { ok: true, records: { kind: 'addresses', addresses: ['fd00::5'] } })
  const srv = await new DnsPoller(
    config({ record: 'SRV', dns: '_http._tcp.registry' }, dns.address),
  ).query()
  t.strictSame(
    srv,
    {
      ok: true,
      records: {
        kind: 'srv',
        entries: [
          { target: 'r-1.registry', port: 5000, address: '127.0.0.4' },
          { target: 'r-2.registry', port: 5001, address: '127.0.0.5' },
        ],
      },
    },
    'a target whose name does not exist is left out',
  )
})

void t.test('each failure has its reason', async t => {
  const dns = await startDnsServer(t)
  const poller = new DnsPoller(config({}, dns.address))
  const reasonOf = (r: QueryResult): string => (r.ok ? 'ok' : r.reason)
  const rows = [
    ['nxdomain', 'nxdomain'],
    ['servfail', 'servfail'],
    ['refused', 'refused'],
    ['empty', 'empty'],
    ['drop', 'timeout'],
  ] as const
  for (const [fail, want] of rows) {
    dns.set('A', 'tasks.registry', { fail })
    t.equal(reasonOf(await poller.query()), want, fail)
  }
  dns.set('A', 'r-1.registry', { fail: 'servfail' })
  dns.set('SRV', 'tasks.registry', { srv: [{ target: 'r-1.registry', port: 80 }] })
  const srv = await new DnsPoller(config({ record: 'SRV' }, dns.address)).query()
  t.equal(reasonOf(srv), 'servfail', 'a broken target lookup fails the whole SRV answer')
})

void t.test('polls on the interval and backs off while failing', async t => {
  const dns = await startDnsServer(t)
  dns.set('A', 'tasks.registry', { addresses: ['127.0.0.2'] })
  const poller = new DnsPoller(config({ intervalMs: 100 }, dns.address), {
    random: () => 0.5,
  })
  const seen: string[] = []
  poller.start(async r => {
    seen.push(r.ok ? 'ok' : r.reason)
    await Promise.resolve()
  })
  t.teardown(() => poller.close())
  await dns.waitForQueries('A', 'tasks.registry', 3, 0)
  t.equal(poller.nextDelayMs(), 100, 'the interval while answers are good')
  dns.set('A', 'tasks.registry', { fail: 'servfail' })
  const before = dns.queries('A', 'tasks.registry')
  await dns.waitForQueries('A', 'tasks.registry', 3, before)
  t.equal(poller.nextDelayMs(), 400, 'backed off to four intervals at most')
  await poller.close()
  t.ok(seen.includes('ok') && seen.includes('servfail'), 'results reach the callback')
  const jittered = new DnsPoller(config({ intervalMs: 1_000 }, dns.address), {
    random: () => 0,
  })
  t.equal(jittered.nextDelayMs(), 900, 'jitter spreads ±10%')
})
