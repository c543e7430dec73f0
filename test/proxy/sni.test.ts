// SNI peeked from real ClientHello bytes (made by node:tls), and every truncation of
// them and hostile variants give null rather than a wrong name or an exception.
import t from 'tap'
import { peekSni } from '../../src/proxy/sni.js'
import { clientHello } from '../helpers/tls-hello.js'

void t.test('reads the name node:tls sends', async t => {
  const hello = await clientHello('Registry.Example.com')
  t.equal(peekSni(hello), 'registry.example.com')
})

void t.test('no servername: null', async t => {
  // node:tls sends no SNI for an IP address host.
  t.equal(peekSni(await clientHello(undefined)), null)
})

void t.test('every truncation gives null or the name, never a throw', async t => {
  const hello = await clientHello('dtr.example.com')
  let names = 0
  for (let n = 0; n < hello.length; n++) {
    const got = peekSni(hello.subarray(0, n))
    if (got !== null) {
      t.equal(got, 'dtr.example.com', `prefix ${String(n)}`)
      names++
    }
  }
  t.ok(names < hello.length, 'short prefixes give null')
})

void t.test('not TLS, or corrupted: null', async t => {
  t.equal(peekSni(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n')), null)
  t.equal(peekSni(Buffer.alloc(0)), null)
  const hello = Buffer.from(await clientHello('dtr.example.com'))
  // Every single-byte corruption either still parses to a host name or gives null.
  for (let i = 0; i < hello.length; i += 7) {
    const bad = Buffer.from(hello)
    bad[i] = (bad[i] ?? 0) ^ 0xff
    const got = peekSni(bad)
    if (got !== null) t.match(got, /^[a-z0-9._-]+$/, `byte ${String(i)}`)
  }
})
