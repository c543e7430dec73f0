// One stand-in proxy: a listener that relays each accepted connection to `upstream`
// through the proxy's toxics. Start/stop/listen semantics follow Toxiproxy 2.12.0
// (shared/toxiproxy-api/README.md, "listen").
import { once } from 'node:events'
import { connect, createServer, type Server, type Socket } from 'node:net'
import {
  formatTcpAddr,
  isWildcard,
  lookupPort,
  resolveTcpAddr,
  splitHostPort,
} from './address.js'
import { Connection } from './connection.js'
import { toxicJson, type Direction, type Toxic } from './toxic.js'

/** A listen failure, with Go's net.Listen wording where it is known. */
export class ListenError extends Error {}

/** Go's wording for the bind errors a listen can hit (syscall.Errno strings). */
const BIND_ERRORS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'cannot assign requested address',
  EACCES: 'permission denied',
}

/** A proxy as the API sees it. */
export class StandInProxy {
  enabled = false
  private server: Server | undefined
  private readonly connections = new Set<Connection>()
  private toxicList: Toxic[] = []

  constructor(
    readonly name: string,
    public listen: string,
    public upstream: string,
  ) {}

  /** The toxics, all upstream ones first, then downstream, each in insertion order. */
  get toxics(): readonly Toxic[] {
    const by = (d: Direction): Toxic[] => this.toxicList.filter(t => t.direction === d)
    return [...by('upstream'), ...by('downstream')]
  }

  /** The JSON the server sends for a proxy (key order as recorded, with the stray Logger). */
  toJson(): Record<string, unknown> {
    return {
      name: this.name,
      listen: this.listen,
      upstream: this.upstream,
      enabled: this.enabled,
      Logger: {},
      toxics: this.toxics.map(toxicJson),
    }
  }

  /** Finds a toxic by name (names are unique across both streams). */
  toxic(name: string): Toxic | undefined {
    return this.toxicList.find(t => t.name === name)
  }

  /** Adds a toxic and applies it to live connections. */
  addToxic(toxic: Toxic): void {
    this.toxicList.push(toxic)
    for (const c of this.connections) c.toxicAdded(toxic)
  }

  /** Tells live connections that a toxic's attributes or toxicity changed. */
  updatedToxic(toxic: Toxic): void {
    for (const c of this.connections) c.toxicUpdated(toxic)
  }

  /** Removes a toxic; false if there was none by that name. */
  removeToxic(name: string): boolean {
    const toxic = this.toxic(name)
    if (toxic === undefined) return false
    this.toxicList = this.toxicList.filter(t => t !== toxic)
    for (const c of this.connections) c.toxicRemoved(toxic)
    return true
  }

  /** Removes every toxic (POST /reset). */
  removeAllToxics(): void {
    for (const t of this.toxics) this.removeToxic(t.name)
  }

  /**
   * Go's Proxy.Differs (proxy.go:139-150): the resolved `listen` (ResolveTCPAddr's text)
   * or the upstream differs from this proxy's. Throws a resolve error with Go's text.
   */
  async differs(listen: string, upstream: string): Promise<boolean> {
    const resolved = await resolveTcpAddr(listen)
    if ('error' in resolved) throw new Error(resolved.error)
    return this.listen !== formatTcpAddr(resolved) || this.upstream !== upstream
  }

  /**
   * Starts listening on `listen` and rewrites it to the bound address, as proxy.go:111-126
   * does with listener.Addr().String(); no-op when already enabled. Throws ListenError
   * with net.Listen's text on failure (the proxy stays disabled).
   */
  async start(): Promise<void> {
    if (this.enabled) return
    const addr = await resolveTcpAddr(this.listen)
    if ('error' in addr) throw new ListenError(`listen tcp: ${addr.error}`)
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, socket => {
      this.accept(socket)
    })
    // An all-interfaces listen is one dual-stack IPv6 socket in Go (favoriteAddrFamily).
    const host = isWildcard(addr.ip) ? '::' : addr.ip
    try {
      const listening = once(server, 'listening')
      server.listen({ port: addr.port, host, ipv6Only: false })
      await listening
    } catch (err) {
      const code = err instanceof Error && 'code' in err ? String(err.code) : ''
      const reason = BIND_ERRORS[code]
      throw new ListenError(
        `listen tcp ${formatTcpAddr(addr)}: ${reason === undefined ? String(err) : `bind: ${reason}`}`,
        { cause: err },
      )
    }
    const address = server.address()
    if (address !== null && typeof address === 'object') {
      this.listen = formatTcpAddr({ ip: address.address, port: address.port })
    }
    this.server = server
    this.enabled = true
  }

  /** Stops listening and closes every connection with FIN; no-op when disabled. */
  stop(): void {
    this.enabled = false
    const server = this.server
    this.server = undefined
    server?.close()
    for (const c of this.connections) c.close('fin')
  }

  private accept(client: Socket): void {
    client.on('error', () => {
      // Reported through 'close' by the Connection, or ignored before it exists.
    })
    const target = splitHostPort(this.upstream)
    const port = 'error' in target ? target : lookupPort(target.port)
    if ('error' in target || 'error' in port) {
      client.end()
      return
    }
    const upstream = connect({
      host: target.host,
      port: port.port,
      allowHalfOpen: true,
    })
    upstream.on('error', () => {
      // An unreachable upstream: the client sees a clean close (FIN), as with the real one.
      client.end()
      setTimeout(() => client.destroy(), 1_000).unref()
    })
    upstream.once('connect', () => {
      if (!this.enabled || client.destroyed) {
        upstream.destroy()
        client.destroy()
        return
      }
      const connection = new Connection(
        client,
        upstream,
        () => this.toxics,
        c => this.connections.delete(c),
      )
      this.connections.add(connection)
    })
  }
}
