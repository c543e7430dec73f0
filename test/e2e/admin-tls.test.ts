// The admin API over HTTPS through the real CLI (default workers mode), checked with curl:
// curl --cacert works, plain HTTP fails, a read token reads but cannot drain (403),
// clientAuth: require refuses a client without a certificate, new certificate files +
// SIGHUP serve the new certificate (a bad new pair keeps the old one), the expiry gauge,
// and a non-loopback bind without TLS refused at start.
import { execFile } from 'node:child_process'
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { Agent, request } from 'node:https'
import { join } from 'node:path'
import t from 'tap'
import { startReplica, type Replica } from '../../src/demo/replica.js'
import { runCorralCli, startCorral } from '../helpers/corral-process.js'
import { lbYaml } from '../helpers/lb-config.js'
import { makeSelfSignedCert } from '../helpers/tls-cert.js'

const ADMIN_TOKEN = 'admin-token-tls-test'
const READ_TOKEN = 'read-token-tls-test'

interface Curl {
  /** curl's exit code (0: an HTTP answer came). */
  readonly code: number
  /** The HTTP status, 0 without an answer. */
  readonly status: number
  readonly body: string
}

/** One curl call; resolves whatever happens (bounded by --max-time). */
function curl(args: readonly string[]): Promise<Curl> {
  return new Promise(resolve => {
    execFile(
      'curl',
      ['-sS', '--max-time', '5', '-o', '-', '-w', '\n%{http_code}', ...args],
      (err, stdout) => {
        const at = stdout.lastIndexOf('\n')
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1
        resolve({
          code,
          status: Number(stdout.slice(at + 1)) || 0,
          body: stdout.slice(0, at),
        })
      },
    )
  })
}

/** GET over `agent`: the status and whether it reused an open connection. */
function get(agent: Agent, url: string): Promise<{ status: number; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { agent, headers: { authorization: `Bearer ${READ_TOKEN}` } },
      res => {
        res.resume()
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket })
        })
      },
    )
    req.setTimeout(5_000, () => req.destroy(new Error('timed out')))
    req.on('error', reject)
    req.end()
  })
}

function certDir(dir: string, name: string): { ca: string; cert: string; key: string } {
  const d = join(dir, name)
  mkdirSync(d, { recursive: true })
  makeSelfSignedCert(d, { clientAuth: true })
  return {
    ca: join(d, 'ca.crt'),
    cert: join(d, 'server.crt'),
    key: join(d, 'server.key'),
  }
}

void t.test('admin API over HTTPS with read and admin tokens', async t => {
  const dir = t.testdir()
  const first = certDir(dir, 'first')
  const second = certDir(dir, 'second')
  const third = certDir(dir, 'third')
  // The files corral reads; replaced in place before each SIGHUP.
  const cert = join(dir, 'admin.crt')
  const key = join(dir, 'admin.key')
  copyFileSync(first.cert, cert)
  copyFileSync(first.key, key)
  const readTokenFile = join(dir, 'read-token')
  writeFileSync(readTokenFile, `${READ_TOKEN}\n`)
  const replicas: Replica[] = await Promise.all(
    ['r1', 'r2', 'r3'].map(id => startReplica(id)),
  )
  t.teardown(() => Promise.all(replicas.map(r => r.kill())))
  const lb = await startCorral(
    dir,
    lbYaml(replicas, {
      admin: `{ bind: "127.0.0.1:0", token: ${ADMIN_TOKEN}, readTokenFile: "${readTokenFile}", tls: { cert: "${cert}", key: "${key}", ca: "${first.ca}", clientAuth: optional } }`,
    }),
  )
  t.teardown(() => lb.stop())
  const base = `https://127.0.0.1:${lb.adminPort}`
  const read = ['-H', `Authorization: Bearer ${READ_TOKEN}`]
  const adm = ['-H', `Authorization: Bearer ${ADMIN_TOKEN}`]

  const pool = await curl(['--cacert', first.ca, ...read, `${base}/api/v1/pool`])
  t.equal(pool.status, 200, 'curl --cacert with the read token reads the pool')
  t.match(pool.body, /"members"/)
  const anonymous = await curl(['--cacert', first.ca, `${base}/api/v1/pool`])
  t.equal(anonymous.status, 401, 'no token: 401 on a read')
  const probe = await curl(['--cacert', first.ca, `${base}/healthz`])
  t.equal(probe.status, 200, '/healthz needs no token')
  const plain = await curl([`http://127.0.0.1:${lb.adminPort}/api/v1/pool`, ...read])
  t.not(
    plain.status,
    200,
    `plain HTTP fails (curl exit ${plain.code}, status ${plain.status})`,
  )
  const unverified = await curl([...read, `${base}/api/v1/pool`])
  t.not(unverified.code, 0, 'without the CA curl refuses the certificate')
  const forbidden = await curl([
    '--cacert',
    first.ca,
    ...read,
    '-X',
    'POST',
    `${base}/api/v1/members/r1/drain`,
  ])
  t.equal(forbidden.status, 403, 'the read token cannot drain (403)')
  const drained = await curl([
    '--cacert',
    first.ca,
    ...adm,
    '-X',
    'POST',
    // Forced: members may not have passed a check yet, and the drain budget would count
    // them as out; this test is about who may drain, not how many.
    `${base}/api/v1/members/r1/drain?force=true`,
  ])
  t.equal(drained.status, 200, 'the admin token drains')
  const metrics = await curl(['--cacert', first.ca, ...adm, `${base}/metrics`])
  const m = /^corral_tls_cert_not_after_seconds\{server="admin"\} (\d+)$/m.exec(
    metrics.body,
  )
  t.ok(m, 'corral_tls_cert_not_after_seconds{server="admin"} exported')
  const inTwoDays = Date.now() / 1000 + 2 * 86_400
  t.ok(
    Math.abs(Number(m?.[1]) - inTwoDays) < 3_600,
    'it is the certificate notAfter (2 days)',
  )

  // New files + SIGHUP: the new certificate is served; the old CA no longer verifies it.
  // A keep-alive connection opened before keeps working (nothing is dropped).
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: readFileSync(first.ca) })
  t.teardown(() => {
    agent.destroy()
  })
  const before = await get(agent, `${base}/api/v1/pool`)
  t.equal(before.status, 200, 'a keep-alive connection before the reload')
  copyFileSync(second.cert, cert)
  copyFileSync(second.key, key)
  let since = lb.logs.length
  lb.proc.kill('SIGHUP')
  await lb.waitForLog(l => l.msg === 'admin certificate reloaded', 10_000, since)
  const after = await get(agent, `${base}/api/v1/pool`)
  t.same(after, { status: 200, reused: true }, 'the open connection survives the reload')
  const renewed = await curl(['--cacert', second.ca, ...read, `${base}/api/v1/pool`])
  t.equal(renewed.status, 200, 'after SIGHUP the new certificate is served')
  const stale = await curl(['--cacert', first.ca, ...read, `${base}/api/v1/pool`])
  t.not(stale.code, 0, 'and the old one is not')

  // A key that does not match the certificate: the previous pair stays.
  copyFileSync(third.key, key)
  since = lb.logs.length
  lb.proc.kill('SIGHUP')
  const failed = await lb.waitForLog(
    l =>
      l.msg === 'admin certificate reload failed: still serving the previous certificate',
    10_000,
    since,
  )
  t.match(String(failed.error), /not a usable certificate and key/, 'the log says why')
  const kept = await curl(['--cacert', second.ca, ...read, `${base}/api/v1/pool`])
  t.equal(kept.status, 200, 'a bad new pair keeps the old one')
  t.notOk(
    lb.logs.some(
      l =>
        JSON.stringify(l).includes(READ_TOKEN) || JSON.stringify(l).includes(ADMIN_TOKEN),
    ),
    'no token in any log line',
  )
})

void t.test('clientAuth: require refuses a client without a certificate', async t => {
  const dir = t.testdir()
  const c = certDir(dir, 'c')
  const replicas: Replica[] = await Promise.all(['r1'].map(id => startReplica(id)))
  t.teardown(() => Promise.all(replicas.map(r => r.kill())))
  const lb = await startCorral(
    dir,
    lbYaml(replicas, {
      admin: `{ bind: "127.0.0.1:0", tls: { cert: "${c.cert}", key: "${c.key}", ca: "${c.ca}", clientAuth: require } }`,
    }),
  )
  t.teardown(() => lb.stop())
  const url = `https://127.0.0.1:${lb.adminPort}/api/v1/pool`
  const without = await curl(['--cacert', c.ca, url])
  t.not(without.status, 200, `no client certificate: refused (curl exit ${without.code})`)
  const withCert = await curl(['--cacert', c.ca, '--cert', c.cert, '--key', c.key, url])
  t.equal(withCert.status, 200, 'with a client certificate signed by the CA: 200')
})

void t.test('a non-loopback admin bind without TLS is refused at start', async t => {
  const dir = t.testdir({
    'corral.yaml': `listeners: [{ name: http, bind: "127.0.0.1:0" }]\nadmin: { bind: "0.0.0.0:0", token: ${ADMIN_TOKEN} }\n`,
  })
  const res = await runCorralCli(['lb', '--config', `${dir}/corral.yaml`])
  t.equal(res.code, 1)
  t.match(
    res.stdout + res.stderr,
    /admin\.tls is not set: the token\s+would cross the network in clear text/,
  )
  t.notMatch(res.stdout + res.stderr, ADMIN_TOKEN, 'the token is not printed')
})
