// The options every Redis connection gets: ACL user, password from a file, TLS (also for
// Sentinel), and a slow retry while the last failure was a configuration error.
import { join } from 'node:path'
import t from 'tap'
import { redisSchema } from '../../src/config/coordination-schema.js'
import { connectionOptions } from '../../src/coordination/redis-connection.js'
import { readRedisSecrets } from '../../src/coordination/redis-secrets.js'
import { CONFIG_ERROR_RETRY_MS } from '../../src/coordination/store-fault.js'

void t.test('username, passwordFile and tls reach the connection options', t => {
  const dir = t.testdir({
    pw: 's3cret\n',
    'ca.pem': 'CA PEM',
    'c.pem': 'C',
    'k.pem': 'K',
  })
  const config = redisSchema.parse({
    url: 'rediss://redis.internal:6380/0',
    username: 'corral',
    passwordFile: join(dir, 'pw'),
    tls: {
      ca: join(dir, 'ca.pem'),
      cert: join(dir, 'c.pem'),
      key: join(dir, 'k.pem'),
      servername: 'redis.internal',
    },
  })
  const o = connectionOptions(config, readRedisSecrets(config))
  t.equal(o.username, 'corral')
  t.equal(o.password, 's3cret', 'the trailing newline of the file is dropped')
  t.same(o.tls, {
    ca: 'CA PEM',
    cert: 'C',
    key: 'K',
    servername: 'redis.internal',
    rejectUnauthorized: true,
  })
  t.end()
})

void t.test('Sentinel: the same TLS options for the sentinels and the primary', t => {
  const dir = t.testdir({ 'ca.pem': 'CA' })
  const config = redisSchema.parse({
    sentinels: [{ host: '127.0.0.1', port: 26379 }],
    tls: { ca: join(dir, 'ca.pem') },
  })
  const o = connectionOptions(config, readRedisSecrets(config))
  t.equal(o.enableTLSForSentinelMode, true)
  t.equal(o.sentinelTLS, o.tls)
  t.equal(o.tls?.rejectUnauthorized, true, 'hostname and CA verification on')
  t.end()
})

void t.test('a configuration error is retried slowly', t => {
  const config = redisSchema.parse({ url: 'redis://127.0.0.1:6390/0' })
  let slow = false
  const o = connectionOptions(config, {}, () => slow)
  t.equal(o.retryStrategy?.(1), 100)
  slow = true
  t.equal(o.retryStrategy?.(1), CONFIG_ERROR_RETRY_MS)
  t.end()
})

void t.test('bad keys and files are named', t => {
  const both = redisSchema.safeParse({
    url: 'redis://h:1',
    password: 'a',
    passwordFile: '/x',
  })
  t.notOk(both.success, 'password and passwordFile together')
  const half = redisSchema.safeParse({ url: 'redis://h:1', tls: { cert: '/c' } })
  t.notOk(half.success, 'cert without key')
  const dir = t.testdir({ empty: '' })
  t.throws(
    () =>
      readRedisSecrets(
        redisSchema.parse({ url: 'redis://h:1', passwordFile: join(dir, 'nope') }),
      ),
    /redis\.passwordFile: cannot read .*nope/,
  )
  t.throws(
    () =>
      readRedisSecrets(
        redisSchema.parse({ url: 'redis://h:1', passwordFile: join(dir, 'empty') }),
      ),
    /redis\.passwordFile: .* is empty/,
  )
  t.end()
})
