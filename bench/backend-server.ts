// Child process: the members the proxies relay to. Started by backends.ts with a JSON
// list of servers; each listens on 127.0.0.1 port 0 and the ports are printed as one JSON
// line. Kinds:
//   http  fixed 200 "ok" to every request, /health included (http-responder.ts); counts
//         requests
//   hold  keeps connections open until the peer closes, sending nothing; counts them
//   tag   writes "<tag>\n" to each connection and closes it (which member answered?)
// stdin: "stats" prints {"stats":{"requests":[...],"held":[...]}} (one entry per server).

import { createServer, type Server, type Socket } from 'node:net'
import { createInterface } from 'node:readline'
import { answerRequests } from './http-responder.js'

/** One server the child runs. */
export type ServerSpec =
  | { readonly kind: 'http' }
  | { readonly kind: 'hold' }
  | { readonly kind: 'tag'; readonly tag: string }

const BACKLOG = 4096
/** Most bytes of an unfinished request head kept; more is a broken client. */
const MAX_HEAD_BYTES = 16_384

function parseSpecs(text: string | undefined): ServerSpec[] {
  const parsed: unknown = JSON.parse(text ?? '[]')
  if (!Array.isArray(parsed)) throw new Error('expected a JSON array of server specs')
  return parsed.map((item: unknown, i): ServerSpec => {
    if (typeof item !== 'object' || item === null || !('kind' in item)) {
      throw new Error(`servers[${i}]: expected an object with a kind`)
    }
    if (item.kind === 'http' || item.kind === 'hold') return { kind: item.kind }
    if (item.kind === 'tag' && 'tag' in item && typeof item.tag === 'string') {
      return { kind: 'tag', tag: item.tag }
    }
    throw new Error(`servers[${i}]: unknown kind`)
  })
}

async function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen({ port: 0, host: '127.0.0.1', backlog: BACKLOG }, () => {
      const address = server.address()
      if (address !== null && typeof address === 'object') resolve(address.port)
      else reject(new Error('no port'))
    })
  })
}

async function main(): Promise<void> {
  const specs = parseSpecs(process.argv[2])
  const requests = specs.map(() => 0)
  const held = specs.map(() => 0)
  const holding = new Set<Socket>()
  const ports: number[] = []
  for (const [i, spec] of specs.entries()) {
    let server: Server
    switch (spec.kind) {
      case 'http':
        server = createServer(socket => {
          let pending = ''
          socket.setNoDelay(true)
          socket.on('error', () => socket.destroy())
          socket.on('data', (chunk: Buffer) => {
            const r = answerRequests(pending + chunk.toString('latin1'), b =>
              socket.write(b),
            )
            requests[i] = (requests[i] ?? 0) + r.answered
            pending = r.rest
            if (r.close || pending.length > MAX_HEAD_BYTES) socket.end()
          })
        })
        break
      case 'hold':
        server = createServer(socket => {
          held[i] = (held[i] ?? 0) + 1
          holding.add(socket)
          socket.on('error', () => socket.destroy())
          // Read (and drop) so a FIN passed on by the proxy closes the connection, as a
          // real member would; a paused socket never sees the end of its stream.
          socket.resume()
          socket.on('close', () => {
            held[i] = (held[i] ?? 0) - 1
            holding.delete(socket)
          })
        })
        break
      case 'tag': {
        const line = `${spec.tag}\n`
        server = createServer(socket => {
          requests[i] = (requests[i] ?? 0) + 1
          socket.on('error', () => socket.destroy())
          socket.end(line)
        })
        break
      }
      default: {
        const never: never = spec
        throw new Error(`unknown server ${JSON.stringify(never)}`)
      }
    }
    ports.push(await listen(server))
  }
  createInterface({ input: process.stdin }).on('line', line => {
    if (line.trim() === 'stats') {
      process.stdout.write(JSON.stringify({ stats: { requests, held } }) + '\n')
    }
  })
  // The harness owns this process; losing it (stdin closed) means the harness is gone.
  process.stdin.on('end', () => process.exit(0))
  process.stdout.write(JSON.stringify({ ready: true, ports }) + '\n')
}

main().catch((err: unknown) => {
  process.stderr.write(`backend-server: ${String(err)}\n`)
  process.exit(1)
})
