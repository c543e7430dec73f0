// DNS discovery end to end: the built CLI (default workers) resolving a real UDP DNS
// server on 127.0.0.1, replicas on 127.0.0.2-.9 sharing one port as Swarm tasks do.
import t, { type Test } from 'tap'
import { startCorral, type CorralProcess } from '../helpers/corral-process.js'
import { startDnsServer, type DnsServer } from '../helpers/dns-server.js'
import {
  BLOB_BYTES,
  BLOB_SHA256,
  get,
  getBlob,
  startIpReplica,
  startReplicaSet,
  type IpReplica,
} from '../helpers/ip-replica.js'
import { lbYaml, stateChanged } from '../helpers/lb-config.js'
import {
  familiesWithPrefix,
  promtoolCheckMetrics,
  promtoolMissing,
  unexpectedFindings,
} from '../helpers/promtool.js'
import { admin, getPool, waitForPool } from '../helpers/shared-pool.js'

const NAME = 'tasks.registry'
const GRACE_MS = 1_000
const HEALTH = '{ interval: 100ms, timeout: 500ms, rise: 2, fall: 2, jitter: 0 }'

function discoveryYaml(dns: DnsServer, extra = ''): string {
  return `discovery:
  - { name: reg, dns: ${NAME}, servers: ['${dns.address}'], interval: 200ms, timeout: 200ms, tries: 1, grace: ${GRACE_MS}ms${extra} }`
}

async function startLb(
  t: Test,
  dns: DnsServer,
  port: number,
  extra = '',
  members: readonly { id: string; port: number }[] = [],
): Promise<CorralProcess> {
  const lb = await startCorral(
    t.testdir(),
    lbYaml(members, {
      health: HEALTH,
      extra: discoveryYaml(dns, `, ports: { http: ${port} }${extra}`),
    }),
  )
  t.teardown(() => lb.stop())
  return lb
}

const id = (ip: string): string => `reg-${ip}`
const ips = (rs: readonly IpReplica[]): string[] => rs.map(r => r.ip)

/** Member ids and states, sorted: "reg-127.0.0.2=up". */
async function memberStates(lb: CorralProcess): Promise<string[]> {
  const pool = await getPool(lb)
  return pool.members
    .map(m => `${m.id}=${m.state}${m.removing ? '(removing)' : ''}`)
    .sort()
}

/** Which replica answered each of `n` new connections. */
async function whoami(port: number, n: number): Promise<string[]> {
  const seen: string[] = []
  for (let i = 0; i < n; i++) {
    const r = await get(port, '/whoami')
    seen.push(r.status === 200 ? r.body : `status ${r.status}`)
  }
  return seen
}

async function allUp(lb: CorralProcess, rs: readonly IpReplica[]): Promise<void> {
  await Promise.all(rs.map(r => lb.waitForLog(stateChanged(id(r.ip), 'up'), 15_000)))
}

void t.test(
  'new members are down and get no connection until their checks pass',
  async t => {
    const dns = await startDnsServer(t)
    const rs = await startReplicaSet(t, ['127.0.0.2', '127.0.0.3', '127.0.0.4'])
    const [r2, r3, r4] = rs
    if (r2 === undefined || r3 === undefined || r4 === undefined)
      throw new Error('replicas')
    r4.setHealthy(false)
    dns.set('A', NAME, { addresses: ips([r2, r3]) })
    const lb = await startLb(t, dns, r2.port)
    const port = lb.ports.http ?? 0
    await allUp(lb, [r2, r3])
    const pool = await getPool(lb)
    t.strictSame(
      pool.members.map(m => [m.id, m.source]),
      [
        [id(r2.ip), 'dns:reg'],
        [id(r3.ip), 'dns:reg'],
      ],
      'the pool API names the source',
    )

    // Scale up: a new A record.
    dns.set('A', NAME, { addresses: ips(rs) })
    await lb.waitForLog(
      l => l.msg === 'member discovered' && l.member === id(r4.ip),
      5_000,
    )
    await waitForPool(lb, ms => ms.some(m => m.id === id(r4.ip)), 5_000, 'r4 in the pool')
    t.match(
      await memberStates(lb),
      [/=up$/, /=up$/, `${id(r4.ip)}=down`],
      'new member starts down',
    )
    const early = await whoami(port, 12)
    t.notOk(early.includes(r4.ip), 'no connection to a member never checked up')
    t.equal(r4.count('/whoami'), 0, 'the replica saw none either')

    const probesBefore = r4.count('/health')
    r4.setHealthy(true)
    await lb.waitForLog(stateChanged(id(r4.ip), 'up'), 10_000)
    t.ok(r4.count('/health') - probesBefore >= 2, 'up only after rise (2) passing probes')
    const later = await whoami(port, 12)
    t.ok(later.includes(r4.ip), 'routed once up')
    t.strictSame(
      later.filter(x => !ips(rs).includes(x)),
      [],
      'every connection answered',
    )
  },
)

void t.test('duplicate records are one member; other sources are left alone', async t => {
  const dns = await startDnsServer(t)
  const rs = await startReplicaSet(t, ['127.0.0.2', '127.0.0.3'])
  const [r2, r3] = rs
  if (r2 === undefined || r3 === undefined) throw new Error('replicas')
  dns.set('A', NAME, { addresses: [r2.ip, r3.ip, r2.ip, r3.ip, r2.ip] })
  const lb = await startLb(t, dns, r2.port, '', [{ id: 'web-1', port: r2.port }])
  await allUp(lb, rs)
  const put = await admin(lb, 'PUT', '/api/v1/members/extra-1', {
    address: '127.0.0.9',
    ports: { http: r2.port },
  })
  t.equal(put.status, 201, 'an API member added')
  const since = dns.queries('A', NAME)
  await dns.waitForQueries('A', NAME, 5, since)
  const pool = await getPool(lb)
  t.strictSame(
    pool.members.map(m => [m.id, m.source, m.removing]),
    [
      ['extra-1', 'api', false],
      [id(r2.ip), 'dns:reg', false],
      [id(r3.ip), 'dns:reg', false],
      ['web-1', 'config', false],
    ],
    'one member per address; config and API members untouched',
  )
})

void t.test(
  'scale down: a transfer through the removed replica finishes byte-exact, new connections avoid it, then it is gone',
  async t => {
    const dns = await startDnsServer(t)
    const rs = await startReplicaSet(t, ['127.0.0.2', '127.0.0.3', '127.0.0.4'], {
      pauseBlobs: true,
    })
    const [r2, r3, r4] = rs
    if (r2 === undefined || r3 === undefined || r4 === undefined)
      throw new Error('replicas')
    dns.set('A', NAME, { addresses: ips(rs) })
    const lb = await startLb(t, dns, r2.port)
    const port = lb.ports.http ?? 0
    await allUp(lb, rs)

    // Open 8 MiB transfers (each paused half-way by its replica) until one is on r4.
    const blobs: ReturnType<typeof getBlob>[] = []
    for (let i = 0; i < 12; i++) {
      const b = getBlob(port)
      blobs.push(b)
      if ((await b.replica) === r4.ip) break
    }
    t.ok(blobs.length < 12, 'a transfer runs through the replica about to go')
    await r4.waitForPaused(1)

    const removedAt = performance.now()
    const logsBefore = lb.logs.length
    dns.set('A', NAME, { addresses: ips([r2, r3]) })
    await lb.waitForLog(
      l =>
        l.msg === 'member gone from dns: draining, removed once idle' &&
        l.member === id(r4.ip),
      10_000,
      logsBefore,
    )
    t.ok(
      performance.now() - removedAt >= GRACE_MS - 50,
      'held for the grace period first',
    )
    await waitForPool(
      lb,
      ms => ms.some(m => m.id === id(r4.ip) && m.state === 'draining'),
      5_000,
      'r4 draining',
    )
    await lb.poolSynced()
    const during = await whoami(port, 12)
    t.notOk(during.includes(r4.ip), 'new connections avoid the draining member')
    t.ok(
      (await getPool(lb)).members.some(m => m.id === id(r4.ip)),
      'kept while its transfer runs',
    )

    for (const r of rs) r.release()
    const results = await Promise.all(blobs.map(b => b.done))
    for (const r of results) {
      t.strictSame(r, { bytes: BLOB_BYTES, sha256: BLOB_SHA256 }, 'transfer byte-exact')
    }
    await waitForPool(lb, ms => !ms.some(m => m.id === id(r4.ip)), 10_000, 'r4 removed')
    t.strictSame(await memberStates(lb), [`${id(r2.ip)}=up`, `${id(r3.ip)}=up`])
  },
)

void t.test(
  'fail-static: NXDOMAIN, SERVFAIL, REFUSED, timeout and an empty answer change neither members nor traffic',
  async t => {
    const dns = await startDnsServer(t)
    const rs = await startReplicaSet(t, ['127.0.0.2', '127.0.0.3', '127.0.0.4'])
    dns.set('A', NAME, { addresses: ips(rs) })
    const first = rs[0]
    if (first === undefined) throw new Error('replicas')
    const lb = await startLb(t, dns, first.port)
    const port = lb.ports.http ?? 0
    await allUp(lb, rs)
    const steady = await memberStates(lb)
    const failures = [
      ['nxdomain', 'nxdomain'],
      ['servfail', 'servfail'],
      ['refused', 'refused'],
      ['drop', 'timeout'],
      ['empty', 'empty'],
    ] as const
    for (const [fail, reason] of failures) {
      const since = dns.queries('A', NAME)
      dns.set('A', NAME, { fail })
      // Several intervals (and past the grace period): backoff stretches them.
      await dns.waitForQueries('A', NAME, 5, since, 15_000)
      t.strictSame(await memberStates(lb), steady, `${fail}: member set unchanged`)
      const seen = await whoami(port, 6)
      t.strictSame(
        seen.filter(x => !ips(rs).includes(x)),
        [],
        `${fail}: every connection answered`,
      )
      const pool = (await getPool(lb)) as unknown as {
        discovery: { failStatic: boolean; lastResult: string }[]
      }
      t.match(
        pool.discovery,
        [{ failStatic: true, lastResult: reason }],
        `${fail}: pool API says so`,
      )
      const back = dns.queries('A', NAME)
      dns.set('A', NAME, { addresses: ips(rs) })
      await dns.waitForQueries('A', NAME, 2, back, 10_000)
    }
    // One line per change of condition, never one per poll. A query that times out on a
    // loaded machine is a real change (to `timeout` and back), so count changes: no two
    // consecutive condition lines say the same thing, every failure was logged, and there
    // are far fewer lines than failing polls (≥ 5 per failure above).
    const FAILING = 'dns discovery failing: keeping the last good members (fail-static)'
    const conditions = lb.logs
      .filter(l => l.msg === FAILING || l.msg === 'dns discovery answers again')
      .map(l => (l.msg === FAILING ? String(l.reason) : 'good'))
    const repeated = conditions.filter((c, i) => i > 0 && conditions[i - 1] === c)
    t.strictSame(repeated, [], 'no condition logged twice in a row')
    const failing = conditions.filter(c => c !== 'good')
    for (const [, reason] of failures) {
      t.ok(failing.includes(reason), `${reason}: logged`)
    }
    t.ok(
      failing.length < failures.length * 3,
      `one log line per change, not per poll (${String(failing.length)} lines)`,
    )
    const metrics = await get(lb.adminPort, '/metrics')
    for (const [, reason] of failures) {
      const m = new RegExp(
        `corral_discovery_polls_total\\{discovery="reg",result="${reason}"\\} (\\d+)`,
      ).exec(metrics.body)
      t.ok(Number(m?.[1] ?? 0) >= 5, `polls counted as ${reason}`)
    }
    t.match(metrics.body, /corral_discovery_fail_static\{discovery="reg"\} 0/)
    t.match(metrics.body, /corral_pool_members_by_source\{source="dns:reg"\} 3/)
    t.match(
      metrics.body,
      /corral_discovery_last_success_timestamp_seconds\{discovery="reg"\} \d/,
    )
    t.strictSame(await memberStates(lb), steady, 'still the same members')
    if (promtoolMissing === false) {
      const families =
        familiesWithPrefix(metrics.body, 'corral_discovery_') +
        familiesWithPrefix(metrics.body, 'corral_pool_members_by_source')
      const run = await promtoolCheckMetrics(families)
      t.strictSame(unexpectedFindings(run), [], 'promtool check metrics: clean')
    }
  },
)

void t.test('alternating subset answers drain nothing', async t => {
  const dns = await startDnsServer(t)
  const rs = await startReplicaSet(t, ['127.0.0.2', '127.0.0.3', '127.0.0.4'])
  const first = rs[0]
  if (first === undefined) throw new Error('replicas')
  dns.set('A', NAME, { addresses: ips(rs) })
  const lb = await startLb(t, dns, first.port)
  await allUp(lb, rs)
  const steady = await memberStates(lb)
  const since = dns.queries('A', NAME)
  dns.cycle('A', NAME, [
    { addresses: ips(rs) },
    { addresses: ips(rs.slice(0, 2)) },
    { addresses: ips(rs) },
    { addresses: ips(rs.slice(1)) },
  ])
  // 12 answers at 200 ms: more than twice the grace period.
  await dns.waitForQueries('A', NAME, 12, since, 15_000)
  t.notOk(
    lb.logs.some(l => l.msg === 'member gone from dns: draining, removed once idle'),
    'no drain',
  )
  t.strictSame(await memberStates(lb), steady)
})

void t.test('SRV: each target with its own port', async t => {
  const dns = await startDnsServer(t)
  const r5 = await startIpReplica(t, '127.0.0.5', 0)
  const r6 = await startIpReplica(t, '127.0.0.6', 0)
  dns.set('SRV', '_http._tcp.registry', {
    srv: [
      { target: 'r5.registry', port: r5.port },
      { target: 'r6.registry', port: r6.port },
    ],
  })
  dns.set('A', 'r5.registry', { addresses: [r5.ip] })
  dns.set('A', 'r6.registry', { addresses: [r6.ip] })
  const lb = await startCorral(
    t.testdir(),
    lbYaml([], {
      health: HEALTH,
      extra: `discovery:
  - { name: reg, dns: _http._tcp.registry, record: SRV, servers: ['${dns.address}'], interval: 200ms, timeout: 200ms, tries: 1 }`,
    }),
  )
  t.teardown(() => lb.stop())
  const id5 = `reg-r5.registry-${r5.port}`
  const id6 = `reg-r6.registry-${r6.port}`
  await lb.waitForLog(stateChanged(id5, 'up'), 15_000)
  await lb.waitForLog(stateChanged(id6, 'up'), 15_000)
  const pool = (await getPool(lb)) as unknown as {
    members: { id: string; address: string; ports: Record<string, number> }[]
  }
  t.strictSame(
    pool.members.map(m => [m.id, m.address, m.ports.http]),
    [
      [id5, r5.ip, r5.port],
      [id6, r6.ip, r6.port],
    ],
  )
  const seen = await whoami(lb.ports.http ?? 0, 8)
  t.ok(seen.includes(r5.ip) && seen.includes(r6.ip), 'both targets take connections')
})
