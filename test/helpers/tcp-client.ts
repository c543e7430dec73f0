// Client side of data-path tests: connect to 127.0.0.1, read to the end, time out loudly.
import { once } from 'node:events'
import { connect } from 'node:net'
import type { Socket } from 'node:net'
import type { Teardown } from './tcp-member.js'

/**
 * Connects to 127.0.0.1:port, half-open allowed (the peer's FIN does not end our writes);
 * destroyed in teardown. Errors are left to 'close' (hadError).
 */
export async function openClient(
  t: Teardown,
  port: number,
  signal: AbortSignal,
): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true })
  t.teardown(() => socket.destroy())
  socket.on('error', () => undefined)
  await once(socket, 'connect', { signal })
  return socket
}

/** Everything `socket` receives until its peer ends; rejects on reset or when `signal` aborts. */
export function readToEnd(socket: Socket, signal: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    const onAbort = (): void => {
      cleanup()
      reject(new Error(`no end after ${chunks.length} chunks: ${String(signal.reason)}`))
    }
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk)
    }
    const onEnd = (): void => {
      cleanup()
      resolve(Buffer.concat(chunks))
    }
    const onClose = (): void => {
      cleanup()
      reject(new Error('closed before end'))
    }
    const cleanup = (): void => {
      signal.removeEventListener('abort', onAbort)
      socket.removeListener('data', onData)
      socket.removeListener('end', onEnd)
      socket.removeListener('close', onClose)
    }
    if (signal.aborted) {
      onAbort()
      return
    }
    signal.addEventListener('abort', onAbort)
    socket.on('data', onData)
    socket.on('end', onEnd)
    socket.on('close', onClose)
  })
}

/**
 * One short connection through 127.0.0.1:port: connect, write `payload` at once (before
 * the proxy has reached a member), half-close, and return what came back.
 */
export async function roundTrip(
  port: number,
  payload: Buffer,
  signal: AbortSignal,
): Promise<Buffer> {
  const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true })
  socket.on('error', () => undefined)
  try {
    await once(socket, 'connect', { signal })
    const reply = readToEnd(socket, signal)
    socket.end(payload)
    return await reply
  } finally {
    socket.destroy()
  }
}

/** Resolves when `socket` has closed (whatever the reason); rejects when `signal` aborts. */
export async function closed(socket: Socket, signal: AbortSignal): Promise<void> {
  if (socket.closed) return
  await once(socket, 'close', { signal })
}

/**
 * Reads `socket` until its peer closes it (FIN or reset, whichever comes) and resolves
 * with the number of bytes that arrived meanwhile; rejects when `signal` aborts.
 */
export function untilPeerCloses(socket: Socket, signal: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    let bytes = 0
    const onData = (chunk: Buffer): void => {
      bytes += chunk.length
    }
    const onDone = (): void => {
      cleanup()
      resolve(bytes)
    }
    const onAbort = (): void => {
      cleanup()
      reject(new Error(`peer did not close: ${String(signal.reason)}`))
    }
    const cleanup = (): void => {
      socket.removeListener('data', onData)
      socket.removeListener('end', onDone)
      socket.removeListener('close', onDone)
      signal.removeEventListener('abort', onAbort)
    }
    if (socket.closed || socket.readableEnded) {
      resolve(0)
      return
    }
    if (signal.aborted) {
      onAbort()
      return
    }
    socket.on('data', onData)
    socket.on('end', onDone)
    socket.on('close', onDone)
    signal.addEventListener('abort', onAbort)
  })
}
