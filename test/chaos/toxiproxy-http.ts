// Test helpers for exchange tests against the Toxiproxy stand-in: raw HTTP requests whose
// path is sent byte for byte (fetch would normalise "//" and "..", and follow redirects),
// an echo upstream, a busy port and a one-line TCP round trip.
import { once } from 'node:events'
import { request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http'
import { connect, createServer } from 'node:net'
import type { Test } from 'tap'
import { startToxiproxyStandIn } from '../../chaos/toxiproxy/server.js'

/** One response: status, headers and the body as text. */
export interface Reply {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly text: string
}

/** Sends one request with `path` exactly as given; a body gets content-type JSON. */
export async function exchange(
  port: number,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const req = request({
    host: '127.0.0.1',
    port,
    method,
    path,
    headers:
      body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    signal: AbortSignal.timeout(10_000),
  })
  req.end(body)
  const [res] = (await once(req, 'response')) as [IncomingMessage]
  const chunks: Buffer[] = []
  for await (const chunk of res) chunks.push(chunk as Buffer)
  return {
    status: res.statusCode ?? 0,
    headers: res.headers,
    text: Buffer.concat(chunks).toString('utf8'),
  }
}

/** A fresh stand-in plus an echo upstream and a port kept busy, all closed in teardown. */
export interface Fixture {
  readonly port: number
  readonly upstream: string
  readonly busyPort: number
  /** Sends a request to the stand-in (see exchange). */
  send(
    method: string,
    path: string,
    body?: string,
    headers?: Record<string, string>,
  ): Promise<Reply>
}

async function listen(t: Test, echo: boolean): Promise<number> {
  const server = createServer(socket => {
    socket.on('error', () => undefined)
    if (echo) socket.pipe(socket)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => {
    server.close()
  })
  const a = server.address()
  return a !== null && typeof a === 'object' ? a.port : 0
}

/** Starts the fixture for one test. */
export async function startFixture(t: Test): Promise<Fixture> {
  const standIn = await startToxiproxyStandIn()
  t.teardown(() => standIn.close())
  const upstream = `127.0.0.1:${String(await listen(t, true))}`
  const busyPort = await listen(t, false)
  return {
    port: standIn.port,
    upstream,
    busyPort,
    send: (method, path, body, headers) =>
      exchange(standIn.port, method, path, body, headers),
  }
}

/** Writes "ping" through a proxy and resolves with what comes back. */
export async function roundTrip(port: number, host = '127.0.0.1'): Promise<string> {
  const socket = connect(port, host)
  try {
    socket.setEncoding('utf8')
    await once(socket, 'connect', { signal: AbortSignal.timeout(5_000) })
    socket.write('ping')
    const [data] = (await once(socket, 'data', {
      signal: AbortSignal.timeout(5_000),
    })) as [string]
    return data
  } finally {
    socket.destroy()
  }
}

/** The port of a "host:port" listen value. */
export function portOf(listen: string): number {
  return Number(listen.slice(listen.lastIndexOf(':') + 1))
}

/** Parses a proxy or toxic reply body into a record (throws on a non-object). */
export function json(reply: Reply): Record<string, unknown> {
  const v: unknown = JSON.parse(reply.text)
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new Error(`expected a JSON object, got ${reply.text}`)
  }
  return v as Record<string, unknown>
}

/** Sends raw request bytes and resolves with everything received until the server closes. */
export async function rawExchange(port: number, request: string): Promise<string> {
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => undefined)
  const chunks: Buffer[] = []
  socket.on('data', (c: Buffer) => chunks.push(c))
  const closed = once(socket, 'close', { signal: AbortSignal.timeout(5_000) })
  socket.end(request)
  await closed
  return Buffer.concat(chunks).toString('latin1')
}
