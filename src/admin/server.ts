// The admin HTTP API (node:http, or node:https with admin.tls, + a route table). Every
// answer is JSON except /metrics and the status page; every bad request gets a 4xx JSON
// error naming what was wrong.
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http'
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import type { AdminTlsConfig } from '../config/admin-schema.js'
import type { MemberEndpoint } from '../pool/types.js'
import { CorralError } from '../errors.js'
import { authorize, isLoopbackHost, type Scope } from './auth.js'
import { AdminRequestError } from './errors.js'
import { parseMemberBody } from './member-body.js'
import { describeTarget, parseRequestTarget } from './request-target.js'
import { loadCertificatePair, type CertificatePair } from './tls.js'

/** Result of a member operation, as the control plane reports it. */
export type MemberOpResult =
  { ok: true; member: unknown } | { ok: false; error: 'not-found' }

/** The operations the admin API exposes; implemented by the control plane (app/admin.ts). */
export interface AdminApi {
  /** JSON document of the whole pool (GET /api/v1/pool). */
  pool(): unknown
  /** Readiness: listening and at least one member up. */
  ready(): { readonly ready: boolean; readonly reason: string }
  /** `force` skips the drain budget (409 past it otherwise). */
  drain(id: string, options?: { readonly force: boolean }): Promise<MemberOpResult>
  enable(id: string): Promise<MemberOpResult>
  disable(id: string): Promise<MemberOpResult>
  /** Adds or replaces a member; `created` tells which. */
  upsert(member: MemberEndpoint): Promise<{ member: unknown; created: boolean }>
  /** Drains, then removes once idle. */
  remove(id: string): Promise<MemberOpResult>
  /** Prometheus exposition. */
  metrics(): Promise<{ contentType: string; body: string }>
  /** The HTML status page. */
  statusPage(): string
}

/** Admin server settings. */
export interface AdminServerOptions {
  readonly host: string
  readonly port: number
  /** Admin scope (mutations); absent: mutations are open (loopback, or client certs). */
  readonly token?: string
  /** Read scope (pool, metrics, status page); absent: reads are open. */
  readonly readToken?: string
  /** Serve HTTPS with this pair (reloadable, see reloadCertificates). */
  readonly tls?: AdminTlsConfig
  /** The explicit override of the non-loopback refusal (the caller logs it at start). */
  readonly insecureBind?: boolean
  readonly listenerNames: readonly string[]
}

/** What a SIGHUP's certificate reload did. */
export type CertificateReload =
  | { readonly ok: true; readonly notAfter: number }
  | { readonly ok: false; readonly error: string }

/** Probes stay open to every caller (orchestrators do not send tokens). */
const OPEN_PATHS = new Set(['/healthz', '/readyz'])

type Handler = (req: IncomingMessage, params: readonly string[]) => Promise<Reply> | Reply

interface Reply {
  readonly status: number
  readonly body: unknown
  readonly contentType?: string
  /** Methods allowed on the path, sent as `Allow` with a 405 (RFC 9110 §15.5.6). */
  readonly allow?: readonly string[]
}

interface Route {
  readonly method: string
  readonly pattern: RegExp
  readonly mutates: boolean
  readonly handler: Handler
}

const MAX_BODY_BYTES = 64 * 1024
const MEMBER_ID = '([A-Za-z0-9][A-Za-z0-9._-]{0,62})'

function json(status: number, body: unknown): Reply {
  return { status, body }
}

function memberResult(r: MemberOpResult, id: string): Reply {
  if (!r.ok)
    throw new AdminRequestError(404, 'ADMIN_NOT_FOUND', `no member with id "${id}"`)
  return json(200, { member: r.member })
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const type = req.headers['content-type'] ?? ''
  if (!/^application\/json\b/i.test(type)) {
    throw new AdminRequestError(
      415,
      'ADMIN_BAD_REQUEST',
      `expected Content-Type: application/json, got ${type === '' ? 'none' : JSON.stringify(type)}`,
    )
  }
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length
      if (size > MAX_BODY_BYTES) {
        throw new AdminRequestError(
          413,
          'ADMIN_BAD_REQUEST',
          `request body over ${MAX_BODY_BYTES} bytes`,
        )
      }
      chunks.push(chunk)
    }
  } catch (err) {
    if (err instanceof AdminRequestError) throw err
    // The client aborted mid-body: its fault, not ours; the answer goes nowhere anyway.
    throw new AdminRequestError(
      400,
      'ADMIN_BAD_REQUEST',
      'request body incomplete',
      undefined,
    )
  }
  const text = Buffer.concat(chunks).toString('utf8')
  try {
    return JSON.parse(text) as unknown
  } catch (err) {
    throw new AdminRequestError(
      400,
      'ADMIN_BAD_REQUEST',
      `request body is not valid JSON: ${(err as Error).message}`,
    )
  }
}

/** Whether the request's query string says force=true (drain past the budget). */
function forceRequested(req: IncomingMessage): boolean {
  const q = (req.url ?? '').split('?')[1] ?? ''
  return q.split('&').some(p => p === 'force=true' || p === 'force=1')
}

/** Builds the route table over an AdminApi. */
export function adminRoutes(
  api: AdminApi,
  listenerNames: readonly string[],
): readonly Route[] {
  return [
    {
      method: 'GET',
      pattern: /^\/healthz$/,
      mutates: false,
      handler: () => json(200, { status: 'ok' }),
    },
    {
      method: 'GET',
      pattern: /^\/readyz$/,
      mutates: false,
      handler: () => {
        const r = api.ready()
        return json(r.ready ? 200 : 503, { ready: r.ready, reason: r.reason })
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/v1\/pool$/,
      mutates: false,
      handler: () => json(200, api.pool()),
    },
    {
      method: 'GET',
      pattern: /^\/metrics$/,
      mutates: false,
      handler: async () => {
        const m = await api.metrics()
        return { status: 200, body: m.body, contentType: m.contentType }
      },
    },
    {
      method: 'GET',
      pattern: /^\/$/,
      mutates: false,
      handler: () => ({
        status: 200,
        body: api.statusPage(),
        contentType: 'text/html; charset=utf-8',
      }),
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/api/v1/members/${MEMBER_ID}/drain$`),
      mutates: true,
      handler: async (req, [id = '']) =>
        memberResult(await api.drain(id, { force: forceRequested(req) }), id),
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/api/v1/members/${MEMBER_ID}/enable$`),
      mutates: true,
      handler: async (_req, [id = '']) => memberResult(await api.enable(id), id),
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/api/v1/members/${MEMBER_ID}/disable$`),
      mutates: true,
      handler: async (_req, [id = '']) => memberResult(await api.disable(id), id),
    },
    {
      method: 'PUT',
      pattern: new RegExp(`^/api/v1/members/${MEMBER_ID}$`),
      mutates: true,
      handler: async (req, [id = '']) => {
        const member = parseMemberBody(id, await readBody(req), listenerNames)
        const result = await api.upsert(member)
        return json(result.created ? 201 : 200, { member: result.member })
      },
    },
    {
      method: 'DELETE',
      pattern: new RegExp(`^/api/v1/members/${MEMBER_ID}$`),
      mutates: true,
      handler: async (_req, [id = '']) => {
        const r = await api.remove(id)
        if (!r.ok)
          throw new AdminRequestError(404, 'ADMIN_NOT_FOUND', `no member with id "${id}"`)
        return json(202, {
          member: r.member,
          note: 'draining; removed once its connections close',
        })
      },
    },
  ]
}

/**
 * Refuses an admin bind that would expose the API to the network unprotected: a
 * non-loopback bind needs TLS and a token or required client certificates, unless
 * `insecureBind` overrides it (the caller logs that at every start).
 */
export function assertSafeAdminBind(
  host: string,
  o: Pick<AdminServerOptions, 'token' | 'tls' | 'insecureBind'>,
): void {
  if (isLoopbackHost(host) || o.insecureBind === true) return
  const certs = o.tls?.clientAuth === 'require'
  if (o.token === undefined && !certs) {
    throw new CorralError(
      'ADMIN_INSECURE_BIND',
      `admin.bind: ${host} is not a loopback address and admin.token is not set; ` +
        'set admin.token (e.g. token: "${CORRAL_ADMIN_TOKEN}") and admin.tls, bind to 127.0.0.1, ' +
        'or accept the risk with admin.insecureBind: true',
    )
  }
  if (o.tls === undefined) {
    throw new CorralError(
      'ADMIN_INSECURE_BIND',
      `admin.bind: ${host} is not a loopback address and admin.tls is not set: the token ` +
        'would cross the network in clear text; set admin.tls {cert, key}, bind to 127.0.0.1, ' +
        'or accept the risk with admin.insecureBind: true',
    )
  }
}

/** The admin HTTP server. */
export class AdminServer {
  readonly #routes: readonly Route[]
  readonly #options: AdminServerOptions
  readonly #server: Server | HttpsServer
  readonly #onError: (err: unknown, req: IncomingMessage) => void
  #pair: CertificatePair | undefined

  constructor(
    options: AdminServerOptions,
    api: AdminApi,
    onError: (err: unknown, req: IncomingMessage) => void,
  ) {
    assertSafeAdminBind(options.host, options)
    this.#options = options
    this.#routes = adminRoutes(api, options.listenerNames)
    this.#onError = onError
    const handle = (req: IncomingMessage, res: ServerResponse): void => {
      void this.#handle(req, res)
    }
    const tls = options.tls
    if (tls === undefined) {
      this.#server = createServer(handle)
    } else {
      this.#pair = loadCertificatePair(tls)
      this.#server = createHttpsServer(
        {
          ...this.#pair.context,
          requestCert: tls.clientAuth !== 'none',
          rejectUnauthorized: tls.clientAuth === 'require',
        },
        handle,
      )
    }
    this.#server.keepAliveTimeout = 5_000
    this.#server.headersTimeout = 10_000
    this.#server.requestTimeout = 30_000
  }

  /** The served certificate's notAfter (Unix seconds); undefined without TLS. */
  get certNotAfter(): number | undefined {
    return this.#pair?.notAfter
  }

  /**
   * Re-reads the certificate files (SIGHUP) and serves the new pair to new connections;
   * open connections keep theirs. A bad new pair keeps the old one and says why.
   */
  reloadCertificates(): CertificateReload | undefined {
    const tls = this.#options.tls
    if (tls === undefined || !('setSecureContext' in this.#server)) return undefined
    try {
      const pair = loadCertificatePair(tls)
      this.#server.setSecureContext(pair.context)
      this.#pair = pair
      return { ok: true, notAfter: pair.notAfter }
    } catch (err) {
      return { ok: false, error: err instanceof Error ? err.message : String(err) }
    }
  }

  /** Binds; resolves with the bound port. */
  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => {
        reject(
          new CorralError(
            'LISTEN_FAILED',
            `admin: cannot listen on ${this.#options.host}:${this.#options.port}: ${err.message}`,
            { cause: err },
          ),
        )
      }
      this.#server.once('error', onError)
      this.#server.listen(this.#options.port, this.#options.host, () => {
        this.#server.removeListener('error', onError)
        resolve()
      })
    })
    const address = this.#server.address()
    if (address === null || typeof address === 'string')
      throw new Error('unexpected address')
    return address.port
  }

  /** Stops accepting and closes idle keep-alive connections. */
  async close(): Promise<void> {
    await new Promise<void>(resolve => {
      this.#server.close(() => {
        resolve()
      })
      this.#server.closeIdleConnections()
    })
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let reply: Reply
    try {
      reply = await this.#dispatch(req)
    } catch (err) {
      if (err instanceof AdminRequestError) {
        reply = {
          ...json(err.status, {
            error: {
              code: err.code,
              message: err.message,
              ...(err.details ? { details: err.details } : {}),
            },
          }),
          ...(err.allow ? { allow: err.allow } : {}),
        }
      } else {
        this.#onError(err, req)
        reply = json(500, {
          error: { code: 'ADMIN_INTERNAL', message: 'internal error (see logs)' },
        })
      }
    }
    const text =
      typeof reply.body === 'string'
        ? reply.body
        : `${JSON.stringify(reply.body, null, 2)}\n`
    res.writeHead(reply.status, {
      'content-type': reply.contentType ?? 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      'cache-control': 'no-store',
      ...(reply.allow ? { allow: reply.allow.join(', ') } : {}),
    })
    res.end(text)
  }

  async #dispatch(req: IncomingMessage): Promise<Reply> {
    // Route on the raw path: new URL() would read "//x" as a host and "%zz" as an error.
    const { path } = parseRequestTarget(req.url ?? '/')
    const method = req.method ?? 'GET'
    const allowed: string[] = []
    for (const route of this.#routes) {
      const match = route.pattern.exec(path)
      if (match === null) continue
      allowed.push(...(route.method === 'GET' ? ['GET', 'HEAD'] : [route.method]))
      if (route.method !== method && !(method === 'HEAD' && route.method === 'GET'))
        continue
      const scope: Scope = route.mutates
        ? 'admin'
        : OPEN_PATHS.has(path)
          ? 'open'
          : 'read'
      const verdict = authorize(scope, req.headers.authorization, {
        ...(this.#options.token !== undefined ? { admin: this.#options.token } : {}),
        ...(this.#options.readToken !== undefined
          ? { read: this.#options.readToken }
          : {}),
      })
      if (verdict === 403) {
        throw new AdminRequestError(
          403,
          'ADMIN_UNAUTHORIZED',
          'the read token cannot change state: this operation needs "Authorization: Bearer <admin.token>"',
        )
      }
      if (verdict === 401) {
        throw new AdminRequestError(
          401,
          'ADMIN_UNAUTHORIZED',
          scope === 'admin'
            ? 'this operation needs "Authorization: Bearer <admin.token>"'
            : 'reading needs "Authorization: Bearer <admin.readToken>" (or the admin token)',
        )
      }
      return route.handler(req, match.slice(1))
    }
    if (allowed.length > 0) {
      throw new AdminRequestError(
        405,
        'ADMIN_BAD_REQUEST',
        `${method} is not allowed on ${describeTarget(path)} (allowed: ${allowed.join(', ')})`,
        undefined,
        allowed,
      )
    }
    throw new AdminRequestError(
      404,
      'ADMIN_NOT_FOUND',
      `no such endpoint: ${method} ${describeTarget(path)}`,
    )
  }
}
