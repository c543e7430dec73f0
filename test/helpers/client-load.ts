// A steady load of new client connections for outage tests: each connects, sends one
// HTTP request, and must read a full "hello from" answer. Bounded by count and time;
// every failure is recorded with its cause and time.
import { connect } from 'node:net'

/** One failed client connection. */
export interface LoadFailure {
  readonly atMs: number
  readonly port: number
  readonly cause: string
}

/** A running load; stop() ends it and resolves the totals. */
export interface ClientLoad {
  /** Connections started so far. */
  attempts(): number
  stop(): Promise<{ attempts: number; ok: number; failures: readonly LoadFailure[] }>
}

function oneRequest(port: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise(resolve => {
    const socket = connect({ host: '127.0.0.1', port })
    let data = ''
    const timer = setTimeout(() => {
      socket.destroy()
      resolve(
        `no full answer within ${timeoutMs}ms (got ${JSON.stringify(data.slice(0, 80))})`,
      )
    }, timeoutMs)
    socket.on('connect', () => {
      socket.end('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    })
    socket.on('data', (c: Buffer) => (data += c.toString()))
    socket.on('error', err => {
      clearTimeout(timer)
      resolve(err.message)
    })
    socket.on('close', () => {
      clearTimeout(timer)
      resolve(
        data.includes('hello from')
          ? undefined
          : `closed early: ${JSON.stringify(data.slice(0, 80))}`,
      )
    })
  })
}

/**
 * Starts `ratePerSecond` new connections a second, spread over `ports`, until stop() or
 * `maxDurationMs` (a safety bound).
 */
export function startClientLoad(
  ports: readonly number[],
  ratePerSecond: number,
  maxDurationMs = 120_000,
): ClientLoad {
  const started = performance.now()
  const failures: LoadFailure[] = []
  const inFlight = new Set<Promise<void>>()
  let attempts = 0
  let ok = 0
  let i = 0
  const timer = setInterval(() => {
    if (performance.now() - started > maxDurationMs) {
      clearInterval(timer)
      return
    }
    const port = ports[i++ % ports.length] ?? 0
    attempts++
    const p = oneRequest(port, 5_000).then(cause => {
      if (cause === undefined) ok++
      else failures.push({ atMs: Math.round(performance.now() - started), port, cause })
    })
    inFlight.add(p)
    void p.finally(() => inFlight.delete(p))
  }, 1_000 / ratePerSecond)
  return {
    attempts: () => attempts,
    stop: async () => {
      clearInterval(timer)
      await Promise.all(inFlight)
      return { attempts, ok, failures }
    },
  }
}
