// Native accept and connect (issue #14 step two, dataPath native): the relay thread
// accepts and connects, TypeScript routes. Each test names what must behave exactly as
// on the JS path. Skipped, saying why, where the addon is not built.
import { once } from 'node:events'
import { readdirSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import t, { type Test } from 'tap'
import { loadNativeAddon } from '../../src/proxy/native-loader.js'
import { receiveHashed, sendRandom } from '../helpers/byte-stream.js'
import { startBlackhole } from '../helpers/blackhole.js'
import { startProxy, type ProxyHarness } from '../helpers/proxy-harness.js'
import { openClient, readToEnd } from '../helpers/tcp-client.js'
import { echo, startTcpMember, type TcpMember } from '../helpers/tcp-member.js'
import { upMember } from '../helpers/views.js'

const native = loadNativeAddon()
if ('error' in native) {
  t.comment(`native data path not available: ${native.error}`)
  t.pass('skipped: the addon is not built here (npm run build:native)')
} else {
  run()
}

function openFds(): number {
  return readdirSync('/proc/self/fd').length
}

/** Polls (bounded) until `probe` holds: fds close in the relay thread and libuv callbacks. */
async function until(probe: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

/** A member that answers every connection with its name, then echoes. */
function named(name: string): (socket: Socket) => void {
  return socket => {
    socket.write(`${name}\n`)
    socket.pipe(socket)
  }
}

/** Connects from `localAddress` and returns the first line the member sent. */
async function firstLine(
  t: Test,
  port: number,
  localAddress: string,
  signal: AbortSignal,
): Promise<string> {
  const socket = connect({ host: '127.0.0.1', port, localAddress, allowHalfOpen: true })
  t.teardown(() => socket.destroy())
  socket.on('error', () => undefined)
  socket.end()
  const data = await readToEnd(socket, signal)
  return data.toString().split('\n')[0] ?? ''
}

/** Resolves when the proxy closed its side (FIN or reset). */
function proxyClosed(socket: Socket, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.on('error', () => undefined)
    socket.once('end', () => {
      resolve()
    })
    socket.once('close', () => {
      resolve()
    })
    signal.addEventListener('abort', () => {
      reject(new Error(`the proxy never closed: ${String(signal.reason)}`))
    })
  })
}

async function nativeProxy(
  t: Test,
  members: readonly TcpMember[],
  options: Parameters<typeof startProxy>[2] = {},
): Promise<ProxyHarness> {
  const proxy = await startProxy(
    t,
    members.map((m, i) => upMember(`m${String(i + 1)}`, m.port)),
    { dataPath: 'native', ...options },
  )
  t.equal(proxy.dataPlane.nativeListeners, 1, 'the relay thread accepts')
  return proxy
}

function run(): void {
  void t.test('bytes both ways, byte-exact, with half-close and a banner', async t => {
    const signal = AbortSignal.timeout(60_000)
    const member = await startTcpMember(t, named('hello'))
    const proxy = await nativeProxy(t, [member])
    const client = await openClient(t, proxy.port, signal)
    const total = 4 * 1024 * 1024
    const received = receiveHashed(client, signal)
    const sent = sendRandom(client, total, signal)
    const [got, sha] = await Promise.all([received, sent.sha256])
    t.equal(
      got.bytes,
      total + 'hello\n'.length,
      'banner and every byte back after our FIN',
    )
    t.not(got.sha256, sha, 'the banner came first')
    await proxy.waitForIdle(signal)
    t.equal(proxy.statsOf('m1').bytesToMember, total, 'bytes to the member counted')
    t.equal(proxy.statsOf('m1').outcomes.ok, 1, 'one ok connection')
  })

  void t.test('a refused member is retried on another, and reported', async t => {
    const signal = AbortSignal.timeout(20_000)
    const dead = await startTcpMember(t, echo)
    const live = await startTcpMember(t, named('live'))
    await dead.kill()
    const proxy = await nativeProxy(t, [dead, live])
    const lines = await Promise.all(
      Array.from({ length: 10 }, () => firstLine(t, proxy.port, '127.0.0.1', signal)),
    )
    t.ok(
      lines.every(l => l === 'live'),
      'every client reached the live member',
    )
    await proxy.waitForIdle(signal)
    t.ok(proxy.failures.length >= 1, 'passive failures reported')
    t.ok(
      proxy.failures.every(
        f =>
          f.member === 'm1' &&
          !f.result.ok &&
          f.result.detail === `connect ECONNREFUSED 127.0.0.1:${String(dead.port)}`,
      ),
      'each names the dead member and the refusal, as the JS path does',
    )
    t.equal(proxy.statsOf('m2').outcomes.failed, 0, 'no failed connection')
    t.equal(proxy.statsOf('m1').active, 0, 'nothing left counted on the dead member')
  })

  void t.test('a connect timeout is a passive failure, then another member', async t => {
    const signal = AbortSignal.timeout(20_000)
    const hole = await startBlackhole(t, signal)
    const live = await startTcpMember(t, named('live'))
    const proxy = await startProxy(
      t,
      [upMember('hole', hole), upMember('live', live.port)],
      { dataPath: 'native', connectTimeoutMs: 200 },
    )
    const lines = await Promise.all(
      Array.from({ length: 4 }, () => firstLine(t, proxy.port, '127.0.0.1', signal)),
    )
    t.strictSame(lines, ['live', 'live', 'live', 'live'])
    t.ok(
      proxy.failures.some(
        f =>
          !f.result.ok && f.result.detail === `connect timeout 127.0.0.1:${String(hole)}`,
      ),
      'a timeout reported for the blackhole',
    )
  })

  void t.test('consistent hashing picks the same member on both paths', async t => {
    const signal = AbortSignal.timeout(30_000)
    const members = await Promise.all(
      ['a', 'b', 'c', 'd'].map(n => startTcpMember(t, named(n))),
    )
    const views = members.map((m, i) => upMember(`m${String(i)}`, m.port))
    const js = await startProxy(t, views, { dataPath: 'js', balance: 'consistent-hash' })
    const nat = await startProxy(t, views, {
      dataPath: 'native',
      balance: 'consistent-hash',
    })
    t.equal(nat.dataPlane.nativeListeners, 1, 'native accept')
    const sources = Array.from({ length: 24 }, (_, i) => `127.0.0.${String(i + 2)}`)
    const onJs = await Promise.all(sources.map(s => firstLine(t, js.port, s, signal)))
    const onNative = await Promise.all(
      sources.map(s => firstLine(t, nat.port, s, signal)),
    )
    t.strictSame(onNative, onJs, 'the same member for each client address')
    t.ok(new Set(onJs).size > 1, 'and the addresses spread over members')
    const again = await Promise.all(sources.map(s => firstLine(t, nat.port, s, signal)))
    t.strictSame(again, onNative, 'stable on the native path')
  })

  void t.test(
    'admission: over maxConnections a client is closed and counted',
    async t => {
      const signal = AbortSignal.timeout(20_000)
      const member = await startTcpMember(t, echo)
      const proxy = await nativeProxy(t, [member], { maxConnections: 2 })
      const held = await Promise.all([1, 2].map(() => openClient(t, proxy.port, signal)))
      for (const c of held) c.write('x')
      await Promise.all(held.map(c => once(c, 'data', { signal })))
      const third = await openClient(t, proxy.port, signal)
      await proxyClosed(third, signal)
      t.equal(proxy.statsOf('').outcomes.rejected_limit, 1, 'counted as rejected_limit')
      t.equal(member.accepted, 2, 'the member never saw it')
      for (const c of held) c.end()
      await proxy.waitForIdle(signal)
    },
  )

  void t.test(
    'a per-member connection limit rejects once every member is full',
    async t => {
      const signal = AbortSignal.timeout(20_000)
      const member = await startTcpMember(t, echo)
      const proxy = await nativeProxy(t, [member], { maxConnectionsPerMember: 1 })
      const first = await openClient(t, proxy.port, signal)
      first.write('x')
      await once(first, 'data', { signal })
      const second = await openClient(t, proxy.port, signal)
      await proxyClosed(second, signal)
      t.equal(proxy.statsOf('').outcomes.rejected_limit, 1, 'rejected_limit')
      first.end()
      await proxy.waitForIdle(signal)
    },
  )

  void t.test('a hostname member is resolved and relayed natively', async t => {
    const signal = AbortSignal.timeout(20_000)
    const member = await startTcpMember(t, named('byname'))
    const proxy = await startProxy(
      t,
      [upMember('m1', member.port, { address: 'localhost' })],
      { dataPath: 'native' },
    )
    // localhost may resolve to ::1 first, where nothing listens: then m1 is refused
    // and the client is closed; either way no relay is left behind.
    const socket = connect({ host: '127.0.0.1', port: proxy.port, allowHalfOpen: true })
    socket.on('error', () => undefined)
    socket.end()
    const data = await readToEnd(socket, signal).catch(() => Buffer.alloc(0))
    const ok = data.toString() === 'byname\n'
    const refused = proxy.failures.some(
      f => !f.result.ok && f.result.detail.startsWith('connect '),
    )
    t.ok(ok || refused, ok ? 'relayed to localhost' : 'localhost refused (::1), reported')
    await proxy.waitForIdle(signal)
  })

  void t.test('forced close under load: drain deadline closes every relay', async t => {
    const signal = AbortSignal.timeout(60_000)
    const member = await startTcpMember(t, echo)
    const before = openFds()
    const proxy = await nativeProxy(t, [member], { maxConnections: 5_000 })
    const clients = await Promise.all(
      Array.from({ length: 200 }, () => openClient(t, proxy.port, signal)),
    )
    // Every relay busy both ways (bounded: 2 MiB each, stopped at close).
    for (const c of clients) {
      c.resume()
      sendRandom(c, 2 * 1024 * 1024, signal).sha256.catch(() => undefined)
    }
    await proxy.waitForLoad('m1', 200, signal)
    const closedAll = Promise.all(clients.map(c => proxyClosed(c, signal)))
    const { forced } = await proxy.dataPlane.close(100)
    t.ok(forced > 0 && forced <= 200, `forced ${String(forced)} relays at the deadline`)
    await closedAll
    t.pass('every client saw its relay close')
    await proxy.waitForIdle(signal)
    t.equal(proxy.dataPlane.localLoad('m1'), 0, 'no load left')
    // The listening socket is closed (natively too): a new client is refused.
    const late = connect({ host: '127.0.0.1', port: proxy.port })
    const refused = await new Promise<boolean>(resolve => {
      late.once('error', () => {
        resolve(true)
      })
      late.once('connect', () => {
        resolve(false)
      })
    })
    late.destroy()
    t.ok(refused, 'nothing accepts after close')
    for (const c of clients) c.destroy()
    await until(() => member.sockets.size === 0, 'the member sockets closing')
    await until(() => openFds() <= before + 2, `fds back to ${String(before)}`)
    t.ok(openFds() <= before + 2, `fds ${String(openFds())} vs ${String(before)} before`)
  })

  void t.test(
    'no fd left by rejected, refused, reset-while-connecting relays',
    async t => {
      const signal = AbortSignal.timeout(60_000)
      const hole = await startBlackhole(t, signal)
      const live = await startTcpMember(t, echo)
      const dead = await startTcpMember(t, echo)
      await dead.kill()
      const before = openFds()
      const proxy = await startProxy(
        t,
        [
          upMember('dead', dead.port),
          upMember('hole', hole),
          upMember('live', live.port),
        ],
        { dataPath: 'native', connectTimeoutMs: 5_000, connectAttempts: 1 },
      )
      // Round robin: dead (refused, closed), hole (client resets while it connects), live.
      const refused = await openClient(t, proxy.port, signal)
      await proxyClosed(refused, signal)
      const waiting = await openClient(t, proxy.port, signal)
      await proxy.waitForLoad('hole', 1, signal)
      waiting.resetAndDestroy()
      await proxy.waitForLoad('hole', 0, signal)
      const ok = await openClient(t, proxy.port, signal)
      ok.end('fin')
      t.equal((await readToEnd(ok, signal)).toString(), 'fin', 'the live one relays')
      await proxy.waitForIdle(signal)
      t.equal(
        proxy.statsOf('hole').outcomes.connect_error,
        0,
        'a leaving client is no failure',
      )
      proxy.dataPlane.destroy()
      await until(() => openFds() <= before + 2, `fds back to ${String(before)}`)
      t.ok(
        openFds() <= before + 2,
        `fds ${String(openFds())} vs ${String(before)} before`,
      )
    },
  )

  void t.test('nativeAccept: false keeps JS accept with the fd hand-over', async t => {
    const signal = AbortSignal.timeout(20_000)
    const member = await startTcpMember(t, named('old'))
    const proxy = await startProxy(t, [upMember('m1', member.port)], {
      dataPath: 'native',
      nativeAccept: false,
    })
    t.equal(proxy.dataPlane.dataPath, 'native')
    t.equal(proxy.dataPlane.nativeListeners, 0, 'JS accepts')
    t.equal(await firstLine(t, proxy.port, '127.0.0.1', signal), 'old')
    await proxy.waitForIdle(signal)
  })
}
