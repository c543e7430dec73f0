// A member whose /health answer depends on which load balancer asks (header x-lb), so a
// test can make one instance see it down while the others see it up; it counts /health
// requests per asking instance (probe-budget tests). Anything else: "hello from <id>".
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

/** A running voting member on 127.0.0.1. */
export interface VotingMember {
  readonly id: string
  readonly port: number
  /** Instances (x-lb values) that get 503 from /health. */
  readonly failFor: Set<string>
  /** /health requests so far, by x-lb value. */
  readonly probes: Map<string, number>
  close(): Promise<void>
}

/** Starts a voting member on an OS-assigned port. */
export async function startVotingMember(id: string): Promise<VotingMember> {
  const failFor = new Set<string>()
  const probes = new Map<string, number>()
  const server = createServer((req, res) => {
    if (req.url === '/health') {
      const lb = String(req.headers['x-lb'] ?? '')
      probes.set(lb, (probes.get(lb) ?? 0) + 1)
      const fail = failFor.has(lb) || failFor.has('*')
      res.writeHead(fail ? 503 : 200, { 'content-type': 'text/plain' })
      res.end(fail ? 'unhealthy\n' : 'ok\n')
      return
    }
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.end(`hello from ${id}\n`)
  })
  server.keepAliveTimeout = 60_000
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    id,
    port,
    failFor,
    probes,
    close: async () => {
      server.closeAllConnections()
      server.close()
      await once(server, 'close')
    },
  }
}
