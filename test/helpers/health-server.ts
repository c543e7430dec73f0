// A tiny HTTP(S) health endpoint for tests: its answer can be flipped at run time and it
// counts what it sees (requests, connections, concurrency, SNI names).

import { EventEmitter, once } from 'node:events'
import { createServer as createHttpServer } from 'node:http'
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { createServer as createNetServer } from 'node:net'
import type { AddressInfo, Server as NetServer, Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'

/**
 * How the server answers: `respond` (status and body, after delayMs), `hang` (never
 * answers), `reset` (destroys the connection on a request), `truncate` (sends headers and
 * part of the body, then destroys the connection).
 */
export type HealthServerMode = 'respond' | 'hang' | 'reset' | 'truncate'

/** Options of startHealthServer. */
export interface HealthServerOptions {
  /** Status of every answer. Default 200. */
  readonly status?: number
  /** Response body. Default "ok". */
  readonly body?: string | Buffer
  /** How to answer. Default "respond". */
  readonly mode?: HealthServerMode
  /** Wait this long (ms) before answering in `respond` mode. Default 0. */
  readonly delayMs?: number
  /**
   * Send the body in two halves this many ms apart (0: in one write), so that a client
   * sees its response while the body is still arriving. Default 0.
   */
  readonly splitBodyMs?: number
  /** Serve HTTPS with this key pair (PEM), e.g. from makeSelfSignedCert. */
  readonly tls?: { readonly key: string; readonly cert: string }
}

/** What the server saw of one request. */
export interface SeenRequest {
  readonly path: string
  readonly headers: IncomingHttpHeaders
}

/** A running health server on 127.0.0.1; close() it in `t.teardown`. */
export interface HealthServer {
  /** The port it listens on (bound as port 0). */
  readonly port: number
  /** Requests received so far. */
  readonly requests: number
  /** TCP connections accepted so far. */
  readonly connections: number
  /** TCP connections open now. */
  readonly openConnections: number
  /** Most requests it ever had in progress at once. */
  readonly maxConcurrent: number
  /** Every request received, oldest first. */
  readonly seen: readonly SeenRequest[]
  /** SNI server names of accepted TLS connections, oldest first (HTTPS only). */
  readonly servernames: readonly (string | false | null)[]
  /** Changes the status of later answers. */
  setStatus(status: number): void
  /** Changes the body of later answers. */
  setBody(body: string | Buffer): void
  /** Changes how later requests are answered. */
  setMode(mode: HealthServerMode): void
  /** Changes the delay of later answers (ms). */
  setDelayMs(delayMs: number): void
  /** Resolves once `count` requests in total have arrived; rejects when `signal` aborts. */
  waitForRequests(count: number, signal: AbortSignal): Promise<void>
  /** Resolves once no connection is open; rejects when `signal` aborts. */
  waitForNoConnections(signal: AbortSignal): Promise<void>
  /** Stops listening and destroys every open connection. */
  close(): Promise<void>
}

function listeningPort(server: NetServer): number {
  const address: AddressInfo | string | null = server.address()
  if (address === null || typeof address === 'string') {
    throw new Error('health server: expected a TCP address')
  }
  return address.port
}

/** Starts a health server on 127.0.0.1 and a free port, answering as `options` says. */
export async function startHealthServer(
  options: HealthServerOptions = {},
): Promise<HealthServer> {
  let status = options.status ?? 200
  let body: string | Buffer = options.body ?? 'ok'
  let mode: HealthServerMode = options.mode ?? 'respond'
  let delayMs = options.delayMs ?? 0
  let requests = 0
  let connections = 0
  let openConnections = 0
  let inProgress = 0
  let maxConcurrent = 0
  const seen: SeenRequest[] = []
  const servernames: (string | false | null)[] = []
  const timers = new Set<NodeJS.Timeout>()
  const events = new EventEmitter()

  const splitBodyMs = options.splitBodyMs ?? 0

  const answer = (res: ServerResponse): void => {
    const full = Buffer.from(body)
    res.writeHead(status, {
      'content-type': 'text/plain',
      'content-length': String(full.length),
    })
    if (splitBodyMs <= 0) {
      res.end(full)
      return
    }
    const half = Math.floor(full.length / 2)
    res.write(full.subarray(0, half))
    const timer = setTimeout(() => {
      timers.delete(timer)
      res.end(full.subarray(half))
    }, splitBodyMs)
    timers.add(timer)
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    requests += 1
    inProgress += 1
    maxConcurrent = Math.max(maxConcurrent, inProgress)
    seen.push({ path: req.url ?? '', headers: req.headers })
    res.on('close', () => {
      inProgress -= 1
    })
    switch (mode) {
      case 'respond':
        if (delayMs <= 0) {
          answer(res)
        } else {
          const timer = setTimeout(() => {
            timers.delete(timer)
            answer(res)
          }, delayMs)
          timers.add(timer)
        }
        break
      case 'hang':
        break
      case 'reset':
        req.socket.destroy()
        break
      case 'truncate': {
        const full = Buffer.from(body)
        res.writeHead(status, { 'content-length': String(full.length + 1024) })
        res.write(full, () => req.socket.destroy())
        break
      }
      default: {
        const unknown: never = mode
        throw new Error(`unknown mode ${String(unknown)}`)
      }
    }
    events.emit('request')
  }

  const server =
    options.tls === undefined
      ? createHttpServer(onRequest)
      : createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, onRequest)
  server.on('connection', (socket: Socket) => {
    connections += 1
    openConnections += 1
    socket.on('close', () => {
      openConnections -= 1
      events.emit('disconnect')
    })
  })
  server.on('secureConnection', (socket: TLSSocket) => {
    servernames.push(socket.servername)
  })
  // A failed TLS handshake is expected in tests that present an untrusted certificate.
  server.on('tlsClientError', () => undefined)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = listeningPort(server)

  return {
    port,
    get requests() {
      return requests
    },
    get connections() {
      return connections
    },
    get openConnections() {
      return openConnections
    },
    get maxConcurrent() {
      return maxConcurrent
    },
    seen,
    servernames,
    setStatus: next => {
      status = next
    },
    setBody: next => {
      body = next
    },
    setMode: next => {
      mode = next
    },
    setDelayMs: next => {
      delayMs = next
    },
    waitForRequests: async (count, signal) => {
      while (requests < count) await once(events, 'request', { signal })
    },
    waitForNoConnections: async signal => {
      while (openConnections > 0) await once(events, 'disconnect', { signal })
    },
    close: async () => {
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      const closed = once(server, 'close')
      server.close()
      server.closeAllConnections()
      await closed
    },
  }
}

/** Returns a 127.0.0.1 port that nothing listens on (bound, then released): connecting is refused. */
export async function deadPort(): Promise<number> {
  const server = createNetServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = listeningPort(server)
  const closed = once(server, 'close')
  server.close()
  await closed
  return port
}

/** Starts a TCP server on 127.0.0.1 that accepts connections and never writes a byte. */
export async function startSilentServer(): Promise<{
  readonly port: number
  close(): Promise<void>
}> {
  const sockets = new Set<Socket>()
  const server = createNetServer(socket => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => undefined)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    port: listeningPort(server),
    close: async () => {
      const closed = once(server, 'close')
      server.close()
      for (const socket of sockets) socket.destroy()
      await closed
    },
  }
}
