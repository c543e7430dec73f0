// DNS discovery with two load balancers sharing one pool through a real redis-server.
// Each resolves with its own DNS server (Swarm answers per node): discovered members are
// shared like any member write, and one instance's DNS failure removes nothing anywhere.
import t from 'tap'
import type { CorralProcess } from '../helpers/corral-process.js'
import { startDnsServer, type DnsServer } from '../helpers/dns-server.js'
import { startReplicaSet, type IpReplica } from '../helpers/ip-replica.js'
import { startRedis } from '../helpers/redis-server.js'
import { getPool, startSharedLb, waitForPool } from '../helpers/shared-pool.js'

const NAME = 'tasks.registry'
const HEALTH = '{ interval: 150ms, timeout: 1s, rise: 1, fall: 2, jitter: 0 }'

const id = (r: IpReplica): string => `reg-${r.ip}`

async function states(lb: CorralProcess): Promise<string[]> {
  const pool = (await getPool(lb)) as unknown as {
    members: { id: string; state: string; source: string; removing: boolean }[]
  }
  return pool.members
    .map(m => `${m.id}=${m.state}/${m.source}${m.removing ? '(removing)' : ''}`)
    .sort()
}

void t.test('two load balancers sharing Redis, each with its own DNS', async t => {
  const redis = await startRedis()
  t.teardown(() => redis.kill())
  const rs = await startReplicaSet(t, [
    '127.0.0.2',
    '127.0.0.3',
    '127.0.0.4',
    '127.0.0.5',
  ])
  const [r2, r3, r4, r5] = rs
  if (r2 === undefined || r3 === undefined || r4 === undefined || r5 === undefined) {
    throw new Error('replicas')
  }
  const dnsA = await startDnsServer(t)
  const dnsB = await startDnsServer(t)
  const answer = (d: DnsServer, set: readonly IpReplica[]) => {
    d.set('A', NAME, { addresses: set.map(r => r.ip) })
  }
  answer(dnsA, [r2, r3, r4])
  answer(dnsB, [r2, r3, r4])
  const start = async (instanceId: string, dns: DnsServer) => {
    const lb = await startSharedLb(t.testdir(), [], {
      redisUrl: redis.url,
      instanceId,
      health: HEALTH,
      extra: `discovery:
  - { name: reg, dns: ${NAME}, servers: ['${dns.address}'], interval: 200ms, timeout: 200ms, tries: 1, grace: 1s, ports: { http: ${r2.port} } }`,
    })
    t.teardown(() => lb.stop())
    return lb
  }
  const lbA = await start('lb-a', dnsA)
  const lbB = await start('lb-b', dnsB)
  const three = [r2, r3, r4].map(r => `${id(r)}=up/dns:reg`)
  for (const lb of [lbA, lbB]) {
    await waitForPool(
      lb,
      ms => ms.length === 3 && ms.every(m => m.state === 'up'),
      20_000,
      'three discovered members up',
    )
    t.strictSame(await states(lb), three, 'both pools carry the discovered members')
  }

  // lb-a's DNS fails in every way; lb-b's keeps answering.
  for (const fail of ['servfail', 'drop', 'nxdomain', 'empty'] as const) {
    const since = dnsA.queries('A', NAME)
    dnsA.set('A', NAME, { fail })
    await dnsA.waitForQueries('A', NAME, 4, since, 15_000)
    t.strictSame(await states(lbA), three, `${fail} on lb-a: lb-a keeps every member`)
    t.strictSame(await states(lbB), three, `${fail} on lb-a: lb-b keeps every member`)
  }
  const metrics = await fetch(`${lbA.adminUrl}/metrics`).then(r => r.text())
  t.match(
    metrics,
    /corral_discovery_fail_static\{discovery="reg"\} 1/,
    'lb-a fails static',
  )

  // Scale down on both nodes' DNS: the member goes from the shared pool.
  answer(dnsA, [r2, r3])
  answer(dnsB, [r2, r3])
  for (const lb of [lbA, lbB]) {
    await waitForPool(lb, ms => !ms.some(m => m.id === id(r4)), 15_000, 'r4 removed')
  }
  // Scale up seen by one node first: added for both.
  answer(dnsB, [r2, r3, r5])
  for (const lb of [lbA, lbB]) {
    await waitForPool(
      lb,
      ms => ms.some(m => m.id === id(r5) && m.state === 'up'),
      15_000,
      'r5 up',
    )
  }
  answer(dnsA, [r2, r3, r5])
  const since = dnsA.queries('A', NAME)
  await dnsA.waitForQueries('A', NAME, 3, since)
  const final = [r2, r3, r5].map(r => `${id(r)}=up/dns:reg`)
  t.strictSame(await states(lbA), final)
  t.strictSame(await states(lbB), final)
})
