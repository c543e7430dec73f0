// The Toxiproxy 2.x HTTP API over a collection of stand-in proxies: routes, status codes,
// headers and error bodies as recorded from the real 2.12.0 server
// (shared/toxiproxy-api/README.md, golden.json).
import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  decodePopulateInput,
  decodeProxyInput,
  decodeToxicAttributes,
  decodeToxicHeader,
  decodeToxicUpdate,
} from './api-input.js'
import { goJson, GoMap } from './go-encode.js'
import { StandInProxy } from './proxy.js'
import { isToxicType, toxicJson, type Toxic } from './toxic.js'
import { cleanRedirect, parseRequestPath } from './url-path.js'

/** The version string the real server reports. */
export const TOXIPROXY_VERSION = '2.12.0'

/** An API failure: Toxiproxy's ApiError (message + status). */
class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message)
  }
}

const notFound = (what: 'proxy' | 'toxic'): ApiError =>
  new ApiError(`${what} not found`, 404)
const badBody = (reason: string): ApiError =>
  new ApiError(`bad request body: ${reason}`, 400)

type Reply =
  | { kind: 'json'; status: number; body: unknown }
  | { kind: 'empty'; status: 204 }
  | { kind: 'raw'; status: number; contentType: string; text: string }

interface Route {
  readonly pattern: RegExp
  readonly methods: Readonly<
    Record<string, (params: string[], body: Buffer) => Promise<Reply>>
  >
}

/** The proxies and the handlers of the HTTP API. */
export class ToxiproxyApi {
  private readonly proxies = new Map<string, StandInProxy>()
  private readonly routes: readonly Route[]
  /** API calls run one at a time, in arrival order, like a single-writer collection. */
  private queue: Promise<unknown> = Promise.resolve()

  constructor() {
    const seg = '([^/]+)'
    this.routes = [
      { pattern: /^\/reset$/, methods: { POST: () => this.reset() } },
      {
        pattern: /^\/proxies$/,
        methods: { GET: () => this.listProxies(), POST: (_, b) => this.createProxy(b) },
      },
      { pattern: /^\/populate$/, methods: { POST: (_, b) => this.populate(b) } },
      {
        pattern: new RegExp(`^/proxies/${seg}$`),
        methods: {
          GET: p => this.showProxy(p),
          POST: (p, b) => this.updateProxy(p, b),
          PATCH: (p, b) => this.updateProxy(p, b),
          DELETE: p => this.deleteProxy(p),
        },
      },
      {
        pattern: new RegExp(`^/proxies/${seg}/toxics$`),
        methods: {
          GET: p => this.listToxics(p),
          POST: (p, b) => this.createToxic(p, b),
        },
      },
      {
        pattern: new RegExp(`^/proxies/${seg}/toxics/${seg}$`),
        methods: {
          GET: p => this.showToxic(p),
          POST: (p, b) => this.updateToxic(p, b),
          PATCH: (p, b) => this.updateToxic(p, b),
          DELETE: p => this.deleteToxic(p),
        },
      },
      {
        pattern: /^\/version$/,
        methods: {
          GET: () =>
            Promise.resolve({
              kind: 'raw',
              status: 200,
              contentType: 'application/json;charset=utf-8',
              text: `{"version": "${TOXIPROXY_VERSION}"}\n`,
            }),
        },
      },
    ]
  }

  /** Handles one HTTP request (node:http request listener). */
  handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const run = this.queue.then(() => this.dispatch(req, res, body))
      this.queue = run.catch(() => undefined)
    })
  }

  /** Stops every proxy (server shutdown). */
  closeAll(): void {
    for (const p of this.proxies.values()) p.stop()
  }

  private async dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
  ): Promise<void> {
    const target = parseRequestPath(req.url ?? '/')
    if (target === undefined) {
      // net/http rejects a bad percent escape before any handler runs.
      send(
        res,
        400,
        { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' },
        '400 Bad Request',
      )
      return
    }
    const location = cleanRedirect(target)
    if (location !== undefined) {
      send(res, 301, { Location: location }, '')
      return
    }
    const path = target.path
    let params: string[] = []
    const route = this.routes.find(r => {
      const m = r.pattern.exec(path)
      if (m === null) return false
      params = m.slice(1)
      return true
    })
    if (route === undefined) {
      sendText(res, 404, '404 page not found\n')
      return
    }
    const handler = route.methods[req.method ?? 'GET']
    if (handler === undefined) {
      send(res, 405, {}, '')
      return
    }
    // Only routed requests get a request id (the router's own 404/405 do not).
    res.setHeader('X-Toxiproxy-Request-Id', randomBytes(10).toString('hex'))
    if ((req.headers['user-agent'] ?? '').startsWith('Mozilla/')) {
      sendText(res, 403, 'User agent not allowed\n')
      return
    }
    let reply: Reply
    try {
      reply = await handler(params, body)
    } catch (err) {
      const apiErr =
        err instanceof ApiError
          ? err
          : new ApiError(err instanceof Error ? err.message : String(err), 500)
      sendText(
        res,
        apiErr.status,
        `${goJson({ error: apiErr.message, status: apiErr.status })}\n`,
      )
      return
    }
    switch (reply.kind) {
      case 'json':
        send(
          res,
          reply.status,
          { 'Content-Type': 'application/json' },
          goJson(reply.body),
        )
        return
      case 'empty':
        res.writeHead(204).end()
        return
      case 'raw':
        send(res, reply.status, { 'Content-Type': reply.contentType }, reply.text)
        return
    }
  }

  private proxy(name: string | undefined): StandInProxy {
    const proxy = this.proxies.get(name ?? '')
    if (proxy === undefined) throw notFound('proxy')
    return proxy
  }

  private listProxies(): Promise<Reply> {
    // A Go map: json.Marshal sorts its keys (api.go:163-172).
    const body = new GoMap(new Map([...this.proxies].map(([n, p]) => [n, p.toJson()])))
    return Promise.resolve({ kind: 'json', status: 200, body })
  }

  /** ProxyCreate (api.go:204-240). */
  private async createProxy(body: Buffer): Promise<Reply> {
    const decoded = decodeProxyInput(body, {
      name: '',
      listen: '',
      upstream: '',
      enabled: true,
    })
    if (!decoded.ok) throw badBody(decoded.message)
    const input = decoded.value
    if (input.name === '') throw new ApiError('missing required field: name', 400)
    if (input.upstream === '') throw new ApiError('missing required field: upstream', 400)
    if (this.proxies.has(input.name)) throw new ApiError('proxy already exists', 409)
    const proxy = new StandInProxy(input.name, input.listen, input.upstream)
    if (input.enabled === true) await proxy.start()
    this.proxies.set(proxy.name, proxy)
    return { kind: 'json', status: 201, body: proxy.toJson() }
  }

  private showProxy([name]: string[]): Promise<Reply> {
    return Promise.resolve({ kind: 'json', status: 200, body: this.proxy(name).toJson() })
  }

  /** ProxyUpdate (api.go:296-331) and Proxy.Update (proxy.go:80-102). */
  private async updateProxy([name]: string[], body: Buffer): Promise<Reply> {
    const proxy = this.proxy(name) // looked up before the body is parsed
    // Fields not sent keep their values; name is decoded but never used.
    const decoded = decodeProxyInput(body, {
      name: '',
      listen: proxy.listen,
      upstream: proxy.upstream,
      enabled: proxy.enabled,
    })
    if (!decoded.ok) throw badBody(decoded.message)
    const input = decoded.value
    // Differs compares the resolved listen: "localhost:N" equals "127.0.0.1:N", ":N" does
    // not equal "[::]:N". A restart that fails to bind is not rolled back.
    if (await proxy.differs(input.listen, input.upstream)) {
      proxy.stop()
      proxy.listen = input.listen
      proxy.upstream = input.upstream
    }
    if (input.enabled !== proxy.enabled) {
      if (input.enabled === true) await proxy.start()
      else proxy.stop()
    }
    return { kind: 'json', status: 200, body: proxy.toJson() }
  }

  private deleteProxy([name]: string[]): Promise<Reply> {
    const proxy = this.proxy(name)
    proxy.stop()
    this.proxies.delete(proxy.name)
    return Promise.resolve({ kind: 'empty', status: 204 })
  }

  /** Populate (api.go:242-274) over PopulateJson and AddOrReplace (proxy_collection.go). */
  private async populate(body: Buffer): Promise<Reply> {
    const applied: StandInProxy[] = []
    // proxiesWithToxics of an empty list is a nil slice: "proxies":null.
    const list = (): unknown =>
      applied.length === 0 ? null : applied.map(p => p.toJson())
    const fail = (message: string, status: number): Reply => ({
      kind: 'json',
      status,
      body: { error: message, status, proxies: list() },
    })
    const decoded = decodePopulateInput(body)
    if (!decoded.ok) return fail(`bad request body: ${decoded.message}`, 400)
    const entries = decoded.value
    for (const [i, entry] of entries.entries()) {
      if (entry.name === '')
        return fail(`missing required field: name at proxy ${i + 1}`, 400)
      if (entry.upstream === '') {
        return fail(`missing required field: upstream at proxy ${i + 1}`, 400)
      }
    }
    for (const entry of entries) {
      const existing = this.proxies.get(entry.name)
      if (existing !== undefined) {
        // Same resolved listen and upstream: kept as it is, toxics and enabled included.
        let differs: boolean
        try {
          differs = await existing.differs(entry.listen, entry.upstream)
        } catch (err) {
          return fail(err instanceof Error ? err.message : String(err), 500)
        }
        if (!differs) {
          applied.push(existing)
          continue
        }
        existing.stop()
      }
      const proxy = new StandInProxy(entry.name, entry.listen, entry.upstream)
      if (entry.enabled ?? true) {
        try {
          await proxy.start()
        } catch (err) {
          return fail(err instanceof Error ? err.message : String(err), 500)
        }
      }
      this.proxies.set(entry.name, proxy)
      applied.push(proxy)
    }
    return { kind: 'json', status: 201, body: { proxies: list() } }
  }

  private async reset(): Promise<Reply> {
    for (const proxy of this.proxies.values()) {
      await proxy.start()
      proxy.removeAllToxics()
    }
    return { kind: 'empty', status: 204 }
  }

  private listToxics([name]: string[]): Promise<Reply> {
    const body = this.proxy(name).toxics.map(toxicJson)
    return Promise.resolve({ kind: 'json', status: 200, body })
  }

  private showToxic([name, toxicName]: string[]): Promise<Reply> {
    const toxic = this.proxy(name).toxic(toxicName ?? '')
    if (toxic === undefined) throw notFound('toxic')
    return Promise.resolve({ kind: 'json', status: 200, body: toxicJson(toxic) })
  }

  /** ToxicCreate (api.go:371-395) and AddToxicJson (toxic_collection.go:83-132). */
  private createToxic([name]: string[], body: Buffer): Promise<Reply> {
    const proxy = this.proxy(name)
    const header = decodeToxicHeader(body)
    if (!header.ok) throw badBody(header.message)
    const { stream, type } = header.value
    // stream.ParseDirection: strings.ToLower, then "downstream" or "upstream".
    const direction = stream.toLowerCase()
    if (direction !== 'upstream' && direction !== 'downstream') {
      throw new ApiError('stream was invalid, can be either upstream or downstream', 400)
    }
    const toxicName = header.value.name === '' ? `${type}_${stream}` : header.value.name
    if (!isToxicType(type)) throw new ApiError('invalid toxic type', 400)
    if (proxy.toxic(toxicName) !== undefined) {
      throw new ApiError('toxic already exists', 409)
    }
    const attributes = decodeToxicAttributes(body, type)
    if (!attributes.ok) throw badBody(attributes.message)
    const toxic: Toxic = {
      name: toxicName,
      type,
      stream,
      direction,
      toxicity: header.value.toxicity,
      attributes: attributes.value,
      addedAtMs: performance.now(),
    }
    proxy.addToxic(toxic)
    return Promise.resolve({ kind: 'json', status: 200, body: toxicJson(toxic) })
  }

  /** ToxicUpdate (api.go:424-452) and UpdateToxicJson (toxic_collection.go:134-160). */
  private updateToxic([name, toxicName]: string[], body: Buffer): Promise<Reply> {
    const proxy = this.proxy(name)
    const toxic = proxy.toxic(toxicName ?? '')
    if (toxic === undefined) throw notFound('toxic')
    // Attributes merge into the live toxic, and stay merged if the request then fails.
    const decoded = decodeToxicUpdate(body, toxic.type, toxic.attributes, toxic.toxicity)
    if (!decoded.ok) throw badBody(decoded.message)
    toxic.toxicity = decoded.value.toxicity
    proxy.updatedToxic(toxic)
    return Promise.resolve({ kind: 'json', status: 200, body: toxicJson(toxic) })
  }

  private deleteToxic([name, toxicName]: string[]): Promise<Reply> {
    const proxy = this.proxy(name)
    if (!proxy.removeToxic(toxicName ?? '')) throw notFound('toxic')
    return Promise.resolve({ kind: 'empty', status: 204 })
  }
}

/**
 * Writes a reply the way net/http frames it: a body that fits its 2048-byte write buffer
 * gets a Content-Length (0 for an empty one), a longer one is chunked.
 */
function send(
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
function sendText(res: ServerResponse, status: number, text: string): void {
  send(
    res,
    status,
    { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' },
    text,
  )
}
