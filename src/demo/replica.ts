// A stand-in replica for the demo and the end-to-end tests: an HTTP server that says who
// it is and reports its health at /health, which can be flipped over HTTP.
import { createServer, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

/** A running demo replica. */
export interface Replica {
  readonly id: string
  readonly port: number
  /** Requests served (any path). */
  readonly requests: () => number
  /** Status /health answers with (200 healthy, 503 unhealthy). */
  setHealthStatus(status: number): void
  /** Stops listening and destroys open connections (a killed replica). */
  kill(): Promise<void>
}

function reply(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  })
  res.end(text)
}

/**
 * Starts a replica on host:port (port 0 = any free port). Routes: GET /health,
 * POST /fail (health → 503), POST /recover (→ 200), anything else → "hello from <id>".
 */
export async function startReplica(
  id: string,
  host = '127.0.0.1',
  port = 0,
): Promise<Replica> {
  let healthStatus = 200
  let requests = 0
  const sockets = new Set<Socket>()
  const server: Server = createServer((req, res) => {
    requests++
    if (req.url === '/health') {
      reply(res, healthStatus, healthStatus < 400 ? 'ok\n' : 'unhealthy\n')
    } else if (req.method === 'POST' && req.url === '/fail') {
      healthStatus = 503
      reply(res, 200, `${id}: /health now answers 503\n`)
    } else if (req.method === 'POST' && req.url === '/recover') {
      healthStatus = 200
      reply(res, 200, `${id}: /health now answers 200\n`)
    } else {
      reply(res, 200, `hello from ${id}\n`)
    }
  })
  server.on('connection', socket => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.removeListener('error', reject)
      resolve()
    })
  })
  const address = server.address()
  if (address === null || typeof address === 'string')
    throw new Error('replica: no address')
  return {
    id,
    port: address.port,
    requests: () => requests,
    setHealthStatus: status => {
      healthStatus = status
    },
    kill: async () => {
      const closed = new Promise<void>(resolve =>
        server.close(() => {
          resolve()
        }),
      )
      for (const s of sockets) s.destroy()
      await closed
    },
  }
}
