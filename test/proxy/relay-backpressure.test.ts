// Back-pressure: a peer that stops reading stalls the other side instead of growing the
// proxy's buffers, and every byte still arrives once it reads again.
import { setTimeout as delay } from 'node:timers/promises'
import t from 'tap'
import { monotonicClock } from '../../src/clock.js'
import { receiveHashed, sendRandom } from '../helpers/byte-stream.js'
import { startProxy } from '../helpers/proxy-harness.js'
import { openClient, readToEnd } from '../helpers/tcp-client.js'
import { manual, stalled, startTcpMember } from '../helpers/tcp-member.js'
import { upMember } from '../helpers/views.js'

const MiB = 1024 * 1024
/** What the writer tries to push: four times the bound below. */
const TOTAL_BYTES = 64 * MiB
/**
 * Most bytes the proxy may take in while the far side reads nothing. Its own buffers are
 * about two highWaterMarks (≤ 128 KiB); the rest is kernel socket buffers on the way
 * (tcp_wmem max is 4 MiB here; the stalled reader's receive window is not autotuned
 * because it never reads). Without back-pressure it would take all 64 MiB within ms.
 */
const BOUND_BYTES = 16 * MiB
/** How long a counter must stand still to count as stalled. */
const QUIET_MS = 300

/**
 * Resolves with `read()` once it is non-zero and has not changed for QUIET_MS. Showing
 * that something stops growing needs an observation window: this samples, it does not
 * synchronise.
 */
async function stalledAt(read: () => number, signal: AbortSignal): Promise<number> {
  let last = read()
  let since = monotonicClock.now()
  for (;;) {
    await delay(25, undefined, { signal })
    const now = monotonicClock.now()
    const value = read()
    if (value !== last) {
      last = value
      since = now
    } else if (value > 0 && now - since >= QUIET_MS) {
      return value
    }
  }
}

void t.test(
  'a member that does not read stalls the client, then gets every byte',
  async t => {
    const signal = AbortSignal.timeout(20_000)
    const member = await startTcpMember(t, stalled)
    const proxy = await startProxy(t, [upMember('a', member.port)], {
      idleTimeoutMs: 30_000,
    })
    const client = await openClient(t, proxy.port, signal)
    const upstream = await member.takeSocket(signal)

    const sending = sendRandom(client, TOTAL_BYTES, signal)
    const accepted = await stalledAt(() => proxy.statsOf('a').bytesToMember, signal)
    t.ok(accepted < BOUND_BYTES, `proxy took ${accepted} bytes (< ${BOUND_BYTES})`)
    t.ok(client.writableNeedDrain, 'client write() returned false and waits for drain')
    t.ok(sending.written < TOTAL_BYTES, `client held back at ${sending.written} bytes`)
    t.equal(proxy.dataPlane.activeConnections, 1, 'relay still open while stalled')

    const received = receiveHashed(upstream, signal)
    upstream.resume()
    const got = await received
    t.equal(got.bytes, TOTAL_BYTES, 'every byte arrived after the member read again')
    t.equal(got.sha256, await sending.sha256, 'bytes intact')
  },
)

void t.test(
  'a client that does not read stalls the member, then gets every byte',
  async t => {
    const signal = AbortSignal.timeout(20_000)
    const member = await startTcpMember(t, stalled)
    const proxy = await startProxy(t, [upMember('a', member.port)], {
      idleTimeoutMs: 30_000,
    })
    const client = await openClient(t, proxy.port, signal)
    client.pause()
    const upstream = await member.takeSocket(signal)

    const sending = sendRandom(upstream, TOTAL_BYTES, signal)
    const accepted = await stalledAt(() => proxy.statsOf('a').bytesToClient, signal)
    t.ok(accepted < BOUND_BYTES, `proxy took ${accepted} bytes (< ${BOUND_BYTES})`)
    t.ok(upstream.writableNeedDrain, 'member write() returned false and waits for drain')
    t.ok(sending.written < TOTAL_BYTES, `member held back at ${sending.written} bytes`)
    t.equal(proxy.dataPlane.activeConnections, 1, 'relay still open while stalled')

    const received = receiveHashed(client, signal)
    client.resume()
    const got = await received
    t.equal(got.bytes, TOTAL_BYTES, 'every byte arrived after the client read again')
    t.equal(got.sha256, await sending.sha256, 'bytes intact')
  },
)

// The member leg reads into one reused buffer (issue #13): a client write the kernel does
// not take at once must stop reading until it completes, or the next read overwrites
// bytes still queued. Stop-and-go reading makes many writes queue and complete.
void t.test(
  'a client that reads in stops and starts gets every member byte, then the FIN',
  async t => {
    const signal = AbortSignal.timeout(30_000)
    const member = await startTcpMember(t, manual)
    const proxy = await startProxy(t, [upMember('a', member.port)], {
      idleTimeoutMs: 30_000,
    })
    const client = await openClient(t, proxy.port, signal)
    const upstream = await member.takeSocket(signal)
    const received = receiveHashed(client, signal)
    // Half-close: the member ends its side after the bytes (sendRandom ends it).
    const sending = sendRandom(upstream, TOTAL_BYTES, signal)
    const stops = 3
    for (let i = 0; i < stops; i++) {
      client.pause()
      const held = await stalledAt(() => proxy.statsOf('a').bytesToClient, signal)
      t.ok(held < TOTAL_BYTES, `stop ${i + 1}: proxy held at ${held} bytes to the client`)
      client.resume()
    }
    const got = await received
    t.equal(got.bytes, TOTAL_BYTES, 'every byte arrived, then end')
    t.equal(got.sha256, await sending.sha256, 'bytes intact and in order')
    t.equal(proxy.statsOf('a').bytesToClient, TOTAL_BYTES, 'counted once each')

    // The client can still send after the member's FIN.
    const upload = readToEnd(upstream, signal)
    client.end('after the FIN')
    t.equal((await upload).toString(), 'after the FIN', 'member got the late upload')
  },
)
