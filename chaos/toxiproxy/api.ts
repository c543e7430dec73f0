// The Toxiproxy 2.x HTTP API over a collection of stand-in proxies: routes, status codes,
// headers and error bodies as recorded from the real 2.12.0 server
// (shared/toxiproxy-api/README.md, golden.json).
import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { decodePopulateInput, decodeProxyInput } from './api-input.js'
import {
  ApiError,
  badBody,
  notFound,
  send,
  sendError,
  sendReply,
  sendText,
  type Reply,
} from './api-reply.js'
import { GoMap } from './go-encode.js'
import { StandInProxy } from './proxy.js'
import { toxicJson } from './toxic.js'
import { createToxic, updateToxic } from './toxic-handlers.js'
import { rawRouterAnswer, routeRequest, routerAnswer, type Route } from './router.js'

/** The version string the real server reports. */
export const TOXIPROXY_VERSION = '2.12.0'

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
          POST: ([p], b) => createToxic(this.proxy(p), b),
        },
      },
      {
        pattern: new RegExp(`^/proxies/${seg}/toxics/${seg}$`),
        methods: {
          GET: p => this.showToxic(p),
          POST: ([p, t], b) => updateToxic(this.proxy(p), t ?? '', b),
          PATCH: ([p, t], b) => updateToxic(this.proxy(p), t ?? '', b),
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

  /** The raw answer for a request Node's HTTP parser refused (see router.ts). */
  answerRefused(method: string, url: string): string {
    return rawRouterAnswer(this.routes, method, url)
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
    const routing = routeRequest(this.routes, req.method ?? 'GET', req.url ?? '/')
    if (routing.kind !== 'handler') {
      const answer = routerAnswer(routing)
      send(res, answer.status, answer.headers, answer.text)
      return
    }
    // Only routed requests get a request id (the router's own 404/405 do not).
    res.setHeader('X-Toxiproxy-Request-Id', randomBytes(10).toString('hex'))
    if ((req.headers['user-agent'] ?? '').startsWith('Mozilla/')) {
      sendText(res, 403, 'User agent not allowed\n')
      return
    }
    try {
      sendReply(res, await routing.handler(routing.params, body))
    } catch (err) {
      sendError(res, err)
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

  private deleteToxic([name, toxicName]: string[]): Promise<Reply> {
    const proxy = this.proxy(name)
    if (!proxy.removeToxic(toxicName ?? '')) throw notFound('toxic')
    return Promise.resolve({ kind: 'empty', status: 204 })
  }
}
