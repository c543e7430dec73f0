// Minimal HTTP client for tests: every request on a NEW TCP connection (agent: false),
// so each one is a new connection through the load balancer. Always bounded in time.
import { request } from 'node:http'

/** A finished HTTP exchange. */
export interface HttpResult {
  readonly status: number
  readonly body: string
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
}

/** Sends one request on a fresh connection to 127.0.0.1:port; rejects on error or timeout. */
export function httpRequest(
  port: number,
  path = '/',
  options: {
    method?: string
    body?: string
    headers?: Record<string, string>
    timeoutMs?: number
  } = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        agent: false,
        headers: { connection: 'close', ...options.headers },
        signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
      },
      res => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => (body += c))
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body, headers: res.headers })
        })
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(options.body)
  })
}

/** Sends a JSON request to an admin API and parses the JSON answer. */
export async function adminRequest(
  adminPort: number,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: unknown }> {
  const res = await httpRequest(adminPort, path, {
    method,
    ...(body !== undefined
      ? {
          body: typeof body === 'string' ? body : JSON.stringify(body),
          headers: { 'content-type': 'application/json', ...headers },
        }
      : { headers }),
  })
  let json: unknown
  try {
    json = JSON.parse(res.body)
  } catch {
    json = res.body
  }
  return { status: res.status, json }
}
