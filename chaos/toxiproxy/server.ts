// Starts the Toxiproxy stand-in: the HTTP API on host:port (port 0 = any free port).
import { once } from 'node:events'
import { createServer, type IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { ToxiproxyApi } from './api.js'

/** net/http's DefaultMaxHeaderBytes plus the 4096 bytes of slack it allows. */
const GO_MAX_HEADER_BYTES = (1 << 20) + 4096

/** A running stand-in server. */
export interface ToxiproxyStandIn {
  /** Base URL of the API, e.g. http://127.0.0.1:8474. */
  readonly url: string
  readonly host: string
  readonly port: number
  /** Stops the API and every proxy, closing their connections. */
  close(): Promise<void>
}

/** Starts the stand-in (default 127.0.0.1, port 0) and resolves once it listens. */
export async function startToxiproxyStandIn(
  options: { host?: string; port?: number } = {},
): Promise<ToxiproxyStandIn> {
  const host = options.host ?? '127.0.0.1'
  const api = new ToxiproxyApi()
  // Go's server reads up to MaxHeaderBytes (1 MiB) + 4096 bytes of request head; Node's
  // 16 KiB default would refuse a 20,000-character proxy name in the path.
  const server = createServer({ maxHeaderSize: GO_MAX_HEADER_BYTES }, (req, res) => {
    api.handle(req, res)
  })
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable) {
      socket.destroy()
      return
    }
    // A method llhttp does not know ("get", "FOO") is still a request to net/http.
    const raw =
      'rawPacket' in err && Buffer.isBuffer(err.rawPacket) ? err.rawPacket : undefined
    const line = /^(\S+) (\S+) HTTP\/1\.[01]\r?\n/.exec(raw?.toString('latin1') ?? '')
    if (
      err.code === 'HPE_INVALID_METHOD' &&
      line?.[1] !== undefined &&
      line[2] !== undefined
    ) {
      socket.end(api.answerRefused(line[1], line[2]))
      return
    }
    // net/http's own replies to a request it cannot read (server.go, conn.serve).
    const status =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? '431 Request Header Fields Too Large'
        : '400 Bad Request'
    socket.end(
      `HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n${status}`,
    )
  })
  // Node hands CONNECT to this event instead of the request handler; Go routes it.
  server.on('connect', (req: IncomingMessage, socket: Duplex) => {
    socket.end(api.answerRefused('CONNECT', req.url ?? '/'))
  })
  server.keepAliveTimeout = 1_000
  server.listen(options.port ?? 0, host)
  await once(server, 'listening')
  const address = server.address()
  const port = address !== null && typeof address === 'object' ? address.port : 0
  const urlHost = host.includes(':') ? `[${host}]` : host
  return {
    url: `http://${urlHost}:${port}`,
    host,
    port,
    close: async () => {
      api.closeAll()
      const closed = once(server, 'close')
      server.close()
      server.closeAllConnections()
      await closed
    },
  }
}
