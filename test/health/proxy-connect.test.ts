// Health checks with a PROXY protocol header: the header is the first thing on the TCP
// connection, before HTTP and before the TLS handshake; v2 checks send LOCAL (or the
// socket's own endpoints), v1 checks a TCP4 line with the check socket's endpoints.
// The member parses it with proxy-protocol-js (test/helpers/proxy-member.ts).
import { createSecureContext, TLSSocket } from 'node:tls'
import t from 'tap'
import { monotonicClock } from '../../src/clock.js'
import { Prober, type ProbeTarget } from '../../src/health/probe.js'
import { probeReachability } from '../../src/health/reach.js'
import {
  headerHealth,
  readHeader,
  streamAfter,
  type ParsedHeader,
} from '../helpers/proxy-member.js'
import { startTcpMember } from '../helpers/tcp-member.js'
import { makeSelfSignedCert } from '../helpers/tls-cert.js'

const SETTINGS = {
  path: '/health',
  timeoutMs: 2_000,
  expectStatus: [[200, 299]] as [number, number][],
  maxBodyBytes: 4096,
  headers: {},
}
const LOCAL_HEX = '0d0a0d0a000d0a515549540a20000000'

function target(
  port: number,
  scheme: 'http' | 'https',
  proxyProtocol: ProbeTarget['proxyProtocol'],
  ca?: string,
): ProbeTarget {
  return {
    scheme,
    address: '127.0.0.1',
    port,
    tls: {
      insecure: false,
      servername: 'localhost',
      ...(ca !== undefined ? { caPem: ca } : {}),
    },
    ...(proxyProtocol !== undefined ? { proxyProtocol } : {}),
  }
}

void t.test('http check, v2 LOCAL: exactly 16 bytes before the request', async t => {
  const seen: ParsedHeader[] = []
  const member = await startTcpMember(t, headerHealth(seen))
  const prober = new Prober(
    {
      target: target(member.port, 'http', { version: 'v2', source: 'local' }),
      settings: SETTINGS,
    },
    { clock: monotonicClock },
  )
  t.teardown(() => prober.destroy())
  const result = await prober.probe()
  t.equal(result.ok, true, JSON.stringify(result))
  t.equal(seen[0]?.hex, LOCAL_HEX)
  t.equal(seen[0]?.command, 'LOCAL')
})

void t.test('http check, v1: a TCP4 line with the check socket endpoints', async t => {
  const seen: ParsedHeader[] = []
  const member = await startTcpMember(t, headerHealth(seen))
  const prober = new Prober(
    {
      target: target(member.port, 'http', { version: 'v1', source: 'local' }),
      settings: SETTINGS,
    },
    { clock: monotonicClock },
  )
  t.teardown(() => prober.destroy())
  t.equal((await prober.probe()).ok, true)
  const h = seen[0]
  t.equal(h?.version, 1)
  t.equal(h?.family, 'TCP4')
  t.equal(h?.source, '127.0.0.1')
  t.equal(h?.destination, '127.0.0.1')
  t.equal(h?.destinationPort, member.port)
  t.type(h?.sourcePort, 'number')
})

void t.test('https check: the header precedes the TLS handshake', async t => {
  const cert = makeSelfSignedCert(t.testdir())
  const seen: ParsedHeader[] = []
  const context = createSecureContext({ key: cert.key, cert: cert.cert })
  const member = await startTcpMember(t, socket => {
    readHeader(socket, (header, rest) => {
      seen.push(header)
      const secure = new TLSSocket(streamAfter(socket, rest), {
        isServer: true,
        secureContext: context,
      })
      secure.on('error', () => socket.destroy())
      let got = ''
      secure.on('data', (chunk: Buffer) => {
        got += chunk.toString('latin1')
        if (got.includes('\r\n\r\n'))
          secure.end('HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n')
      })
    })
  })
  const prober = new Prober(
    {
      target: target(member.port, 'https', { version: 'v2', source: 'local' }, cert.ca),
      settings: SETTINGS,
    },
    { clock: monotonicClock },
  )
  t.teardown(() => prober.destroy())
  const result = await prober.probe()
  t.equal(result.ok, true, JSON.stringify(result))
  t.equal(seen[0]?.hex, LOCAL_HEX, 'LOCAL, then the ClientHello')
})

void t.test('tcp check, v2 socket: a PROXY command from its own endpoints', async t => {
  const seen: ParsedHeader[] = []
  const member = await startTcpMember(t, socket => {
    readHeader(socket, header => {
      seen.push(header)
      socket.destroy()
    })
  })
  const result = await probeReachability(
    '127.0.0.1',
    member.port,
    2_000,
    monotonicClock,
    {
      version: 'v2',
      source: 'socket',
    },
  )
  t.equal(result.ok, true)
  const deadline = Date.now() + 5_000
  while (seen.length === 0 && Date.now() < deadline)
    await new Promise(resolve => setTimeout(resolve, 10))
  t.equal(seen[0]?.command, 'PROXY')
  t.equal(seen[0]?.family, 'TCP4')
  t.equal(seen[0]?.destinationPort, member.port)
})

void t.test('no header when off: the member reads the request first', async t => {
  const seen: ParsedHeader[] = []
  const member = await startTcpMember(t, headerHealth(seen))
  const prober = new Prober(
    {
      target: target(member.port, 'http', { version: 'off', source: 'local' }),
      settings: SETTINGS,
    },
    { clock: monotonicClock },
  )
  t.teardown(() => prober.destroy())
  t.equal((await prober.probe()).ok, true)
  t.equal(seen[0]?.version, 0)
})
