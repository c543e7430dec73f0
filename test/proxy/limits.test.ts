// Limits on the data path: the idle timeout, the global and per-member connection caps,
// and having no member at all. Rejections close the client at once, never hang it.
import type { Socket } from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'
import t from 'tap'
import { monotonicClock } from '../../src/clock.js'
import { startProxy } from '../helpers/proxy-harness.js'
import { openClient, untilPeerCloses } from '../helpers/tcp-client.js'
import type { Teardown } from '../helpers/tcp-member.js'
import { startTcpMember } from '../helpers/tcp-member.js'
import { upMember } from '../helpers/views.js'

/** Writes `text` and waits for the echo: proves the relay is established end to end. */
async function ping(socket: Socket, text: string, signal: AbortSignal): Promise<void> {
  let got = ''
  const arrived = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      got += chunk.toString()
      if (got.length < text.length) return
      cleanup()
      resolve()
    }
    const onAbort = (): void => {
      cleanup()
      reject(new Error(`no echo of ${text}, got ${got}`))
    }
    const cleanup = (): void => {
      socket.removeListener('data', onData)
      signal.removeEventListener('abort', onAbort)
    }
    socket.on('data', onData)
    signal.addEventListener('abort', onAbort)
  })
  socket.write(text)
  await arrived
  if (got !== text) throw new Error(`echo mismatch: sent ${text}, got ${got}`)
}

/** An established relay to an echo member. */
async function relayed(t: Teardown, port: number, signal: AbortSignal): Promise<Socket> {
  const client = await openClient(t, port, signal)
  await ping(client, 'hello', signal)
  return client
}

/** Opens a connection and resolves with how long the proxy took to close it (ms). */
async function rejectedWithinMs(
  t: Teardown,
  port: number,
  signal: AbortSignal,
): Promise<number> {
  const started = monotonicClock.now()
  const client = await openClient(t, port, signal)
  client.write('let me in')
  const received = await untilPeerCloses(client, signal)
  if (received !== 0) throw new Error(`rejected client got ${received} bytes`)
  return monotonicClock.now() - started
}

void t.test('the idle timeout closes a silent relay, not a busy one', async t => {
  const signal = AbortSignal.timeout(5_000)
  const idleTimeoutMs = 250
  const member = await startTcpMember(t)
  const proxy = await startProxy(t, [upMember('a', member.port)], { idleTimeoutMs })

  const silent = await openClient(t, proxy.port, signal)
  const silentStarted = monotonicClock.now()
  const silentClosed = untilPeerCloses(silent, signal).then(() => monotonicClock.now())

  // Three idle timeouts long, with traffic every fifth of one: an absolute deadline or a
  // timer that traffic does not re-arm would close it.
  const busy = await relayed(t, proxy.port, signal)
  const busyEchoed = untilPeerCloses(busy, signal)
  const busyStarted = monotonicClock.now()
  let sent = 0
  while (monotonicClock.now() - busyStarted < 3 * idleTimeoutMs) {
    busy.write('.')
    sent++
    await delay(idleTimeoutMs / 5, undefined, { signal })
  }
  t.notOk(
    busy.readableEnded || busy.closed,
    'busy relay still open after 3 idle timeouts',
  )

  const silentElapsed = (await silentClosed) - silentStarted
  // libuv arms timers from its cached loop time, so allow a few ms early.
  t.ok(
    silentElapsed >= idleTimeoutMs - 20,
    `silent relay closed after ${Math.round(silentElapsed)} ms`,
  )
  t.ok(silentElapsed < 3 * idleTimeoutMs, 'closed by the idle timeout')

  busy.end()
  t.equal(await busyEchoed, sent, 'busy relay echoed every byte, then ended cleanly')
  await proxy.waitForIdle(signal)
})

void t.test('a reloaded idle timeout applies to new relays only', async t => {
  const signal = AbortSignal.timeout(5_000)
  const member = await startTcpMember(t)
  const proxy = await startProxy(t, [upMember('a', member.port)], { idleTimeoutMs: 300 })
  const before = await relayed(t, proxy.port, signal)
  const beforeClosed = untilPeerCloses(before, signal).then(() => monotonicClock.now())
  const started = monotonicClock.now()
  proxy.dataPlane.setOptions({
    connectTimeoutMs: 2_000,
    idleTimeoutMs: 60_000,
    connectAttempts: 3,
    maxConnections: 1_000,
  })
  const after = await relayed(t, proxy.port, signal)
  const elapsed = (await beforeClosed) - started
  t.ok(
    elapsed < 900,
    `the older relay kept its 300 ms timeout (${Math.round(elapsed)} ms)`,
  )
  await delay(600, undefined, { signal })
  t.notOk(after.readableEnded || after.closed, 'the newer relay has the 60 s timeout')
  after.end()
  await proxy.waitForIdle(signal)
})

void t.test('over maxConnections a client is closed at once and counted', async t => {
  const signal = AbortSignal.timeout(5_000)
  const member = await startTcpMember(t)
  const proxy = await startProxy(t, [upMember('a', member.port)], { maxConnections: 2 })
  const first = await relayed(t, proxy.port, signal)
  const second = await relayed(t, proxy.port, signal)

  const ms = await rejectedWithinMs(t, proxy.port, signal)
  t.ok(ms < 1_000, `third client closed in ${Math.round(ms)} ms`)
  t.equal(proxy.statsOf('').outcomes.rejected_limit, 1, 'counted as rejected_limit')
  t.equal(member.accepted, 2, 'the member never saw it')
  await ping(first, 'still', signal)
  await ping(second, 'here', signal)

  first.end()
  await proxy.waitForClosed(proxy.closedRelays + 1, signal)
  const third = await relayed(t, proxy.port, signal)
  t.pass('a slot freed by a closed relay is taken again')
  third.destroy()
})

void t.test(
  'maxConnectionsPerMember: a full member is skipped, all full is rejected',
  async t => {
    const signal = AbortSignal.timeout(5_000)
    const a = await startTcpMember(t)
    const b = await startTcpMember(t)
    // Consistent hashing sends every 127.0.0.1 client to the same member: only the limit
    // can move the second connection to the other one.
    const proxy = await startProxy(t, [upMember('a', a.port), upMember('b', b.port)], {
      balance: 'consistent-hash',
      maxConnectionsPerMember: 1,
    })
    await relayed(t, proxy.port, signal)
    await relayed(t, proxy.port, signal)
    t.equal(a.accepted, 1, 'member a took one')
    t.equal(b.accepted, 1, 'member b took one')
    t.equal(proxy.dataPlane.localLoad('a'), 1, 'localLoad a')
    t.equal(proxy.dataPlane.localLoad('b'), 1, 'localLoad b')

    const ms = await rejectedWithinMs(t, proxy.port, signal)
    t.ok(ms < 1_000, `client closed in ${Math.round(ms)} ms when every member is full`)
    t.equal(proxy.statsOf('').outcomes.rejected_limit, 1, 'counted as rejected_limit')
    t.equal(a.accepted + b.accepted, 2, 'no member saw it')
    t.equal(proxy.failures.length, 0, 'a full member is not a failing one')
  },
)

void t.test('no member: the client is closed at once, rejected_no_member', async t => {
  const signal = AbortSignal.timeout(5_000)
  const member = await startTcpMember(t)
  const proxy = await startProxy(t, [])

  const ms = await rejectedWithinMs(t, proxy.port, signal)
  t.ok(ms < 1_000, `closed in ${Math.round(ms)} ms with an empty picker`)
  t.equal(proxy.statsOf('').outcomes.rejected_no_member, 1, 'counted')

  proxy.route([upMember('a', member.port, { state: 'down', health: 'down' })])
  await rejectedWithinMs(t, proxy.port, signal)
  t.equal(proxy.statsOf('').outcomes.rejected_no_member, 2, 'every member down: same')
  t.equal(member.accepted, 0, 'the down member never saw a connection')
  t.equal(proxy.dataPlane.activeConnections, 0, 'no relay kept')

  // A client that sends nothing is closed just the same: no idle timeout involved.
  const started = monotonicClock.now()
  const silent = await openClient(t, proxy.port, signal)
  t.equal(await untilPeerCloses(silent, signal), 0, 'silent client closed, got nothing')
  t.ok(monotonicClock.now() - started < 1_000, 'at once')
  t.equal(proxy.statsOf('').outcomes.rejected_no_member, 3, 'counted')
})
