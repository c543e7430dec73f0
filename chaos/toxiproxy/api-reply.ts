// How the stand-in's API answers on the wire: ApiError bodies as api.go's apiError writes
// them (http.Error: text/plain, nosniff, JSON plus a newline) and net/http's framing.
import type { ServerResponse } from 'node:http'
import { goJson } from './go-encode.js'

/** An API failure: Toxiproxy's ApiError (message + status). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message)
  }
}

/** ErrProxyNotFound / ErrToxicNotFound (api.go:510, 518). */
export const notFound = (what: 'proxy' | 'toxic'): ApiError =>
  new ApiError(`${what} not found`, 404)
/** joinError(err, ErrBadRequestBody) (api.go:500-505): 400 with the decoder's text. */
export const badBody = (reason: string): ApiError =>
  new ApiError(`bad request body: ${reason}`, 400)

/** What a handler answers: a JSON body, an empty 204, or raw text. */
export type Reply =
  | { kind: 'json'; status: number; body: unknown }
  | { kind: 'empty'; status: 204 }
  | { kind: 'raw'; status: number; contentType: string; text: string }

/**
 * Writes a reply the way net/http frames it: a body that fits its 2048-byte write buffer
 * gets a Content-Length (0 for an empty one), a longer one is chunked.
 */
export function send(
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  text: string,
): void {
  const length = Buffer.byteLength(text)
  res.writeHead(
    status,
    length <= 2048 ? { ...headers, 'Content-Length': String(length) } : headers,
  )
  res.end(text)
}

/** Go's http.Error: text/plain with nosniff. */
export function sendText(res: ServerResponse, status: number, text: string): void {
  send(
    res,
    status,
    { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' },
    text,
  )
}

/** Writes a handler's reply. */
export function sendReply(res: ServerResponse, reply: Reply): void {
  switch (reply.kind) {
    case 'json':
      send(res, reply.status, { 'Content-Type': 'application/json' }, goJson(reply.body))
      return
    case 'empty':
      res.writeHead(204).end()
      return
    case 'raw':
      send(res, reply.status, { 'Content-Type': reply.contentType }, reply.text)
      return
  }
}

/** api.go:521-540 apiError: an ApiError as is, any other error as a 500 with its text. */
export function sendError(res: ServerResponse, err: unknown): void {
  const apiErr =
    err instanceof ApiError
      ? err
      : new ApiError(err instanceof Error ? err.message : String(err), 500)
  sendText(
    res,
    apiErr.status,
    `${goJson({ error: apiErr.message, status: apiErr.status })}\n`,
  )
}
