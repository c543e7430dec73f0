// One HTTP/1.1 request written byte for byte on a fresh TCP connection, so the request
// target reaches the server exactly as given (fetch and undici normalise "//", "..", "%").
import { once } from 'node:events'
import { connect } from 'node:net'

/** A parsed response: status, lower-cased headers and the body as text. */
export interface RawResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/** What to send; `head` lines are written verbatim after the request line. */
export interface RawRequest {
  readonly method: string
  readonly target: string
  readonly headers?: readonly (readonly [string, string])[]
  readonly body?: Buffer | string
}

/**
 * Sends `req` to 127.0.0.1:port with `Connection: close` and resolves with the response
 * once the server closes; rejects after timeoutMs or if no status line arrived.
 */
export async function rawRequest(
  port: number,
  req: RawRequest,
  timeoutMs = 5_000,
): Promise<RawResponse> {
  const socket = connect({ host: '127.0.0.1', port })
  const signal = AbortSignal.timeout(timeoutMs)
  try {
    await once(socket, 'connect', { signal })
    const body =
      req.body === undefined
        ? Buffer.alloc(0)
        : typeof req.body === 'string'
          ? Buffer.from(req.body)
          : req.body
    const lines = [
      `${req.method} ${req.target} HTTP/1.1`,
      'Host: 127.0.0.1',
      'Connection: close',
      ...(req.headers ?? []).map(([k, v]) => `${k}: ${v}`),
      ...(body.length > 0 || req.method === 'POST' || req.method === 'PUT'
        ? [`Content-Length: ${body.length}`]
        : []),
    ]
    const chunks: Buffer[] = []
    socket.on('data', (c: Buffer) => chunks.push(c))
    // The server may answer (413) and close before reading the whole body: not an error.
    socket.on('error', () => undefined)
    socket.write(`${lines.join('\r\n')}\r\n\r\n`)
    if (body.length > 0) socket.write(body)
    if (!socket.destroyed) await once(socket, 'close', { signal })
    return parseResponse(Buffer.concat(chunks).toString('latin1'))
  } finally {
    socket.destroy()
  }
}

/** Parses the first response in `text` (Content-Length framed, or to the end). */
export function parseResponse(text: string): RawResponse {
  const head = text.indexOf('\r\n\r\n')
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(text)
  if (head < 0 || status?.[1] === undefined)
    throw new Error(`no HTTP response; got ${JSON.stringify(text.slice(0, 200))}`)
  const headers: Record<string, string> = {}
  for (const line of text.slice(0, head).split('\r\n').slice(1)) {
    const colon = line.indexOf(':')
    if (colon > 0)
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
  }
  const length = headers['content-length']
  const rest = text.slice(head + 4)
  return {
    status: Number(status[1]),
    headers,
    body: length === undefined ? rest : rest.slice(0, Number(length)),
  }
}
