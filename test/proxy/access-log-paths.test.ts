// Issue #22: every relay kind writes the same access-log record. The JS relay reads the
// SNI, the local address and the first-byte times itself; on the native data path the
// relay thread reports them (with the accept, a peek of the client's first bytes, and
// the close), both when it accepts (native accept) and when JS accepted and handed the
// sockets over. Native kinds are skipped, saying why, where the addon is not built.
import { once } from 'node:events'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import type { AccessLogConfig } from '../../src/config/access-log-schema.js'
import { loadNativeAddon } from '../../src/proxy/native-loader.js'
import { waitForRecord, type Rec } from '../helpers/access-log.js'
import { startProxy, type ProxyOptions } from '../helpers/proxy-harness.js'
import { openClient, readToEnd } from '../helpers/tcp-client.js'
import { startTcpMember } from '../helpers/tcp-member.js'
import { clientHello } from '../helpers/tls-hello.js'
import { upMember } from '../helpers/views.js'

/** The member's answer to a connection's first bytes, then its FIN. */
const ANSWER = 'hello back'

const KINDS: readonly { readonly name: string; readonly options: ProxyOptions }[] = [
  { name: 'the JS relay', options: { dataPath: 'js' } },
  {
    name: 'the native relay thread, JS accept (hand-over)',
    options: { dataPath: 'native', nativeAccept: false },
  },
  {
    name: 'the native relay thread, native accept',
    options: { dataPath: 'native', nativeAccept: true },
  },
]

const native = loadNativeAddon()

function accessLog(path: string, interimMs = 0): AccessLogConfig {
  return {
    enabled: true,
    destination: path,
    sample: 1,
    skipEmpty: true,
    maxLinesPerSecond: 0,
    clientAddress: 'full',
    interim: interimMs,
  }
}

/** Sends `first`, reads the member's answer to its FIN, ends; the record of it. */
async function exchange(t: Test, options: ProxyOptions, first: Buffer): Promise<Rec> {
  const member = await startTcpMember(t, socket => {
    socket.once('data', () => {
      socket.end(ANSWER)
    })
  })
  const path = join(t.testdir(), 'access.log')
  const proxy = await startProxy(t, [upMember('m1', member.port)], {
    ...options,
    accessLog: accessLog(path),
  })
  const signal = AbortSignal.timeout(10_000)
  const client = await openClient(t, proxy.port, signal)
  const clientPort = client.localPort
  client.write(first)
  const got = await readToEnd(client, signal)
  t.equal(got.toString(), ANSWER, 'relayed both ways')
  client.end()
  const record = await waitForRecord(path, r => r.clientPort === clientPort)
  t.equal(record.localAddress, '127.0.0.1', 'local address')
  t.equal(record.localPort, proxy.port, 'local port: the listener')
  t.equal(record.clientAddress, '127.0.0.1', 'client address')
  t.equal(record.termination, '--')
  t.equal(record.closedBy, 'member')
  t.equal(record.bytesToMember, first.length)
  t.equal(record.bytesToClient, ANSWER.length)
  const connectMs = record.connectMs ?? NaN
  const toMember = record.firstByteToMemberMs ?? NaN
  const toClient = record.firstByteToClientMs ?? NaN
  t.ok(toMember >= connectMs, `first byte to member ${toMember} ≥ connect ${connectMs}`)
  t.ok(toClient >= toMember, `first byte to client ${toClient} ≥ to member ${toMember}`)
  t.ok(toClient <= record.durationMs, 'first bytes within the connection')
  return record
}

for (const kind of KINDS) {
  void t.test(kind.name, async t => {
    if (kind.options.dataPath === 'native' && 'error' in native) {
      t.pass(`skipped: the native data path is not built here (${native.error})`)
      return
    }
    await t.test('a TLS client: its SNI, addresses and first-byte times', async t => {
      const hello = await clientHello('dtr.example.com')
      const record = await exchange(t, kind.options, hello)
      t.equal(record.sni, 'dtr.example.com')
    })
    await t.test('a plain client: no SNI, the rest the same', async t => {
      const record = await exchange(
        t,
        kind.options,
        Buffer.from('GET / HTTP/1.0\r\n\r\n'),
      )
      t.equal(record.sni, null)
    })
    await t.test(
      'over maxConnections: refused at once, PC, with its addresses',
      async t => {
        const member = await startTcpMember(t)
        const path = join(t.testdir(), 'access.log')
        const proxy = await startProxy(t, [upMember('m1', member.port)], {
          ...kind.options,
          maxConnections: 0,
          accessLog: accessLog(path),
        })
        const signal = AbortSignal.timeout(10_000)
        const client = await openClient(t, proxy.port, signal)
        const clientPort = client.localPort
        client.resume()
        // Half-open allowed: the proxy's close arrives as the end of the stream.
        await once(client, 'end', { signal })
        const record = await waitForRecord(path, r => r.clientPort === clientPort)
        t.equal(record.termination, 'PC')
        t.equal(record.status, 503)
        t.equal(record.clientAddress, '127.0.0.1', 'client address')
        t.equal(record.localAddress, '127.0.0.1', 'local address')
        t.equal(record.localPort, proxy.port, 'local port: the listener')
        t.equal(member.accepted, 0, 'no member was tried')
      },
    )
  })
}
