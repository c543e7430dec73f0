// The chaos replica's HTTP handler, served on both its plain and its TLS port:
//   GET  /health            status per the health mode (healthy, unhealthy, slow, flap)
//   GET  /hello             "hello from <id>" (a request/response check)
//   POST /echo              the body back, with x-sha256 of what was received
//   GET  /stream?seed&bytes&chunk&intervalMs   pattern bytes, paced (a long-lived stream)
//   POST /control           {"health": mode, "delayMs", "jitterMs", "periodMs"} sets the mode
import type { IncomingMessage, ServerResponse } from 'node:http'
import { patternBytes, sha256 } from '../pattern.js'

/** How /health answers. */
export type HealthMode = 'healthy' | 'unhealthy' | 'slow' | 'flap'

/** The health mode and its parameters. */
export interface HealthSetting {
  readonly mode: HealthMode
  /** slow: answer 200 after delayMs ± jitterMs. */
  readonly delayMs: number
  readonly jitterMs: number
  /** flap: healthy and unhealthy alternate every periodMs (wall clock). */
  readonly periodMs: number
}

function isHealthMode(v: unknown): v is HealthMode {
  return v === 'healthy' || v === 'unhealthy' || v === 'slow' || v === 'flap'
}

const num = (v: unknown, fallback: number): number =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : fallback

/** Builds the request handler for replica `id`. */
export function replicaHandler(
  id: string,
): (req: IncomingMessage, res: ServerResponse) => void {
  let health: HealthSetting = {
    mode: 'healthy',
    delayMs: 0,
    jitterMs: 0,
    periodMs: 1_000,
  }
  const text = (res: ServerResponse, status: number, body: string): void => {
    res.writeHead(status, {
      'content-type': 'text/plain',
      'content-length': Buffer.byteLength(body),
    })
    res.end(body)
  }
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://replica')
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      if (url.pathname === '/health') {
        switch (health.mode) {
          case 'healthy':
            text(res, 200, 'ok\n')
            return
          case 'unhealthy':
            text(res, 503, 'unhealthy\n')
            return
          case 'slow': {
            const spread = (Math.random() * 2 - 1) * health.jitterMs
            setTimeout(
              () => {
                text(res, 200, 'ok (slow)\n')
              },
              Math.max(0, health.delayMs + spread),
            )
            return
          }
          case 'flap': {
            const up = Math.floor(Date.now() / health.periodMs) % 2 === 0
            text(res, up ? 200 : 503, up ? 'ok\n' : 'unhealthy\n')
            return
          }
        }
      }
      if (url.pathname === '/hello') {
        text(res, 200, `hello from ${id}\n`)
        return
      }
      if (url.pathname === '/echo' && req.method === 'POST') {
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-length': body.length,
          'x-sha256': sha256(body),
          'x-replica': id,
        })
        res.end(body)
        return
      }
      if (url.pathname === '/stream') {
        const seed = Number(url.searchParams.get('seed') ?? '1')
        const total = Number(url.searchParams.get('bytes') ?? '65536')
        const chunk = Math.max(1, Number(url.searchParams.get('chunk') ?? '4096'))
        const intervalMs = Number(url.searchParams.get('intervalMs') ?? '10')
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-length': total,
          'x-replica': id,
        })
        let offset = 0
        const step = (): void => {
          if (res.destroyed) return
          const n = Math.min(chunk, total - offset)
          const ok = res.write(patternBytes(seed, offset, n))
          offset += n
          if (offset >= total) {
            res.end()
            return
          }
          if (ok) setTimeout(step, intervalMs)
          else res.once('drain', () => setTimeout(step, intervalMs))
        }
        step()
        return
      }
      if (url.pathname === '/control' && req.method === 'POST') {
        let parsed: unknown
        try {
          parsed = JSON.parse(body.toString('utf8'))
        } catch {
          text(
            res,
            400,
            'control: expected a JSON object such as {"health":"unhealthy"}\n',
          )
          return
        }
        const o = typeof parsed === 'object' && parsed !== null ? parsed : {}
        const mode = 'health' in o ? o.health : undefined
        if (!isHealthMode(mode)) {
          text(res, 400, 'control.health: expected healthy, unhealthy, slow or flap\n')
          return
        }
        health = {
          mode,
          delayMs: num('delayMs' in o ? o.delayMs : undefined, 0),
          jitterMs: num('jitterMs' in o ? o.jitterMs : undefined, 0),
          periodMs: Math.max(1, num('periodMs' in o ? o.periodMs : undefined, 1_000)),
        }
        text(res, 200, `${id}: health ${mode}\n`)
        return
      }
      text(res, 404, 'not found\n')
    })
  }
}
