// A raw TCP connection that speaks just enough HTTP/1.1 keep-alive to send several
// requests over ONE connection: proves a connection survives a reload or a drain.
import { once } from 'node:events'
import { connect, type Socket } from 'node:net'

/** One persistent client connection. */
export interface RawHttpConnection {
  readonly socket: Socket
  /** Sends GET `path` and resolves with the response body (Content-Length framed). */
  get(path?: string, timeoutMs?: number): Promise<string>
  close(): void
}

/** Opens a TCP connection to 127.0.0.1:port. */
export async function openRawHttp(port: number): Promise<RawHttpConnection> {
  const socket = connect({ host: '127.0.0.1', port })
  await once(socket, 'connect', { signal: AbortSignal.timeout(5_000) })
  let buffer = ''
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => (buffer += chunk))
  return {
    socket,
    get: async (path = '/', timeoutMs = 5_000) => {
      buffer = ''
      socket.write(`GET ${path} HTTP/1.1\r\nHost: test\r\nConnection: keep-alive\r\n\r\n`)
      const deadline = AbortSignal.timeout(timeoutMs)
      for (;;) {
        const head = buffer.indexOf('\r\n\r\n')
        const length = /content-length:\s*(\d+)/i.exec(buffer)
        if (
          head >= 0 &&
          length?.[1] !== undefined &&
          buffer.length >= head + 4 + Number(length[1])
        ) {
          return buffer.slice(head + 4, head + 4 + Number(length[1]))
        }
        if (socket.destroyed)
          throw new Error(`connection closed; got ${JSON.stringify(buffer)}`)
        await Promise.race([
          once(socket, 'data', { signal: deadline }),
          once(socket, 'close', { signal: deadline }),
        ])
      }
    },
    close: () => {
      socket.destroy()
    },
  }
}
