// The PROXY header on each data path, at the DataPlane: one write with the client's first
// bytes when they wait, a FIN before any byte still preceded by the header, a silent
// client (server-first protocol) not held past proxyProtocolSniWait, a member's own
// setting over the pool's, and relays JS accepted and handed to the relay thread.
import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import t from 'tap'
import { startProxy, testDataPath } from '../helpers/proxy-harness.js'
import { startTcpMember, type TcpMember } from '../helpers/tcp-member.js'
import { upMember } from '../helpers/views.js'

const signal = (): AbortSignal => AbortSignal.timeout(10_000)

async function dial(port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port })
  socket.on('error', () => undefined)
  await once(socket, 'connect', { signal: signal() })
  return socket
}

/** Every byte `socket` sends until it ends (bounded), and its first chunk. */
async function received(socket: Socket): Promise<{ all: string; first: string }> {
  const chunks: Buffer[] = []
  for await (const chunk of socket.iterator({ destroyOnReturn: false }))
    chunks.push(chunk as Buffer)
  return {
    all: Buffer.concat(chunks).toString('latin1'),
    first: chunks[0]?.toString('latin1') ?? '',
  }
}

/** The v1 line corral writes for `client` (127.0.0.1 to the proxy's port). */
function v1Line(client: Socket, proxyPort: number): string {
  return `PROXY TCP4 127.0.0.1 127.0.0.1 ${String(client.localPort)} ${String(proxyPort)}\r\n`
}

async function member(t: Parameters<typeof startTcpMember>[0]): Promise<TcpMember> {
  return startTcpMember(t, socket => {
    socket.pause()
  })
}

for (const nativeAccept of testDataPath() === 'native' ? [true, false] : [true]) {
  const path = `${testDataPath()}${nativeAccept ? '' : ', JS accept and hand-over'}`

  void t.test(
    `${path}: v2 waits for the first bytes, header and bytes in one write`,
    async t => {
      const m = await member(t)
      const proxy = await startProxy(t, [upMember('a', m.port)], {
        proxyProtocol: 'v2',
        proxyProtocolSniWaitMs: 5_000,
        nativeAccept,
      })
      const c = await dial(proxy.port)
      const s = await m.takeSocket(signal())
      c.end('hello')
      s.resume()
      const { all, first } = await received(s)
      const header = Buffer.from(all, 'latin1').subarray(0, 28)
      t.equal(header.subarray(12, 14).toString('hex'), '2111', 'v2 PROXY, TCP over IPv4')
      t.equal(all.slice(28), 'hello', 'the client bytes after the header, untouched')
      if (testDataPath() === 'js') t.equal(first, all, 'one write: header and bytes')
      c.destroy()
    },
  )

  void t.test(`${path}: v1 before a FIN with no byte`, async t => {
    const m = await member(t)
    const proxy = await startProxy(t, [upMember('a', m.port)], {
      proxyProtocol: 'v1',
      nativeAccept,
    })
    const c = await dial(proxy.port)
    const s = await m.takeSocket(signal())
    c.end()
    s.resume()
    t.equal((await received(s)).all, v1Line(c, proxy.port))
    c.destroy()
  })

  void t.test(
    `${path}: v2 waiting for bytes still sends the header before a FIN`,
    async t => {
      const m = await member(t)
      const proxy = await startProxy(t, [upMember('a', m.port)], {
        proxyProtocol: 'v2',
        proxyProtocolSniWaitMs: 5_000,
        nativeAccept,
      })
      const c = await dial(proxy.port)
      const s = await m.takeSocket(signal())
      c.end()
      s.resume()
      const { all } = await received(s)
      t.equal(all.length, 28, 'the header, then the FIN')
      c.destroy()
    },
  )

  void t.test(`${path}: a silent client gets its header after the wait`, async t => {
    const m = await member(t)
    const proxy = await startProxy(t, [upMember('a', m.port)], {
      proxyProtocol: 'v2',
      proxyProtocolSniWaitMs: 50,
      nativeAccept,
    })
    const c = await dial(proxy.port)
    const s = await m.takeSocket(signal())
    s.resume()
    const [chunk] = (await once(s, 'data', { signal: signal() })) as [Buffer]
    t.equal(chunk.length, 28, 'the header alone, while the client says nothing')
    c.destroy()
  })

  void t.test(`${path}: a member's own setting wins over the pool's`, async t => {
    const m = await member(t)
    const proxy = await startProxy(t, [upMember('a', m.port, { proxyProtocol: 'off' })], {
      proxyProtocol: 'v1',
      nativeAccept,
    })
    const c = await dial(proxy.port)
    const s = await m.takeSocket(signal())
    c.end('hello')
    s.resume()
    t.equal((await received(s)).all, 'hello', 'no header')
    c.destroy()
  })

  void t.test(`${path}: a reloaded pool default applies to new connections`, async t => {
    const m = await member(t)
    const proxy = await startProxy(t, [upMember('a', m.port)], { nativeAccept })
    proxy.dataPlane.setOptions({
      connectTimeoutMs: 2_000,
      idleTimeoutMs: 10_000,
      connectAttempts: 3,
      maxConnections: 1_000,
      proxyProtocol: 'v1',
    })
    const c = await dial(proxy.port)
    const s = await m.takeSocket(signal())
    c.end('hello')
    s.resume()
    t.equal((await received(s)).all, v1Line(c, proxy.port) + 'hello')
    c.destroy()
  })
}
