// The native data path (native/, dataPath: native): what the relay thread must get right,
// each pitfall of issue #14 with a test. Skipped, saying why, where the addon is not built.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { readdirSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { loadNativeAddon } from '../../src/proxy/native-loader.js'
import { receiveHashed, sendRandom, sha256Of } from '../helpers/byte-stream.js'
import { startProxy } from '../helpers/proxy-harness.js'
import { openClient, readToEnd } from '../helpers/tcp-client.js'
import { echo, startTcpMember } from '../helpers/tcp-member.js'
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

/** Polls (bounded) until `probe` holds: fds close in the relay thread and in libuv close callbacks. */
async function until(probe: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

/**
 * Resolves when the proxy closed its side: 'end' (a FIN; our sockets allow half-open so
 * they stay open) or 'close' (after a reset). Errors are expected and ignored.
 */
function proxyClosed(socket: Socket, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      resolve()
    }
    socket.on('error', () => undefined)
    socket.once('end', done)
    socket.once('close', done)
    signal.addEventListener('abort', () => {
      reject(new Error(`the proxy never closed: ${String(signal.reason)}`))
    })
  })
}

function run(): void {
  void t.test('16 MiB each way arrive byte-exact, with half-close', async t => {
    const signal = AbortSignal.timeout(60_000)
    const member = await startTcpMember(t, echo)
    const proxy = await startProxy(t, [upMember('m1', member.port)], {
      dataPath: 'native',
    })
    t.equal(proxy.dataPlane.dataPath, 'native')
    t.equal(proxy.dataPlane.nativeListeners, 1, 'the relay thread accepts')
    const client = await openClient(t, proxy.port, signal)
    const total = 16 * 1024 * 1024
    const received = receiveHashed(client, signal)
    const sent = sendRandom(client, total, signal) // ends (FIN) after the last byte
    const [got, sha] = await Promise.all([received, sent.sha256])
    t.equal(got.bytes, total, 'every byte came back after our FIN')
    t.equal(got.sha256, sha, 'the same bytes, in order')
    await proxy.waitForIdle(signal)
    const stats = proxy.statsOf('m1')
    t.equal(stats.bytesToMember, total, 'bytes to the member counted')
    t.equal(stats.bytesToClient, total, 'bytes to the client counted')
  })

  void t.test(
    'a member that speaks first: its banner reaches the client intact',
    async t => {
      const signal = AbortSignal.timeout(20_000)
      const banner = randomBytes(300_000)
      const member = await startTcpMember(t, socket => {
        // Written at accept, before the client sends anything: the proxy's member socket
        // must not read it in JS (it is paused before connecting).
        socket.write(banner)
        socket.pipe(socket)
      })
      const proxy = await startProxy(t, [upMember('m1', member.port)], {
        dataPath: 'native',
      })
      const client = await openClient(t, proxy.port, signal)
      const all = readToEnd(client, signal)
      let seen = 0
      client.on('data', (chunk: Buffer) => {
        seen += chunk.length
        if (seen >= banner.length && client.writable) client.end('hello')
      })
      const data = await all
      t.equal(data.length, banner.length + 5)
      t.equal(
        sha256Of(data.subarray(0, banner.length)),
        sha256Of(banner),
        'banner intact',
      )
      t.equal(data.subarray(banner.length).toString(), 'hello', 'then the echo')
    },
  )

  void t.test(
    'a client that sends and ends before the hand-over still gets its echo',
    async t => {
      const signal = AbortSignal.timeout(20_000)
      const member = await startTcpMember(t, echo)
      const proxy = await startProxy(t, [upMember('m1', member.port)], {
        dataPath: 'native',
      })
      const results = await Promise.all(
        Array.from({ length: 200 }, async (_, i) => {
          const socket = connect({
            host: '127.0.0.1',
            port: proxy.port,
            allowHalfOpen: true,
          })
          socket.on('error', () => undefined)
          // Data and FIN go out at once: both are in the kernel before the relay thread
          // registers the fds (it must look at once, not wait for an edge).
          socket.end(`ping ${i}`)
          return (await readToEnd(socket, signal)).toString() === `ping ${i}`
        }),
      )
      t.ok(results.every(Boolean), 'all 200 echoed')
      await proxy.waitForIdle(signal)
      t.equal(proxy.dataPlane.localLoad('m1'), 0)
    },
  )

  void t.test('close-connections closes only the marked-down member relays', async t => {
    const signal = AbortSignal.timeout(20_000)
    const a = await startTcpMember(t, echo)
    const b = await startTcpMember(t, echo)
    const proxy = await startProxy(t, [upMember('a', a.port), upMember('b', b.port)], {
      dataPath: 'native',
    })
    const clients = await Promise.all(
      Array.from({ length: 10 }, () => openClient(t, proxy.port, signal)),
    )
    for (const c of clients) c.write('x')
    await Promise.all(clients.map(c => once(c, 'data', { signal })))
    t.equal(proxy.dataPlane.closeConnectionsTo('a'), 5, 'five relays to a')
    await proxy.waitForLoad('a', 0, signal)
    t.equal(proxy.dataPlane.localLoad('b'), 5, 'relays to b untouched')
  })

  void t.test('an idle relay is closed by the relay thread', async t => {
    const signal = AbortSignal.timeout(20_000)
    const member = await startTcpMember(t, echo)
    const proxy = await startProxy(t, [upMember('m1', member.port)], {
      dataPath: 'native',
      idleTimeoutMs: 300,
    })
    const client = await openClient(t, proxy.port, signal)
    client.write('x')
    await once(client, 'data', { signal })
    const started = Date.now()
    await proxyClosed(client, signal)
    const waited = Date.now() - started
    t.ok(waited >= 250, `closed after ${waited} ms of silence (timeout 300 ms)`)
    await proxy.waitForIdle(signal)
  })

  void t.test(
    'a member reset mid-transfer closes the relay (no SIGPIPE death)',
    async t => {
      const signal = AbortSignal.timeout(30_000)
      const member = await startTcpMember(t, socket => {
        socket.once('data', () => socket.resetAndDestroy())
      })
      const proxy = await startProxy(t, [upMember('m1', member.port)], {
        dataPath: 'native',
      })
      const client = await openClient(t, proxy.port, signal)
      client.resume()
      const gone = proxyClosed(client, signal)
      sendRandom(client, 64 * 1024 * 1024, signal).sha256.catch(() => undefined)
      await gone
      await proxy.waitForIdle(signal)
      t.pass('the relay closed and this process is alive')
    },
  )

  void t.test('no fd is left behind by finished, reset and forced relays', async t => {
    const signal = AbortSignal.timeout(60_000)
    const member = await startTcpMember(t, echo)
    const before = openFds()
    const proxy = await startProxy(t, [upMember('m1', member.port)], {
      dataPath: 'native',
    })
    const done = Array.from({ length: 100 }, async (_, i) => {
      const s = connect({ host: '127.0.0.1', port: proxy.port, allowHalfOpen: true })
      s.on('error', () => undefined)
      if (i % 2 === 0) {
        s.end('bye')
        await readToEnd(s, signal)
        s.destroy()
      } else {
        await once(s, 'connect', { signal })
        s.write('x')
        await once(s, 'data', { signal })
        s.resetAndDestroy()
      }
    })
    await Promise.all(done)
    await proxy.waitForIdle(signal)
    const held = await Promise.all(
      Array.from({ length: 20 }, () => openClient(t, proxy.port, signal)),
    )
    await proxy.waitForLoad('m1', 20, signal)
    proxy.dataPlane.destroy()
    await Promise.all(held.map(c => proxyClosed(c, signal)))
    for (const c of held) c.destroy()
    await proxy.waitForIdle(signal)
    await until(() => member.sockets.size === 0, 'the member sockets closing')
    await until(() => openFds() <= before + 2, `fds back to ${before} (now ${openFds()})`)
    t.ok(
      openFds() <= before + 2,
      `fds ${openFds()} vs ${before} before (the relay thread's epoll and eventfd aside)`,
    )
  })

  void t.test('the relay thread keeps a process alive only while it relays', async t => {
    const signal = AbortSignal.timeout(30_000)
    const member = await startTcpMember(t, echo)
    const script = fileURLToPath(
      new URL('../helpers/native-liveness-child.js', import.meta.url),
    )
    const child = spawn(process.execPath, [script, String(member.port)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    t.teardown(() => child.kill('SIGKILL'))
    const exited = once(child, 'exit', { signal })
    let out = ''
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (d: string) => (out += d))
    await until(() => out.includes('port '), 'the child listening')
    const port = Number(/port (\d+)/.exec(out)?.[1])
    const client = await openClient(t, port, signal)
    await until(() => out.includes('handed over'), 'the hand-over')
    // Nothing JS-side is pending in the child now: only the relay thread's ref.
    client.write('still here')
    const [echoed] = (await once(client, 'data', { signal })) as [Buffer]
    t.equal(
      echoed.toString(),
      'still here',
      'relayed after the child has nothing else to do',
    )
    t.equal(child.exitCode, null, 'the child is alive')
    client.end()
    const [code] = (await exited) as [number]
    t.equal(code, 0, 'the child exited on its own once the relay closed')
    t.match(out, /closed done/)
  })
}
