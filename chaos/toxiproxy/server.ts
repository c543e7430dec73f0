// Starts the Toxiproxy stand-in: the HTTP API on host:port (port 0 = any free port).
import { once } from 'node:events'
import { createServer } from 'node:http'
import { ToxiproxyApi } from './api.js'

/** A running stand-in server. */
export interface ToxiproxyStandIn {
  /** Base URL of the API, e.g. http://127.0.0.1:8474. */
  readonly url: string
  readonly host: string
  readonly port: number
  /** Stops the API and every proxy, closing their connections. */
  close(): Promise<void>
}

/** Starts the stand-in (default 127.0.0.1, port 0) and resolves once it listens. */
export async function startToxiproxyStandIn(
  options: { host?: string; port?: number } = {},
): Promise<ToxiproxyStandIn> {
  const host = options.host ?? '127.0.0.1'
  const api = new ToxiproxyApi()
  const server = createServer((req, res) => {
    api.handle(req, res)
  })
  server.keepAliveTimeout = 1_000
  server.listen(options.port ?? 0, host)
  await once(server, 'listening')
  const address = server.address()
  const port = address !== null && typeof address === 'object' ? address.port : 0
  const urlHost = host.includes(':') ? `[${host}]` : host
  return {
    url: `http://${urlHost}:${port}`,
    host,
    port,
    close: async () => {
      api.closeAll()
      const closed = once(server, 'close')
      server.close()
      server.closeAllConnections()
      await closed
    },
  }
}
