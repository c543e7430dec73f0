// The DataPlane's controls over open relays: closing one member's connections, swapping
// the picker, graceful close with a deadline, and the counters it reports.
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { connect } from 'node:net'
import type { Socket } from 'node:net'
import t from 'tap'
import { monotonicClock } from '../../src/clock.js'
import { receiveHashed, sha256Of } from '../helpers/byte-stream.js'
import { startProxy } from '../helpers/proxy-harness.js'
import { openClient, readToEnd, untilPeerCloses } from '../helpers/tcp-client.js'
import type { TcpMember, Teardown } from '../helpers/tcp-member.js'
import { manual, startTcpMember } from '../helpers/tcp-member.js'
import { upMember } from '../helpers/views.js'

const MiB = 1024 * 1024

/** Resolves with `promise`, or rejects naming `what` when `signal` aborts first. */
async function within<T>(
  promise: Promise<T>,
  what: string,
  signal: AbortSignal,
): Promise<T> {
  let onAbort = (): void => undefined
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => {
      reject(new Error(`${what}: ${String(signal.reason)}`))
    }
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([promise, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

/** A client whose relay is up and attached to `member`'s socket (taken from it). */
interface Pair {
  readonly client: Socket
  readonly upstream: Socket
}

/** Opens a client through the proxy and takes the member socket the proxy opened for it. */
async function pair(
  t: Teardown,
  port: number,
  member: TcpMember,
  signal: AbortSignal,
): Promise<Pair> {
  const client = await openClient(t, port, signal)
  const upstream = await member.takeSocket(signal)
  return { client, upstream }
}

/** Sends `bytes` random bytes one way (without ending) and checks they arrive intact. */
async function flows(
  from: Socket,
  to: Socket,
  bytes: number,
  signal: AbortSignal,
): Promise<boolean> {
  const payload = randomBytes(bytes)
  let got = Buffer.alloc(0)
  const arrived = new Promise<void>(resolve => {
    const onData = (chunk: Buffer): void => {
      got = Buffer.concat([got, chunk])
      if (got.length >= bytes) {
        to.removeListener('data', onData)
        resolve()
      }
    }
    to.on('data', onData)
  })
  from.write(payload)
  await within(arrived, `${bytes} bytes did not arrive`, signal)
  return sha256Of(got) === sha256Of(payload)
}

void t.test('closeConnectionsTo closes only that member’s relays', async t => {
  const signal = AbortSignal.timeout(5_000)
  const a = await startTcpMember(t, manual)
  const b = await startTcpMember(t, manual)
  const proxy = await startProxy(t, [upMember('a', a.port), upMember('b', b.port)])
  // Round-robin over two members alternates: a, b, a, b.
  const toA1 = await pair(t, proxy.port, a, signal)
  const toB1 = await pair(t, proxy.port, b, signal)
  const toA2 = await pair(t, proxy.port, a, signal)
  const toB2 = await pair(t, proxy.port, b, signal)

  t.equal(proxy.dataPlane.closeConnectionsTo('a'), 2, 'two relays closed')
  for (const p of [toA1, toA2]) {
    await untilPeerCloses(p.client, signal)
    await untilPeerCloses(p.upstream, signal)
  }
  t.pass('both legs of a’s relays closed')
  t.ok(
    await flows(toB1.client, toB1.upstream, 64 * 1024, signal),
    'b relay 1 still flows',
  )
  t.ok(
    await flows(toB2.upstream, toB2.client, 64 * 1024, signal),
    'b relay 2 still flows',
  )
  await proxy.waitForClosed(2, signal)
  t.equal(proxy.dataPlane.localLoad('a'), 0, 'a has no load')
  t.equal(proxy.dataPlane.localLoad('b'), 2, 'b keeps its two')
  t.equal(proxy.statsOf('a').active, 0, 'a has no active relay')
  t.equal(
    proxy.dataPlane.closeConnectionsTo('nobody'),
    0,
    'unknown member: nothing closed',
  )
})

void t.test(
  'setPicker routes new connections only; open relays keep flowing',
  async t => {
    const signal = AbortSignal.timeout(5_000)
    const a = await startTcpMember(t, manual)
    const b = await startTcpMember(t, manual)
    const proxy = await startProxy(t, [upMember('a', a.port)])
    const old = await pair(t, proxy.port, a, signal)

    proxy.route([upMember('b', b.port)])
    const fresh = await pair(t, proxy.port, b, signal)
    t.equal(a.accepted, 1, 'a got no new connection')
    t.equal(b.accepted, 1, 'the new connection went to b')
    t.ok(await flows(old.client, old.upstream, MiB, signal), 'old relay to a: client → a')
    t.ok(await flows(old.upstream, old.client, MiB, signal), 'old relay to a: a → client')
    t.ok(await flows(fresh.client, fresh.upstream, 1024, signal), 'new relay to b flows')
    t.equal(proxy.dataPlane.localLoad('a'), 1, 'old relay still counted on a')
  },
)

void t.test('close stops accepting and lets an open relay finish', async t => {
  const signal = AbortSignal.timeout(5_000)
  const member = await startTcpMember(t, manual)
  const proxy = await startProxy(t, [upMember('a', member.port)])
  const open = await pair(t, proxy.port, member, signal)

  const closing = proxy.dataPlane.close(3_000)
  const refused = connect({ host: '127.0.0.1', port: proxy.port })
  const args: unknown[] = await once(refused, 'error', { signal })
  t.match(args[0], { code: 'ECONNREFUSED' }, 'a new connection is refused')

  // The open relay still carries bytes both ways, then finishes with its half-closes.
  const upload = receiveHashed(open.upstream, signal)
  const payload = randomBytes(MiB)
  open.client.end(payload)
  t.equal((await upload).sha256, sha256Of(payload), 'upload after close() intact')
  const download = readToEnd(open.client, signal)
  open.upstream.end('bye')
  t.equal((await download).toString(), 'bye', 'download after close() intact')

  const started = monotonicClock.now()
  t.strictSame(await within(closing, 'close() did not resolve', signal), { forced: 0 })
  t.ok(monotonicClock.now() - started < 1_000, 'resolved when the relay finished')
  t.equal(proxy.statsOf('a').outcomes.ok, 1, 'the relay counted ok')
})

void t.test(
  'close destroys a relay still open at the deadline and counts it',
  async t => {
    const signal = AbortSignal.timeout(5_000)
    const member = await startTcpMember(t, manual)
    const proxy = await startProxy(t, [upMember('a', member.port)])
    const stuck = await pair(t, proxy.port, member, signal)
    const finished = await pair(t, proxy.port, member, signal)
    const finishing = readToEnd(finished.client, signal)
    finished.upstream.end('done')
    finished.client.end()
    t.equal((await finishing).toString(), 'done', 'one relay finished before close')

    const deadlineMs = 200
    const started = monotonicClock.now()
    const result = await within(proxy.dataPlane.close(deadlineMs), 'close() hung', signal)
    const elapsed = monotonicClock.now() - started
    t.strictSame(result, { forced: 1 }, 'the stuck relay is counted as forced')
    t.ok(
      elapsed >= deadlineMs - 20,
      `waited for the deadline (${Math.round(elapsed)} ms)`,
    )
    t.ok(elapsed < deadlineMs + 1_000, 'and not much longer')
    await untilPeerCloses(stuck.client, signal)
    await untilPeerCloses(stuck.upstream, signal)
    t.pass('both legs of the stuck relay closed')
    await proxy.waitForIdle(signal)
    t.equal(proxy.dataPlane.activeConnections, 0, 'no relay left')
    t.equal(proxy.dataPlane.localLoad('a'), 0, 'no load left')
  },
)

void t.test('stats count bytes per direction, for open and closed relays', async t => {
  const signal = AbortSignal.timeout(5_000)
  const member = await startTcpMember(t, manual)
  const proxy = await startProxy(t, [upMember('a', member.port)])
  const up = 300_000
  const down = 123_457

  const first = await pair(t, proxy.port, member, signal)
  t.ok(await flows(first.client, first.upstream, up, signal), 'upload arrived')
  t.ok(await flows(first.upstream, first.client, down, signal), 'download arrived')
  const open = proxy.statsOf('a')
  t.equal(open.bytesToMember, up, 'open relay: bytes to member')
  t.equal(open.bytesToClient, down, 'open relay: bytes to client')
  t.equal(open.active, 1, 'one active')
  t.equal(open.outcomes.ok, 1, 'ok counted at connect')
  t.equal(proxy.dataPlane.localLoad('a'), 1, 'localLoad 1')
  t.equal(proxy.dataPlane.activeConnections, 1, 'one open relay')

  const second = await pair(t, proxy.port, member, signal)
  t.equal(proxy.dataPlane.localLoad('a'), 2, 'localLoad 2')
  t.equal(proxy.statsOf('a').active, 2, 'two active')

  // Finish both; bytes already counted while open must not be counted again.
  const firstEnded = readToEnd(first.client, signal)
  first.client.end()
  first.upstream.end()
  await firstEnded
  const secondEnded = readToEnd(second.client, signal)
  second.client.end('xy')
  second.upstream.end('z')
  t.equal((await secondEnded).toString(), 'z', 'second relay download')
  await proxy.waitForIdle(signal)

  const done = proxy.statsOf('a')
  t.equal(done.bytesToMember, up + 2, 'bytes to member after close, not double counted')
  t.equal(done.bytesToClient, down + 1, 'bytes to client after close, not double counted')
  t.equal(done.active, 0, 'active back to 0')
  t.equal(done.outcomes.ok, 2, 'two ok connections')
  t.equal(proxy.dataPlane.localLoad('a'), 0, 'localLoad back to 0')
  t.equal(proxy.dataPlane.activeConnections, 0, 'no open relay')
  const unrouted = proxy.statsOf('')
  t.equal(unrouted.bytesToMember + unrouted.bytesToClient, 0, 'no bytes without a member')
})
