// The bytes a real TLS client sends first: node:tls's ClientHello, captured by a plain
// TCP server (nothing answers it), for SNI tests.
import { once } from 'node:events'
import { createServer, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'

/** The first chunk node:tls sends for `servername` (none for undefined). */
export async function clientHello(servername: string | undefined): Promise<Buffer> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no address')
  const got = new Promise<Buffer>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error('no ClientHello within 5 s'))
    }, 5_000)
    server.once('connection', (s: Socket) => {
      s.once('data', (chunk: Buffer) => {
        clearTimeout(timer)
        resolve(chunk)
        s.destroy()
      })
    })
  })
  const client = tlsConnect({
    host: '127.0.0.1',
    port: address.port,
    ...(servername !== undefined ? { servername } : {}),
    rejectUnauthorized: false,
  })
  client.on('error', () => undefined)
  try {
    return await got
  } finally {
    client.destroy()
    server.close()
  }
}
