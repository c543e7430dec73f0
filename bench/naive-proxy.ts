// Child process: the naive Node relay PERF-NOTES.md measures, `a.pipe(b); b.pipe(a)`,
// as the floor a Node proxy should beat. No health checks, one member.
// Usage: node naive-proxy.js <listenPort|0> <memberHost> <memberPort>
// Prints {"ready":true,"port":N} once listening.

import { connect, createServer } from 'node:net'

const [listenArg = '0', host = '127.0.0.1', portArg = ''] = process.argv.slice(2)
const memberPort = Number(portArg)
if (!Number.isInteger(memberPort) || memberPort <= 0) {
  process.stderr.write('usage: naive-proxy <listenPort> <memberHost> <memberPort>\n')
  process.exit(2)
}

const server = createServer(client => {
  const member = connect(memberPort, host)
  client.pipe(member)
  member.pipe(client)
  client.on('error', () => member.destroy())
  member.on('error', () => client.destroy())
})

server.listen({ port: Number(listenArg), host: '127.0.0.1', backlog: 4096 }, () => {
  const address = server.address()
  const port = address !== null && typeof address === 'object' ? address.port : 0
  process.stdout.write(JSON.stringify({ ready: true, port }) + '\n')
})
process.on('SIGTERM', () => process.exit(0))
