// A chaos replica process: the replica handler on an HTTP port and a TLS port, printing
// one JSON line {"httpPort","tlsPort"} once both listen. Run by chaos/replica/process.ts;
// SIGKILL/SIGSTOP-able, and restartable on the same ports.
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import { parseArgs } from 'node:util'
import { replicaHandler } from './app.js'

const { values } = parseArgs({
  options: {
    id: { type: 'string', default: 'replica' },
    'http-port': { type: 'string', default: '0' },
    'tls-port': { type: 'string', default: '0' },
    cert: { type: 'string' },
    key: { type: 'string' },
    backlog: { type: 'string', default: '511' },
    // Its own loopback address (127.0.0.2-.9), as DNS-discovered tasks have.
    host: { type: 'string', default: '127.0.0.1' },
  },
})
if (values.cert === undefined || values.key === undefined) {
  process.stderr.write('replica: --cert FILE and --key FILE are required (PEM)\n')
  process.exit(2)
}
const handler = replicaHandler(values.id)
const http = createServer(handler)
const tls = createTlsServer(
  { cert: readFileSync(values.cert), key: readFileSync(values.key) },
  handler,
)
// A small backlog makes a SIGSTOPped replica a black hole quickly: once the accept queue
// is full the kernel drops SYNs and connects time out (see test/helpers/blackhole.ts).
const backlog = Number(values.backlog)
http.listen({ port: Number(values['http-port']), host: values.host, backlog })
tls.listen({ port: Number(values['tls-port']), host: values.host, backlog })
await Promise.all([once(http, 'listening'), once(tls, 'listening')])
const port = (s: typeof http | typeof tls): number => {
  const a = s.address()
  return a !== null && typeof a === 'object' ? a.port : 0
}
process.stdout.write(`${JSON.stringify({ httpPort: port(http), tlsPort: port(tls) })}\n`)
process.once('SIGTERM', () => process.exit(0))
