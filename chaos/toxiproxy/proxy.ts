// One stand-in proxy: a listener that relays each accepted connection to `upstream`
// through the proxy's toxics. Start/stop/listen semantics follow Toxiproxy 2.12.0
// (shared/toxiproxy-api/README.md, "listen").
import { once } from 'node:events'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { Connection } from './connection.js'
import { toxicJson, type Direction, type Toxic } from './toxic.js'

/** A listen failure, with Go's net.Listen wording where it is known. */
export class ListenError extends Error {}

/** Splits "host:port" as Go's net.SplitHostPort does (IPv6 in brackets). */
export function splitHostPort(
  address: string,
): { host: string; port: number } | { error: string } {
  // Go's net.Listen("tcp", "") listens on every address, on a free port.
  if (address === '') return { host: '', port: 0 }
  const colon = address.lastIndexOf(':')
  if (colon < 0) return { error: `address ${address}: missing port in address` }
  let host = address.slice(0, colon)
  const portText = address.slice(colon + 1)
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
  else if (host.includes(':'))
    return { error: `address ${address}: too many colons in address` }
  const port = portText === '' ? 0 : Number(portText)
  if (!/^\d*$/.test(portText) || port > 65535) {
    return { error: `address ${address}: invalid port` }
  }
  return { host, port }
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
   * Starts listening on `listen` and rewrites it to the bound address; no-op when
   * already enabled. Throws ListenError on failure (the proxy stays disabled).
   */
  async start(): Promise<void> {
    if (this.enabled) return
    const parsed = splitHostPort(this.listen)
    if ('error' in parsed) throw new ListenError(`listen tcp: ${parsed.error}`)
    // Go resolves "localhost" to 127.0.0.1 here; an empty host listens on every address.
    const host = parsed.host === 'localhost' ? '127.0.0.1' : parsed.host
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, socket => {
      this.accept(socket)
    })
    try {
      const listening = once(server, 'listening')
      if (host === '') server.listen(parsed.port)
      else server.listen(parsed.port, host)
      await listening
    } catch (err) {
      const code = err instanceof Error && 'code' in err ? err.code : undefined
      const reason =
        code === 'EADDRINUSE'
          ? 'bind: address already in use'
          : err instanceof Error
            ? err.message
            : String(err)
      throw new ListenError(`listen tcp ${this.listen}: ${reason}`, { cause: err })
    }
    const address = server.address()
    if (address !== null && typeof address === 'object') {
      this.listen =
        address.family === 'IPv6'
          ? `[${address.address}]:${address.port}`
          : `${address.address}:${address.port}`
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
    if ('error' in target) {
      client.end()
      return
    }
    const upstream = connect({
      host: target.host,
      port: target.port,
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
