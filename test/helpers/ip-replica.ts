// Replicas for DNS discovery tests: HTTP servers on their own loopback address
// (127.0.0.2-.9; Linux routes all of 127/8 to lo) and a shared port, as the tasks of a
// Swarm service are: one address each, the same port. /health can be flipped, /whoami
// names the replica, /blob streams a fixed number of bytes and can pause half-way.
import { createHash } from 'node:crypto'
import { EventEmitter, once } from 'node:events'
import { createServer, request, type Server } from 'node:http'
import type { Socket } from 'node:net'

/** Bytes of /blob: pseudo-random, the same for every replica (hash once, compare). */
export const BLOB_BYTES = 8 * 1024 * 1024
const CHUNK = 64 * 1024

function blobChunk(i: number): Buffer {
  const b = Buffer.alloc(CHUNK)
  for (let j = 0; j < CHUNK; j += 4)
    b.writeUInt32LE((Math.imul(i + 1, 2654435761) ^ j) >>> 0, j)
  return b
}

/** sha256 of the whole /blob body. */
export const BLOB_SHA256 = ((): string => {
  const h = createHash('sha256')
  for (let i = 0; i < BLOB_BYTES / CHUNK; i++) h.update(blobChunk(i))
  return h.digest('hex')
})()

/** A running replica. */
export interface IpReplica {
  readonly ip: string
  readonly port: number
  /** Requests per path so far (/health included). */
  count(path: string): number
  setHealthy(healthy: boolean): void
  /** Blob transfers paused half-way resume (and new ones no longer pause). */
  release(): void
  /** Resolves once `n` /blob transfers are paused half-way. */
  waitForPaused(n: number, timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

/** Starts a replica on `ip`:`port` (port 0: any); closed in `t.teardown`. */
export async function startIpReplica(
  t: { teardown(fn: () => unknown): void },
  ip: string,
  port: number,
  options: { healthy?: boolean; pauseBlobs?: boolean } = {},
): Promise<IpReplica> {
  let healthy = options.healthy ?? true
  let pause = options.pauseBlobs ?? false
  let paused = 0
  const events = new EventEmitter()
  const counts = new Map<string, number>()
  const sockets = new Set<Socket>()
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    counts.set(path, (counts.get(path) ?? 0) + 1)
    if (path === '/health') {
      res.writeHead(healthy ? 200 : 503).end(healthy ? 'ok' : 'starting')
    } else if (path === '/whoami') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end(ip)
    } else if (path === '/blob') {
      res.writeHead(200, { 'content-length': String(BLOB_BYTES), 'x-replica': ip })
      void (async () => {
        for (let i = 0; i < BLOB_BYTES / CHUNK; i++) {
          if (i === BLOB_BYTES / CHUNK / 2 && pause) {
            paused++
            events.emit('paused')
            await once(events, 'release')
          }
          if (!res.write(blobChunk(i))) await once(res, 'drain')
        }
        res.end()
      })().catch(() => undefined) // the client went away: nothing to finish
    } else res.writeHead(404).end()
  })
  server.on('connection', s => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  server.listen(port, ip)
  await once(server, 'listening')
  const address = server.address()
  const bound = typeof address === 'object' && address !== null ? address.port : port
  let closed = false
  const close = async (): Promise<void> => {
    if (closed) return
    closed = true
    events.emit('release')
    for (const s of sockets) s.destroy()
    server.close()
    await once(server, 'close')
  }
  t.teardown(close)
  return {
    ip,
    port: bound,
    count: path => counts.get(path) ?? 0,
    setHealthy: h => {
      healthy = h
    },
    release: () => {
      pause = false
      events.emit('release')
    },
    waitForPaused: async (n, timeoutMs = 10_000) => {
      const signal = AbortSignal.timeout(timeoutMs)
      while (paused < n) await once(events, 'paused', { signal })
    },
    close,
  }
}

/**
 * Replicas on `ips`, all on one port (free on every one of them): tries ports the first
 * address is given until the others can bind it too.
 */
export async function startReplicaSet(
  t: { teardown(fn: () => unknown): void },
  ips: readonly string[],
  options: { healthy?: boolean; pauseBlobs?: boolean } = {},
): Promise<IpReplica[]> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const [first, ...rest] = ips
    if (first === undefined) return []
    const head = await startIpReplica(t, first, 0, options)
    const out = [head]
    try {
      for (const ip of rest) out.push(await startIpReplica(t, ip, head.port, options))
      return out
    } catch {
      // EADDRINUSE on one of the addresses: another test holds that port there.
      await Promise.all(out.map(r => r.close()))
    }
  }
  throw new Error(`no port free on all of ${ips.join(', ')} after 10 tries`)
}

/** One GET through the load balancer on a new connection; resolves status and body. */
export function get(
  port: number,
  path: string,
  timeoutMs = 5_000,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs },
      res => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() })
        })
        res.on('error', reject)
      },
    )
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: timed out`)))
    req.on('error', reject)
    req.end()
  })
}

/** GET /blob through the load balancer: resolves the replica it came from and the body's sha256. */
export function getBlob(
  port: number,
  timeoutMs = 30_000,
): { replica: Promise<string>; done: Promise<{ bytes: number; sha256: string }> } {
  let replicaOf: (ip: string) => void = () => undefined
  let failReplica: (err: Error) => void = () => undefined
  const replica = new Promise<string>((resolve, reject) => {
    replicaOf = resolve
    failReplica = reject
  })
  const done = new Promise<{ bytes: number; sha256: string }>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/blob', agent: false, timeout: timeoutMs },
      res => {
        replicaOf(String(res.headers['x-replica']))
        const h = createHash('sha256')
        let bytes = 0
        res.on('data', (c: Buffer) => {
          bytes += c.length
          h.update(c)
        })
        res.on('end', () => {
          resolve({ bytes, sha256: h.digest('hex') })
        })
        res.on('error', reject)
      },
    )
    req.on('timeout', () => req.destroy(new Error('GET /blob: timed out')))
    req.on('error', (err: Error) => {
      failReplica(err)
      reject(err)
    })
    req.end()
  })
  return { replica, done }
}
