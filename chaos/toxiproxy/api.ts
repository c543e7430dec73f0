// The Toxiproxy 2.x HTTP API over a collection of stand-in proxies: routes, status codes,
// headers and error bodies as recorded from the real 2.12.0 server
// (shared/toxiproxy-api/README.md, golden.json).
import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  decodeBody,
  decodeFields,
  goJson,
  isJsonObject,
  type GoField,
  type JsonObject,
} from './go-json.js'
import { StandInProxy } from './proxy.js'
import {
  attributeFields,
  isToxicType,
  TOXIC_STRUCTS,
  toxicJson,
  type Toxic,
} from './toxic.js'

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
    Record<string, (params: string[], body: string) => Promise<Reply>>
  >
}

const PROXY_FIELDS: readonly GoField[] = [
  { key: 'name', type: 'string' },
  { key: 'listen', type: 'string' },
  { key: 'upstream', type: 'string' },
  { key: 'enabled', type: 'bool' },
]

/** Reads a string field that decodeFields has type-checked. */
function str(obj: Record<string, unknown>, key: string): string {
  const v = obj[key]
  return typeof v === 'string' ? v : ''
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
      const body = Buffer.concat(chunks).toString('utf8')
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
    body: string,
  ): Promise<void> {
    const rawPath = (req.url ?? '/').split('?')[0] ?? '/'
    let path: string
    try {
      path = decodeURIComponent(rawPath)
    } catch {
      path = rawPath
    }
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
      res.writeHead(405).end()
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
        res.writeHead(reply.status, { 'Content-Type': 'application/json' })
        res.end(goJson(reply.body))
        return
      case 'empty':
        res.writeHead(204).end()
        return
      case 'raw':
        res.writeHead(reply.status, { 'Content-Type': reply.contentType })
        res.end(reply.text)
        return
    }
  }

  private proxy(name: string | undefined): StandInProxy {
    const proxy = this.proxies.get(name ?? '')
    if (proxy === undefined) throw notFound('proxy')
    return proxy
  }

  private listProxies(): Promise<Reply> {
    const names = [...this.proxies.keys()].sort()
    const body: Record<string, unknown> = {}
    for (const n of names) body[n] = this.proxies.get(n)?.toJson()
    return Promise.resolve({ kind: 'json', status: 200, body })
  }

  private async createProxy(text: string): Promise<Reply> {
    const decoded = decodeBody(text)
    if (!decoded.ok) throw badBody(decoded.message)
    if (!isJsonObject(decoded.value)) {
      throw badBody(
        `json: cannot unmarshal ${Array.isArray(decoded.value) ? 'array' : 'value'} into Go value of type toxiproxy.Proxy`,
      )
    }
    const input: Record<string, unknown> = {
      name: '',
      listen: '',
      upstream: '',
      enabled: true,
    }
    const typeError = decodeFields(decoded.value, PROXY_FIELDS, input, 'Proxy')
    if (typeError !== undefined) throw badBody(typeError)
    if (str(input, 'name') === '') throw new ApiError('missing required field: name', 400)
    if (str(input, 'upstream') === '') {
      throw new ApiError('missing required field: upstream', 400)
    }
    if (this.proxies.has(str(input, 'name')))
      throw new ApiError('proxy already exists', 409)
    const proxy = new StandInProxy(
      str(input, 'name'),
      str(input, 'listen'),
      str(input, 'upstream'),
    )
    if (input.enabled === true) await proxy.start()
    this.proxies.set(proxy.name, proxy)
    return { kind: 'json', status: 201, body: proxy.toJson() }
  }

  private showProxy([name]: string[]): Promise<Reply> {
    return Promise.resolve({ kind: 'json', status: 200, body: this.proxy(name).toJson() })
  }

  private async updateProxy([name]: string[], text: string): Promise<Reply> {
    const proxy = this.proxy(name) // looked up before the body is parsed
    const decoded = decodeBody(text)
    if (!decoded.ok) throw badBody(decoded.message)
    if (!isJsonObject(decoded.value)) {
      throw badBody(`json: cannot unmarshal array into Go value of type toxiproxy.Proxy`)
    }
    const input: Record<string, unknown> = {
      listen: proxy.listen,
      upstream: proxy.upstream,
      enabled: proxy.enabled,
    }
    const typeError = decodeFields(decoded.value, PROXY_FIELDS, input, 'Proxy')
    if (typeError !== undefined) throw badBody(typeError)
    // Proxy.Update: a new listen or upstream restarts; a failed start is not rolled back.
    if (
      str(input, 'listen') !== proxy.listen ||
      str(input, 'upstream') !== proxy.upstream
    ) {
      proxy.stop()
      proxy.listen = str(input, 'listen')
      proxy.upstream = str(input, 'upstream')
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

  private async populate(text: string): Promise<Reply> {
    const created: StandInProxy[] = []
    const result = (): unknown =>
      created.length === 0 ? null : created.map(p => p.toJson())
    const fail = (message: string, status: number): Reply => ({
      kind: 'json',
      status,
      body: { error: message, status, proxies: result() },
    })
    const decoded = decodeBody(text)
    if (!decoded.ok) return fail(`bad request body: ${decoded.message}`, 400)
    if (!Array.isArray(decoded.value)) {
      return fail(
        'bad request body: json: cannot unmarshal object into Go value of type []struct { toxiproxy.Proxy; Enabled *bool "json:\\"enabled\\"" }',
        400,
      )
    }
    const entries: Record<string, unknown>[] = []
    const list: unknown[] = decoded.value
    for (const [i, raw] of list.entries()) {
      const entry: Record<string, unknown> = {
        name: '',
        listen: '',
        upstream: '',
        enabled: true,
      }
      if (raw !== null && !isJsonObject(raw)) {
        return fail(`bad request body: json: cannot unmarshal into Go value`, 400)
      }
      const typeError =
        raw === null ? undefined : decodeFields(raw, PROXY_FIELDS, entry, 'Proxy')
      if (typeError !== undefined) return fail(`bad request body: ${typeError}`, 400)
      if (str(entry, 'name') === '') {
        return fail(`missing required field: name at proxy ${i + 1}`, 400)
      }
      if (str(entry, 'upstream') === '') {
        return fail(`missing required field: upstream at proxy ${i + 1}`, 400)
      }
      entries.push(entry)
    }
    for (const entry of entries) {
      const name = str(entry, 'name')
      const existing = this.proxies.get(name)
      // AddOrReplace: same listen and upstream keeps the existing proxy, toxics included.
      if (
        existing?.listen === str(entry, 'listen') &&
        existing.upstream === str(entry, 'upstream')
      ) {
        created.push(existing)
        continue
      }
      existing?.stop()
      const proxy = new StandInProxy(name, str(entry, 'listen'), str(entry, 'upstream'))
      if (entry.enabled === true) {
        try {
          await proxy.start()
        } catch (err) {
          return fail(err instanceof Error ? err.message : String(err), 500)
        }
      }
      this.proxies.set(name, proxy)
      created.push(proxy)
    }
    return { kind: 'json', status: 201, body: { proxies: result() } }
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

  private createToxic([name]: string[], text: string): Promise<Reply> {
    const proxy = this.proxy(name)
    const decoded = decodeBody(text)
    if (!decoded.ok) throw badBody(decoded.message)
    if (!isJsonObject(decoded.value)) {
      throw badBody('json: cannot unmarshal into Go value of type toxics.ToxicWrapper')
    }
    const body = decoded.value
    const wrapper: Record<string, unknown> = {
      name: '',
      type: '',
      stream: 'downstream',
      toxicity: 1,
    }
    const wrapperFields: readonly GoField[] = [
      { key: 'name', type: 'string' },
      { key: 'type', type: 'string' },
      { key: 'stream', type: 'string' },
      { key: 'toxicity', type: 'float32' },
    ]
    const wrapperError = decodeFields(body, wrapperFields, wrapper, 'ToxicWrapper')
    const rawAttributes = body.attributes
    if (
      rawAttributes !== undefined &&
      rawAttributes !== null &&
      !isJsonObject(rawAttributes)
    ) {
      throw badBody(
        `json: cannot unmarshal ${Array.isArray(rawAttributes) ? 'array' : typeof rawAttributes} into Go struct field ToxicWrapper.attributes of type toxics.NoopToxic`,
      )
    }
    if (wrapperError !== undefined) throw badBody(wrapperError)
    const stream = str(wrapper, 'stream')
    const direction = stream.toLowerCase()
    if (direction !== 'upstream' && direction !== 'downstream') {
      throw new ApiError('stream was invalid, can be either upstream or downstream', 400)
    }
    const type = str(wrapper, 'type')
    const toxicName =
      str(wrapper, 'name') === '' ? `${type}_${stream}` : str(wrapper, 'name')
    if (!isToxicType(type)) throw new ApiError('invalid toxic type', 400)
    if (proxy.toxic(toxicName) !== undefined)
      throw new ApiError('toxic already exists', 409)
    const attributes: Record<string, number> = {}
    for (const f of attributeFields(type)) attributes[f.key] = 0
    if (isJsonObject(rawAttributes)) {
      const attrError = decodeFields(
        rawAttributes,
        attributeFields(type),
        attributes,
        `${TOXIC_STRUCTS[type]}.attributes`,
      )
      if (attrError !== undefined) throw badBody(attrError)
    }
    const toxicity = typeof wrapper.toxicity === 'number' ? wrapper.toxicity : 1
    const toxic: Toxic = {
      name: toxicName,
      type,
      stream,
      direction,
      toxicity,
      attributes,
      addedAtMs: performance.now(),
    }
    proxy.addToxic(toxic)
    return Promise.resolve({ kind: 'json', status: 200, body: toxicJson(toxic) })
  }

  private updateToxic([name, toxicName]: string[], text: string): Promise<Reply> {
    const proxy = this.proxy(name)
    const toxic = proxy.toxic(toxicName ?? '')
    if (toxic === undefined) throw notFound('toxic')
    const decoded = decodeBody(text)
    if (!decoded.ok) throw badBody(decoded.message)
    if (!isJsonObject(decoded.value)) {
      throw badBody('json: cannot unmarshal into Go value of type struct')
    }
    const body: JsonObject = decoded.value
    // Go decodes straight into the live toxic: well-typed attributes stick even when a
    // sibling is mistyped and the request fails.
    let error: string | undefined
    if (isJsonObject(body.attributes)) {
      const attrs: Record<string, unknown> = { ...toxic.attributes }
      error = decodeFields(
        body.attributes,
        attributeFields(toxic.type),
        attrs,
        `${TOXIC_STRUCTS[toxic.type]}.attributes`,
      )
      for (const [k, v] of Object.entries(attrs))
        if (typeof v === 'number') toxic.attributes[k] = v
    }
    const holder: Record<string, unknown> = { toxicity: toxic.toxicity }
    error ??= decodeFields(body, [{ key: 'toxicity', type: 'float32' }], holder, 'struct')
    if (error !== undefined) throw badBody(error)
    if (typeof holder.toxicity === 'number') toxic.toxicity = holder.toxicity
    proxy.updatedToxic(toxic)
    return Promise.resolve({ kind: 'json', status: 200, body: toxicJson(toxic) })
  }

  private deleteToxic([name, toxicName]: string[]): Promise<Reply> {
    const proxy = this.proxy(name)
    if (!proxy.removeToxic(toxicName ?? '')) throw notFound('toxic')
    return Promise.resolve({ kind: 'empty', status: 204 })
  }
}

/** Go's http.Error: text/plain with nosniff. */
function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'X-Content-Type-Options': 'nosniff',
  })
  res.end(text)
}
