// Plain TCP members for data-path tests: a server on 127.0.0.1 that hands each accepted
// socket to a handler, remembers its sockets and can be killed mid-test.
import { EventEmitter, once } from 'node:events'
import { createServer } from 'node:net'
import type { Socket } from 'node:net'

/** The part of a tap test the helpers need. */
export interface Teardown {
  teardown(fn: () => unknown): void
}

/** What a member does with one accepted connection. */
export type MemberHandler = (socket: Socket) => void

/** Sends every byte back and ends when the peer ends (stream.pipe keeps back-pressure). */
export function echo(socket: Socket): void {
  socket.pipe(socket)
}

/** Does nothing: the test drives the socket itself (see `takeSocket`). */
export const manual: MemberHandler = () => undefined

/** Reads nothing and writes nothing: bytes stay in the kernel until a test resumes it. */
export function stalled(socket: Socket): void {
  socket.pause()
}

/** A running member; killed in `t.teardown` by `startTcpMember`. */
export interface TcpMember {
  /** The port it listens on (bound as port 0). */
  readonly port: number
  /** Connections accepted so far. */
  readonly accepted: number
  /** Sockets open now. */
  readonly sockets: ReadonlySet<Socket>
  /** The oldest accepted socket not taken yet; waits for one if none; rejects when `signal` aborts. */
  takeSocket(signal: AbortSignal): Promise<Socket>
  /** Stops listening and destroys every open socket (a member process dying). */
  kill(): Promise<void>
}

/** Starts a member on 127.0.0.1 and a free port; half-open sockets allowed. */
export async function startTcpMember(
  t: Teardown,
  handler: MemberHandler = echo,
): Promise<TcpMember> {
  const sockets = new Set<Socket>()
  const untaken: Socket[] = []
  const events = new EventEmitter()
  let accepted = 0
  const server = createServer({ allowHalfOpen: true }, socket => {
    accepted++
    sockets.add(socket)
    untaken.push(socket)
    socket.on('close', () => sockets.delete(socket))
    // Resets are expected when a test kills a member or a relay.
    socket.on('error', () => undefined)
    handler(socket)
    events.emit('socket')
  })
  server.listen({ host: '127.0.0.1', port: 0 })
  await once(server, 'listening')
  const address = server.address()
  if (address === null || typeof address === 'string')
    throw new Error('expected a TCP address')
  let killed: Promise<void> | undefined
  const kill = (): Promise<void> => {
    if (killed === undefined) {
      const closed = once(server, 'close').then(() => undefined)
      server.close()
      for (const socket of sockets) socket.destroy()
      killed = closed
    }
    return killed
  }
  t.teardown(kill)
  return {
    port: address.port,
    get accepted() {
      return accepted
    },
    sockets,
    takeSocket: async signal => {
      for (;;) {
        const socket = untaken.shift()
        if (socket !== undefined) return socket
        await once(events, 'socket', { signal })
      }
    },
    kill,
  }
}
