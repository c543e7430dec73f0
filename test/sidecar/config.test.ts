// The sidecar's config file: the issue's example parses; mistakes name the key and the fix.
import t from 'tap'
import { loadSidecarConfig } from '../../src/sidecar/config.js'
import { ConfigError } from '../../src/errors.js'

const EXAMPLE = `redis: { url: redis://10.0.0.5:6379/0, prefix: corral:dtr }
member: { id: dtr-1, address: 10.0.0.11, ports: { http: 80, https: 443 } }
health: { port: https, scheme: https, path: /health, interval: 1s, timeout: 500ms, rise: 2, fall: 2,
          tls: { insecure: true } }
`
const load = (text: string, set: { path: string; value: unknown }[] = []) =>
  loadSidecarConfig('sidecar.yaml', { readFile: () => text, env: {}, overrides: set })

void t.test("the issue's example parses with documented defaults", t => {
  const c = load(EXAMPLE)
  t.equal(c.member.id, 'dtr-1')
  t.equal(c.health.port, 443, 'health.port "https" names member.ports.https')
  t.equal(c.health.intervalMs, 1_000)
  t.equal(c.health.timeoutMs, 500)
  t.equal(c.health.tls.insecure, true)
  t.equal(c.redis.prefix, 'corral:dtr')
  t.strictSame(c.heartbeat, { intervalMs: 1_000, ttlMs: 5_000 })
  t.strictSame(c.drain, {
    timeoutMs: 30_000,
    waitForConnections: true,
    connectionsTimeoutMs: 300_000,
    leaseMs: 600_000,
  })
  t.end()
})

void t.test('flags override keys', t => {
  const c = load(EXAMPLE, [
    { path: 'member.address', value: '10.0.0.12' },
    { path: 'drain.timeout', value: '1m' },
  ])
  t.equal(c.member.address, '10.0.0.12')
  t.equal(c.drain.timeoutMs, 60_000)
  t.end()
})

void t.test('mistakes are reported with the key and what was expected', t => {
  const bad = EXAMPLE.replace('port: https', 'port: grpc').replace(
    'interval: 1s',
    'interval: soon',
  )
  try {
    load(bad + 'heartbeat: { interval: 2s, ttl: 1s }\n')
    t.fail('expected a ConfigError')
  } catch (err) {
    t.ok(err instanceof ConfigError)
    const text = err instanceof ConfigError ? err.issues.join('\n') : ''
    t.match(text, /health\.interval: expected a duration/)
    t.match(text, /heartbeat\.ttl: expected more than heartbeat\.interval/)
  }
  t.throws(() => load('member: { id: x }\n'), ConfigError, 'missing redis and address')
  // Cross-key rules run once every key parsed (zod skips refinements after issues).
  t.throws(
    () => load(EXAMPLE.replace('port: https', 'port: grpc')),
    /health\.port: expected a port number or one of member\.ports \("http", "https"\)/,
  )
  t.end()
})
