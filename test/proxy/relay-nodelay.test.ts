// Regression (issue #19): a relay passes on each small write at once, in both directions,
// on every data path. With Nagle on (no TCP_NODELAY), a small write waited for the ACK
// of the previous one, which the receiver delays by up to 40 ms: every write-write-read
// exchange through corral took ~44 ms (HAProxy and a direct connection: ~3 ms), and a
// registry push paid it per request and per TLS record tail.
import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import t, { type Test } from 'tap'
import { startProxy, testDataPath, type ProxyOptions } from '../helpers/proxy-harness.js'
import { manual, startTcpMember } from '../helpers/tcp-member.js'
import { upMember } from '../helpers/views.js'
import { median } from '../../bench/stats.js'

const ROUNDS = 20
const CHUNK = 'x'.repeat(100)
/** Far below the 40 ms delayed ACK a Nagle stall waits for, far above a loopback hop. */
const MEDIAN_LIMIT_MS = 20

/** Resolves once `socket` has delivered `bytes` more bytes. */
function readBytes(socket: Socket, bytes: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = 0
    const onData = (chunk: Buffer): void => {
      got += chunk.length
      if (got < bytes) return
      socket.off('data', onData)
      resolve()
    }
    socket.on('data', onData)
    signal.addEventListener('abort', () => {
      socket.off('data', onData)
      reject(new Error(`got ${got} of ${bytes} bytes`))
    })
  })
}

/**
 * One exchange: `from` writes two small chunks 2 ms apart (two segments, so the relay
 * forwards them in two writes), `to` answers one byte once both arrived. Returns ms.
 */
async function exchange(from: Socket, to: Socket, signal: AbortSignal): Promise<number> {
  const started = performance.now()
  const arrived = readBytes(to, 2 * CHUNK.length, signal)
  from.write(CHUNK)
  // Not a synchronisation wait: the gap is the traffic pattern under test.
  await new Promise(resolve => setTimeout(resolve, 2))
  from.write(CHUNK)
  await arrived
  const answered = readBytes(from, 1, signal)
  to.write('k')
  await answered
  return performance.now() - started
}

async function checkBothWays(t: Test, options: ProxyOptions): Promise<void> {
  const member = await startTcpMember(t, manual)
  const proxy = await startProxy(t, [upMember('m1', member.port)], options)
  const client = connect({ host: '127.0.0.1', port: proxy.port, noDelay: true })
  t.teardown(() => client.destroy())
  await once(client, 'connect')
  const signal = AbortSignal.timeout(15_000)
  const server = await member.takeSocket(signal)
  server.setNoDelay(true)
  for (const [name, from, to] of [
    ['client → member (the member leg)', client, server],
    ['member → client (the client leg)', server, client],
  ] as const) {
    const times: number[] = []
    for (let i = 0; i < ROUNDS; i++) times.push(await exchange(from, to, signal))
    const mid = median(times)
    t.ok(
      mid < MEDIAN_LIMIT_MS,
      `${name}: median exchange ${mid.toFixed(1)} ms < ${MEDIAN_LIMIT_MS} ms`,
    )
  }
}

void t.test('small writes are relayed at once both ways', async t => {
  await checkBothWays(t, {})
})

if (testDataPath() === 'native')
  void t.test('also with JS accept and a hand-over to the relay thread', async t => {
    await checkBothWays(t, { nativeAccept: false })
  })
