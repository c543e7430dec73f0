// CLI: `node dist/chaos/toxiproxy/main.js --host 127.0.0.1 --port 0` starts the stand-in
// and prints "toxiproxy stand-in listening on http://HOST:PORT"; SIGINT/SIGTERM stop it.
import { parseArgs } from 'node:util'
import { startToxiproxyStandIn } from './server.js'

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8474' },
  },
})
const port = Number(values.port)
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`--port: expected an integer 0-65535, got "${values.port}"\n`)
  process.exit(2)
}
const standIn = await startToxiproxyStandIn({ host: values.host, port })
process.stdout.write(`toxiproxy stand-in listening on ${standIn.url}\n`)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void standIn.close().then(() => process.exit(0))
  })
}
