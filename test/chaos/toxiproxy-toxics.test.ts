// Data-path semantics of every toxic in the stand-in, checked against the figures measured
// on the real Toxiproxy 2.12.0 (shared/toxiproxy-api/behaviour.md). Bounds are generous:
// the machine is shared, so only lower bounds are tight.
import { EventEmitter, once } from 'node:events'
import { connect, createServer, type Socket } from 'node:net'
import t, { type Test } from 'tap'
import {
  startToxiproxyStandIn,
  type ToxiproxyStandIn,
} from '../../chaos/toxiproxy/server.js'

/** What a client saw on one connection. */
class Observed extends EventEmitter {
  readonly chunks: { atMs: number; bytes: number }[] = []
  received = Buffer.alloc(0)
  finAtMs: number | undefined
  errorCode: string | undefined
  errorAtMs: number | undefined
  readonly openedAtMs = performance.now()
  constructor(readonly socket: Socket) {
    super()
    socket.on('data', (d: Buffer) => {
      this.chunks.push({ atMs: performance.now(), bytes: d.length })
      this.received = Buffer.concat([this.received, d])
      this.emit('change')
    })
    socket.on('end', () => {
      this.finAtMs = performance.now()
      this.emit('change')
    })
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.errorCode = err.code
      this.errorAtMs = performance.now()
      this.emit('change')
    })
  }
  /** Resolves once `ok()` holds; rejects after timeoutMs. */
  async until(ok: () => boolean, timeoutMs = 5_000): Promise<void> {
    const signal = AbortSignal.timeout(timeoutMs)
    while (!ok()) await once(this, 'change', { signal })
  }
}

async function open(port: number): Promise<Observed> {
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true })
  const seen = new Observed(socket)
  await once(socket, 'connect', { signal: AbortSignal.timeout(5_000) })
  return seen
}

/** Writes `payload` and resolves with the time until `bytes` bytes came back. */
async function rtt(
  seen: Observed,
  payload = 'x',
  bytes = payload.length,
): Promise<number> {
  const before = seen.received.length
  const start = performance.now()
  seen.socket.write(payload)
  await seen.until(() => seen.received.length >= before + bytes)
  return performance.now() - start
}

/** Upstreams: echo, and one that ends its side when it reads "bye". */
async function startUpstream(t: Test): Promise<{ echo: number; closer: number }> {
  const listen = async (handler: (s: Socket) => void): Promise<number> => {
    const server = createServer({ allowHalfOpen: true }, s => {
      s.on('error', () => undefined)
      handler(s)
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    t.teardown(() => {
      server.close()
    })
    const a = server.address()
    return a !== null && typeof a === 'object' ? a.port : 0
  }
  const echo = await listen(s => s.pipe(s))
  const closer = await listen(s => {
    s.on('data', (d: Buffer) => {
      if (d.toString().includes('bye')) s.end()
    })
    s.on('end', () => s.end())
  })
  return { echo, closer }
}

async function api(
  standIn: ToxiproxyStandIn,
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  const res = await fetch(standIn.url + path, {
    method,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    signal: AbortSignal.timeout(5_000),
  })
  const text = await res.text()
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`)
  return text === '' ? undefined : JSON.parse(text)
}

let counter = 0
/** Creates a proxy to `upstreamPort` and returns its port. */
async function proxyTo(
  standIn: ToxiproxyStandIn,
  upstreamPort: number,
): Promise<{ name: string; port: number }> {
  const name = `p${++counter}`
  const created = await api(standIn, 'POST', '/proxies', {
    name,
    listen: '127.0.0.1:0',
    upstream: `127.0.0.1:${upstreamPort}`,
  })
  const listen =
    typeof created === 'object' && created !== null && 'listen' in created
      ? String(created.listen)
      : ''
  return { name, port: Number(listen.split(':')[1]) }
}

const toxic = (
  standIn: ToxiproxyStandIn,
  proxy: string,
  body: Record<string, unknown>,
): Promise<unknown> => api(standIn, 'POST', `/proxies/${proxy}/toxics`, body)

void t.test('toxics on the data path', async t => {
  const standIn = await startToxiproxyStandIn()
  t.teardown(() => standIn.close())
  const up = await startUpstream(t)

  void t.test('no toxic: an echo round trip is fast', async t => {
    const p = await proxyTo(standIn, up.echo)
    const c = await open(p.port)
    t.teardown(() => c.socket.destroy())
    await rtt(c) // the first round trip on a connection pays for warm-up
    const ms = await rtt(c)
    t.ok(ms < 100, `${ms.toFixed(1)} ms`)
  })

  void t.test(
    'latency: 300 ms downstream, both ways add up, updates apply live, removal too',
    async t => {
      const p = await proxyTo(standIn, up.echo)
      const c = await open(p.port)
      t.teardown(() => c.socket.destroy())
      await toxic(standIn, p.name, {
        name: 'down',
        type: 'latency',
        attributes: { latency: 300 },
      })
      const one = await rtt(c)
      t.ok(one >= 295 && one < 800, `300 ms downstream: ${one.toFixed(1)} ms`)
      await toxic(standIn, p.name, {
        name: 'up',
        type: 'latency',
        stream: 'upstream',
        attributes: { latency: 300 },
      })
      const two = await rtt(c)
      t.ok(two >= 595 && two < 1_200, `300 up + 300 down: ${two.toFixed(1)} ms`)
      await api(standIn, 'POST', `/proxies/${p.name}/toxics/down`, {
        attributes: { latency: 150 },
      })
      await api(standIn, 'DELETE', `/proxies/${p.name}/toxics/up`)
      const three = await rtt(c)
      t.ok(
        three >= 145 && three < 500,
        `updated to 150 ms on the open connection: ${three.toFixed(1)} ms`,
      )
      await api(standIn, 'DELETE', `/proxies/${p.name}/toxics/down`)
      t.ok((await rtt(c)) < 140, 'removed: back to no delay on the same connection')
    },
  )

  void t.test('latency with jitter spreads over latency ± jitter', async t => {
    const p = await proxyTo(standIn, up.echo)
    await toxic(standIn, p.name, {
      type: 'latency',
      attributes: { latency: 200, jitter: 100 },
    })
    const c = await open(p.port)
    t.teardown(() => c.socket.destroy())
    const samples: number[] = []
    for (let i = 0; i < 10; i++) samples.push(await rtt(c))
    t.ok(Math.min(...samples) >= 95, `min ${Math.min(...samples).toFixed(1)} ms`)
    t.ok(Math.max(...samples) < 500, `max ${Math.max(...samples).toFixed(1)} ms`)
    t.ok(
      Math.max(...samples) - Math.min(...samples) > 20,
      'samples are spread, not constant',
    )
  })

  void t.test(
    'toxicity: 0 has no effect; 0.5 is decided once per connection',
    async t => {
      const p = await proxyTo(standIn, up.echo)
      await toxic(standIn, p.name, {
        type: 'latency',
        toxicity: 0,
        attributes: { latency: 300 },
      })
      const c = await open(p.port)
      t.teardown(() => c.socket.destroy())
      t.ok((await rtt(c)) < 250, 'toxicity 0: no delay')
      await api(standIn, 'POST', `/proxies/${p.name}/toxics/latency_downstream`, {
        toxicity: 0.5,
        attributes: { latency: 300 },
      })
      // Runs until both kinds were seen (at least 8, at most 40 connections): all-alike
      // by chance is 2 × 0.5^40 at the cap.
      let slowed = 0
      let tried = 0
      for (let i = 0; i < 40 && (i < 8 || slowed === 0 || slowed === i); i++) {
        tried++
        const conn = await open(p.port)
        const r = [await rtt(conn), await rtt(conn)]
        conn.socket.destroy()
        const slow = r.map(x => x >= 295)
        t.equal(
          slow[0],
          slow[1],
          `connection ${i}: both round trips alike (${r.map(x => x.toFixed(0)).join(', ')} ms)`,
        )
        if (slow[0] === true) slowed++
      }
      t.ok(
        slowed > 0 && slowed < tried,
        `some but not all connections slowed (${slowed}/${tried})`,
      )
    },
  )

  void t.test(
    'enabled:false closes connections with FIN and refuses new ones; true reopens the port',
    async t => {
      const p = await proxyTo(standIn, up.echo)
      const c = await open(p.port)
      await api(standIn, 'POST', `/proxies/${p.name}`, { enabled: false })
      await c.until(() => c.finAtMs !== undefined || c.errorCode !== undefined)
      t.equal(c.errorCode, undefined, 'FIN, not RST')
      c.socket.destroy()
      const refused = connect(p.port, '127.0.0.1')
      const [err] = (await once(refused, 'error', {
        signal: AbortSignal.timeout(5_000),
      })) as [NodeJS.ErrnoException]
      t.equal(err.code, 'ECONNREFUSED')
      await api(standIn, 'POST', `/proxies/${p.name}`, { enabled: true })
      const again = await open(p.port)
      t.teardown(() => again.socket.destroy())
      t.ok((await rtt(again)) < 1_000, 'same port works again')
    },
  )

  void t.test(
    'an unreachable upstream: the connect succeeds, then FIN with no data',
    async t => {
      const p = await proxyTo(standIn, 1)
      const c = await open(p.port)
      await c.until(() => c.finAtMs !== undefined || c.errorCode !== undefined)
      t.equal(c.errorCode, undefined)
      t.equal(c.received.length, 0)
      c.socket.destroy()
    },
  )

  void t.test(
    'reset_peer: idle stays open; a write gets RST and no data; after timeout ms',
    async t => {
      const p = await proxyTo(standIn, up.echo)
      await toxic(standIn, p.name, { type: 'reset_peer', attributes: { timeout: 0 } })
      const idle = await open(p.port)
      await t.rejects(
        idle.until(() => idle.finAtMs !== undefined || idle.errorCode !== undefined, 300),
        'an idle connection is still open after 300 ms',
      )
      const start = performance.now()
      idle.socket.write('x')
      await idle.until(() => idle.errorCode !== undefined || idle.finAtMs !== undefined)
      t.equal(idle.errorCode, 'ECONNRESET', 'RST')
      t.equal(idle.received.length, 0, 'no bytes')
      t.ok(performance.now() - start < 200)

      await api(standIn, 'POST', `/proxies/${p.name}/toxics/reset_peer_downstream`, {
        attributes: { timeout: 400 },
      })
      const late = await open(p.port)
      const t0 = performance.now()
      late.socket.write('x')
      await late.until(() => late.errorCode !== undefined || late.finAtMs !== undefined)
      const after = (late.errorAtMs ?? late.finAtMs ?? 0) - t0
      t.equal(late.errorCode, 'ECONNRESET')
      t.ok(after >= 395 && after < 1_500, `RST ${after.toFixed(1)} ms after the write`)
    },
  )

  void t.test(
    'reset_peer added to an open connection closes it with FIN, not RST',
    async t => {
      const p = await proxyTo(standIn, up.echo)
      const c = await open(p.port)
      await rtt(c)
      await toxic(standIn, p.name, {
        type: 'reset_peer',
        stream: 'upstream',
        attributes: { timeout: 0 },
      })
      c.socket.write('x')
      await c.until(() => c.errorCode !== undefined || c.finAtMs !== undefined)
      t.equal(c.errorCode, undefined, 'FIN')
      c.socket.destroy()
    },
  )

  void t.test(
    'timeout 0: data is swallowed and the connection held; removing it closes (FIN)',
    async t => {
      const p = await proxyTo(standIn, up.echo)
      await toxic(standIn, p.name, { type: 'timeout', attributes: { timeout: 0 } })
      const c = await open(p.port)
      c.socket.write('hello')
      await t.rejects(
        c.until(() => c.received.length > 0 || c.finAtMs !== undefined, 500),
        'nothing arrives and the connection stays open for 500 ms',
      )
      await api(standIn, 'DELETE', `/proxies/${p.name}/toxics/timeout_downstream`)
      await c.until(() => c.finAtMs !== undefined || c.errorCode !== undefined)
      t.equal(c.errorCode, undefined, 'FIN')
      t.equal(c.received.length, 0, 'the held data is not delivered')
      c.socket.destroy()
    },
  )

  void t.test(
    'timeout 300: an inactivity timer from connection setup, restarted by each chunk',
    async t => {
      const p = await proxyTo(standIn, up.echo)
      await toxic(standIn, p.name, {
        type: 'timeout',
        stream: 'upstream',
        attributes: { timeout: 300 },
      })
      const idle = await open(p.port)
      await idle.until(() => idle.finAtMs !== undefined)
      const idleMs = (idle.finAtMs ?? 0) - idle.openedAtMs
      t.ok(
        idleMs >= 295 && idleMs < 1_000,
        `idle: FIN ${idleMs.toFixed(1)} ms after connect`,
      )
      idle.socket.destroy()
      const busy = await open(p.port)
      await t.rejects(busy.until(() => busy.finAtMs !== undefined, 200))
      busy.socket.write('x')
      await busy.until(() => busy.finAtMs !== undefined)
      const busyMs = (busy.finAtMs ?? 0) - busy.openedAtMs
      t.ok(
        busyMs >= 490 && busyMs < 1_500,
        `write at 200 ms: FIN ${busyMs.toFixed(1)} ms after connect`,
      )
      t.equal(busy.received.length, 0)
      busy.socket.destroy()
    },
  )

  void t.test(
    'limit_data: exactly N bytes then FIN; upstream limit closes the whole connection',
    async t => {
      const p = await proxyTo(standIn, up.echo)
      await toxic(standIn, p.name, { type: 'limit_data', attributes: { bytes: 10 } })
      const c = await open(p.port)
      c.socket.write('a'.repeat(4))
      await c.until(() => c.received.length === 4)
      t.equal(c.finAtMs, undefined, 'open after 4 of 10 bytes')
      c.socket.write('b'.repeat(100))
      await c.until(() => c.finAtMs !== undefined)
      t.equal(c.received.length, 10, 'exactly 10 bytes, then FIN')
      c.socket.destroy()

      const q = await proxyTo(standIn, up.echo)
      await toxic(standIn, q.name, {
        type: 'limit_data',
        stream: 'upstream',
        attributes: { bytes: 10 },
      })
      const d = await open(q.port)
      d.socket.write('c'.repeat(100))
      await d.until(() => d.finAtMs !== undefined || d.errorCode !== undefined)
      t.equal(d.errorCode, undefined, 'FIN')
      t.equal(
        d.received.length,
        0,
        'no echo: the connection closed when the limit was hit',
      )
      d.socket.destroy()
    },
  )

  void t.test('slow_close: the close is delayed, the data is not', async t => {
    const p = await proxyTo(standIn, up.closer)
    await toxic(standIn, p.name, { type: 'slow_close', attributes: { delay: 400 } })
    const c = await open(p.port)
    const start = performance.now()
    c.socket.write('bye')
    await c.until(() => c.finAtMs !== undefined)
    const ms = (c.finAtMs ?? 0) - start
    t.ok(ms >= 395 && ms < 1_500, `FIN ${ms.toFixed(1)} ms after the upstream closed`)
    c.socket.destroy()

    const q = await proxyTo(standIn, up.closer)
    await toxic(standIn, q.name, {
      type: 'slow_close',
      stream: 'upstream',
      attributes: { delay: 400 },
    })
    const d = await open(q.port)
    const t0 = performance.now()
    d.socket.end()
    await d.until(() => d.finAtMs !== undefined)
    const upMs = (d.finAtMs ?? 0) - t0
    t.ok(
      upMs >= 395 && upMs < 1_500,
      `client half-close reached the upstream ${upMs.toFixed(1)} ms later`,
    )
    d.socket.destroy()
  })

  void t.test(
    'bandwidth: rate is KB/s with 1 KB = 1000 bytes, in ≤ rate×100-byte pieces',
    async t => {
      const p = await proxyTo(standIn, up.echo)
      await toxic(standIn, p.name, { type: 'bandwidth', attributes: { rate: 100 } })
      const c = await open(p.port)
      t.teardown(() => c.socket.destroy())
      const ms = await rtt(c, 'z'.repeat(60_000))
      t.ok(
        ms >= 560 && ms < 2_000,
        `60,000 bytes at 100 KB/s: ${ms.toFixed(0)} ms (600 expected)`,
      )
      t.ok(
        Math.max(...c.chunks.map(x => x.bytes)) <= 10_000,
        'no piece above 10,000 bytes',
      )
    },
  )

  void t.test('slicer: pieces from halving, delay in microseconds', async t => {
    const p = await proxyTo(standIn, up.echo)
    await toxic(standIn, p.name, {
      type: 'slicer',
      attributes: { average_size: 10, size_variation: 0, delay: 20_000 },
    })
    const c = await open(p.port)
    t.teardown(() => c.socket.destroy())
    const ms = await rtt(c, 'q'.repeat(100))
    t.equal(c.chunks.length, 16, '16 pieces')
    t.ok(
      c.chunks.every(x => x.bytes >= 6 && x.bytes <= 7),
      'of 6-7 bytes',
    )
    t.ok(ms >= 280 && ms < 1_500, `${ms.toFixed(0)} ms in all (≈300)`)
  })
})
