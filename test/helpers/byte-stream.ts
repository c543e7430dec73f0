// Bulk byte streams for data-path tests: send pseudo-random bytes with back-pressure and
// hash what arrives, so both ends can be compared by sha256 without keeping the data.
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import type { Socket } from 'node:net'

/** Size of each write; pseudo-random per chunk, so a reordered or repeated chunk shows. */
const CHUNK_BYTES = 256 * 1024

/** A send in progress. */
export interface Sending {
  /** Bytes the socket has accepted so far (write() called). */
  readonly written: number
  /** sha256 (hex) of everything sent; resolves after end() once all bytes are written. */
  readonly sha256: Promise<string>
}

/**
 * Writes `totalBytes` pseudo-random bytes to `socket`, waiting for 'drain' whenever
 * write() returns false (so the writer's own memory stays bounded), then ends it.
 */
export function sendRandom(
  socket: Socket,
  totalBytes: number,
  signal: AbortSignal,
): Sending {
  let written = 0
  const hash = createHash('sha256')
  const run = async (): Promise<string> => {
    while (written < totalBytes) {
      const chunk = randomBytes(Math.min(CHUNK_BYTES, totalBytes - written))
      hash.update(chunk)
      written += chunk.length
      if (!socket.write(chunk)) await once(socket, 'drain', { signal })
    }
    socket.end()
    return hash.digest('hex')
  }
  const sha256 = run()
  return {
    get written() {
      return written
    },
    sha256,
  }
}

/** What arrived on a socket. */
export interface Received {
  readonly bytes: number
  readonly sha256: string
}

/** Hashes everything `socket` receives until its peer ends; rejects on a close first or abort. */
export function receiveHashed(socket: Socket, signal: AbortSignal): Promise<Received> {
  return new Promise((resolve, reject) => {
    let bytes = 0
    const hash = createHash('sha256')
    const onData = (chunk: Buffer): void => {
      bytes += chunk.length
      hash.update(chunk)
    }
    const onEnd = (): void => {
      cleanup()
      resolve({ bytes, sha256: hash.digest('hex') })
    }
    const onClose = (): void => {
      cleanup()
      reject(new Error(`closed before end after ${bytes} bytes`))
    }
    const onAbort = (): void => {
      cleanup()
      reject(new Error(`no end after ${bytes} bytes: ${String(signal.reason)}`))
    }
    const cleanup = (): void => {
      socket.removeListener('data', onData)
      socket.removeListener('end', onEnd)
      socket.removeListener('close', onClose)
      signal.removeEventListener('abort', onAbort)
    }
    if (signal.aborted) {
      onAbort()
      return
    }
    socket.on('data', onData)
    socket.on('end', onEnd)
    socket.on('close', onClose)
    signal.addEventListener('abort', onAbort)
  })
}

/** sha256 (hex) of a buffer. */
export function sha256Of(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex')
}
