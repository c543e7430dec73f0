// What the real server's router answers before any handler runs: net/http's 400 for a
// request target it cannot parse, gorilla/mux 1.8's 301 to the cleaned path, its 404
// ("404 page not found") and its empty 405. Also used for requests Node's HTTP parser
// refuses but Go's accepts (a method such as "get" or "FOO", CONNECT), answered straight
// on the socket.
import { STATUS_CODES } from 'node:http'
import type { Reply } from './api-reply.js'
import { cleanRedirect, parseRequestPath } from './url-path.js'

/** A route handler: the path parameters and the raw body in, a reply out. */
export type Handler = (params: string[], body: Buffer) => Promise<Reply>

/** One path pattern and its handlers by method. */
export interface Route {
  readonly pattern: RegExp
  readonly methods: Readonly<Record<string, Handler>>
}

/** The router's decision for one request. */
export type Routing =
  | { readonly kind: 'handler'; readonly handler: Handler; readonly params: string[] }
  | { readonly kind: 'bad-request' }
  | { readonly kind: 'redirect'; readonly location: string }
  | { readonly kind: 'not-found' }
  | { readonly kind: 'method-not-allowed' }

/** Routes `method` and request target `url` over `routes` (paths matched decoded). */
export function routeRequest(
  routes: readonly Route[],
  method: string,
  url: string,
): Routing {
  // An absolute-form target ("http://host/x") routes on its path; url.String() puts the
  // scheme and host back in front of a redirect. An authority-form CONNECT target
  // ("host:443") has no path at all: mux cleans "" to "/" ("//host:443/").
  const absolute = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?]*)(.*)$/s.exec(url)
  const prefix = absolute?.[1] ?? (url.startsWith('/') ? '' : `//${url}`)
  const rest = absolute?.[2] ?? (url.startsWith('/') ? url : '')
  const target = parseRequestPath(rest)
  if (target === undefined) return { kind: 'bad-request' }
  const location = target.path === '' ? `/${rest}` : cleanRedirect(target)
  if (location !== undefined) return { kind: 'redirect', location: prefix + location }
  for (const route of routes) {
    const m = route.pattern.exec(target.path)
    if (m === null) continue
    const handler = route.methods[method]
    return handler === undefined
      ? { kind: 'method-not-allowed' }
      : { kind: 'handler', handler, params: m.slice(1) }
  }
  return { kind: 'not-found' }
}

/** A reply the router writes itself. */
export interface RouterAnswer {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly text: string
}

/** The router's own answer for every decision but 'handler'. */
export function routerAnswer(
  routing: Exclude<Routing, { kind: 'handler' }>,
): RouterAnswer {
  const plain = { 'Content-Type': 'text/plain; charset=utf-8' }
  switch (routing.kind) {
    case 'bad-request':
      return {
        status: 400,
        headers: { ...plain, Connection: 'close' },
        text: '400 Bad Request',
      }
    case 'redirect':
      return { status: 301, headers: { Location: routing.location }, text: '' }
    case 'not-found':
      return {
        status: 404,
        headers: { ...plain, 'X-Content-Type-Options': 'nosniff' },
        text: '404 page not found\n',
      }
    case 'method-not-allowed':
      return { status: 405, headers: {}, text: '' }
  }
}

/** An HTTP token (RFC 9110), which is all net/http asks of a method. */
export function isHttpToken(text: string): boolean {
  return /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(text)
}

/**
 * The raw response for a request Node's parser refused, from its request line; the
 * connection closes after it since the parser cannot go on. net/http refuses a method
 * that is not a token with its plain "400 Bad Request".
 */
export function rawRouterAnswer(
  routes: readonly Route[],
  method: string,
  url: string,
): string {
  const decision = routeRequest(routes, method, url)
  const answer: RouterAnswer = !isHttpToken(method)
    ? routerAnswer({ kind: 'bad-request' })
    : decision.kind === 'handler'
      ? routerAnswer({ kind: 'method-not-allowed' }) // cannot happen: every routed method parses
      : routerAnswer(decision)
  const text = answer.text
  const headers = {
    ...answer.headers,
    'Content-Length': String(Buffer.byteLength(text)),
    Connection: 'close',
  }
  const head = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`)
  return `HTTP/1.1 ${String(answer.status)} ${STATUS_CODES[answer.status] ?? ''}\r\n${head.join('')}\r\n${text}`
}
