// Redis over TLS with an ACL user, against a real redis-server (--tls-port, client
// certificates required, the default user off; certificates made at test time). Two
// instances share a drain over TLS; each misconfiguration keeps traffic flowing
// (fail-static) and shows its exact cause in the pool API, the metric and one log line.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { startReplica, type Replica } from '../../src/demo/replica.js'
import type { CorralProcess } from '../helpers/corral-process.js'
import { freePort, startRedis } from '../helpers/redis-server.js'
import { admin, startSharedLb, waitForPool } from '../helpers/shared-pool.js'
import { makeSelfSignedCert } from '../helpers/tls-cert.js'

const PASSWORD = 'pw-tls-test'
/** The least-privilege ACL of docs/coordination.md, for the key prefix "test". */
const ACL =
  `user corral on >${PASSWORD} resetkeys ~test:* resetchannels &test:* ` +
  '-@all +@read +@write +@scripting +@pubsub +@connection -@dangerous +info +time'

interface Files {
  readonly ca: string
  readonly cert: string
  readonly key: string
}

function certFiles(dir: string): Files {
  mkdirSync(dir, { recursive: true })
  makeSelfSignedCert(dir, { clientAuth: true })
  return {
    ca: join(dir, 'ca.crt'),
    cert: join(dir, 'server.crt'),
    key: join(dir, 'server.key'),
  }
}

function subdir(dir: string, name: string): string {
  const path = join(dir, name)
  mkdirSync(path, { recursive: true })
  return path
}

async function fetchThrough(lb: CorralProcess): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${lb.ports.http ?? 0}/`, {
    signal: AbortSignal.timeout(5_000),
  }).catch((err: unknown) => {
    const cause = err instanceof Error ? err.cause : undefined
    throw new Error(
      `GET through ${lb.adminUrl}: ${String(cause)}; exit ${lb.proc.exitCode}`,
    )
  })
  await res.arrayBuffer()
  return res.status
}

void t.test('Redis over TLS with an ACL user', async t => {
  const dir = t.testdir()
  const good = certFiles(join(dir, 'good'))
  const other = certFiles(join(dir, 'other'))
  const passwordFile = join(dir, 'redis-password')
  writeFileSync(passwordFile, `${PASSWORD}\n`)
  const wrongPasswordFile = join(dir, 'wrong-password')
  writeFileSync(wrongPasswordFile, 'not-the-password\n')
  const port = await freePort()
  const redis = await startRedis({
    port,
    conf: [
      'port 0',
      `tls-port ${port}`,
      `tls-cert-file ${good.cert}`,
      `tls-key-file ${good.key}`,
      `tls-ca-cert-file ${good.ca}`,
      'tls-auth-clients yes',
      'user default off',
      ACL,
      // Same password, but keys outside corral's prefix only: every script is refused.
      `user limited on >${PASSWORD} ~other:* &test:* -@all +@read +@write +@scripting +@pubsub +@connection -@dangerous +info +time`,
    ],
  })
  t.teardown(() => redis.kill())
  const replicas: Replica[] = await Promise.all(
    ['r1', 'r2', 'r3'].map(id => startReplica(id)),
  )
  t.teardown(() => Promise.all(replicas.map(r => r.kill())))
  const url = `rediss://127.0.0.1:${port}/0`
  const redisYaml = (extra: string, username = 'corral'): string =>
    `{ url: "${url}", prefix: test, username: ${username}, ${extra} }`
  const goodTls = `tls: { ca: "${good.ca}", cert: "${good.cert}", key: "${good.key}" }`

  const lbs = await Promise.all(
    ['lb1', 'lb2'].map(id =>
      startSharedLb(subdir(dir, id), replicas, {
        redisUrl: url,
        instanceId: id,
        redis: redisYaml(`passwordFile: "${passwordFile}", ${goodTls}`),
      }),
    ),
  )
  t.teardown(() => Promise.all(lbs.map(lb => lb.stop())))
  const [lb1, lb2] = lbs
  if (lb1 === undefined || lb2 === undefined) throw new Error('lbs')
  for (const lb of lbs) {
    await waitForPool(
      lb,
      (ms, s) =>
        (s.coordination as { instances: number }).instances === 2 &&
        ms.every(m => m.state === 'up'),
      20_000,
      'both instances connected over TLS, members up',
    )
  }
  const drain = await admin(lb1, 'POST', '/api/v1/members/r1/drain')
  t.equal(drain.status, 200, 'a drain through lb1 is accepted over TLS')
  await waitForPool(
    lb2,
    ms => ms.find(m => m.id === 'r1')?.admin === 'draining',
    5_000,
    'lb2 sees the drain',
  )
  t.pass('lb2 sees the drain made through lb1 (TLS, ACL user)')

  const cases: { name: string; redis: string; cause: string }[] = [
    {
      name: 'no client certificate',
      redis: redisYaml(`passwordFile: "${passwordFile}", tls: { ca: "${good.ca}" }`),
      cause: 'client_cert_required',
    },
    {
      name: 'wrong CA',
      redis: redisYaml(
        `passwordFile: "${passwordFile}", tls: { ca: "${other.ca}", cert: "${good.cert}", key: "${good.key}" }`,
      ),
      cause: 'bad_ca',
    },
    {
      name: 'wrong servername',
      redis: redisYaml(
        `passwordFile: "${passwordFile}", tls: { ca: "${good.ca}", cert: "${good.cert}", key: "${good.key}", servername: wrong.example }`,
      ),
      cause: 'name_mismatch',
    },
    {
      name: 'wrong password',
      redis: redisYaml(`passwordFile: "${wrongPasswordFile}", ${goodTls}`),
      cause: 'wrong_password',
    },
    {
      name: 'ACL user without the prefix',
      redis: redisYaml(`passwordFile: "${passwordFile}", ${goodTls}`, 'limited'),
      cause: 'no_permission',
    },
  ]
  const bad = await Promise.all(
    cases.map((c, i) =>
      startSharedLb(subdir(dir, `bad${i}`), replicas, {
        redisUrl: url,
        instanceId: `bad${i}`,
        redis: c.redis,
      }),
    ),
  )
  t.teardown(() => Promise.all(bad.map(lb => lb.stop())))
  for (const [i, c] of cases.entries()) {
    const lb = bad[i]
    if (lb === undefined) throw new Error('bad lb')
    await waitForPool(
      lb,
      (_m, s) =>
        (s.coordination as { storeError: { cause: string } | null }).storeError?.cause ===
        c.cause,
      10_000,
      `${c.name}: cause ${c.cause}`,
    )
    t.pass(`${c.name}: the pool API says ${c.cause}`)
    // Fail-static on the config file's members: routable once their first checks pass.
    await waitForPool(lb, ms => ms.every(m => m.state === 'up'), 10_000, 'members up')
    await lb.poolSynced()
    t.equal(await fetchThrough(lb), 200, `${c.name}: traffic keeps flowing`)
    const metrics = await (await fetch(`${lb.adminUrl}/metrics`)).text()
    t.match(
      metrics,
      new RegExp(`^corral_coordination_store_error\\{cause="${c.cause}"\\} 1$`, 'm'),
      `${c.name}: corral_coordination_store_error{cause="${c.cause}"} 1`,
    )
    const lines = lb.logs.filter(l => l.cause === c.cause)
    t.equal(lines.length, 1, `${c.name}: one log line for the cause`)
    t.notMatch(
      JSON.stringify(lb.logs),
      PASSWORD,
      `${c.name}: the password is never logged`,
    )
  }
  const healthy = await (await fetch(`${lb1.adminUrl}/metrics`)).text()
  t.notMatch(healthy, /^corral_coordination_store_error\{[^}]*\} 1$/m, 'no cause on lb1')
})
