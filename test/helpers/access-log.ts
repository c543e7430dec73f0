// Helpers for access-log tests: a member that obeys one command line per connection,
// and a reader of the access-log file.
import { once } from 'node:events'
import { existsSync, readFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import type { Socket as NetSocket } from 'node:net'

/** Bytes of a big transfer: 8 MiB. */
export const BIG = 8 * 1024 * 1024

/**
 * Handles one member connection by its first line:
 * - "DOWNLOAD n": writes n bytes, then ends (the member closes first).
 * - "UPLOAD n": reads until the client's FIN (n bytes expected), answers "ok", ends.
 * - "RST n": writes n bytes, then resets the connection at the client's next byte.
 * - "HOLD": does nothing until the client ends, then ends.
 */
export function commandMember(socket: NetSocket): void {
  let head = ''
  const onData = (chunk: Buffer): void => {
    head += chunk.toString('latin1')
    const nl = head.indexOf('\n')
    if (nl < 0) return
    socket.off('data', onData)
    const [cmd = '', arg = '0'] = head.slice(0, nl).split(' ')
    const n = Number(arg)
    switch (cmd) {
      case 'DOWNLOAD':
        writeBytes(socket, n, () => socket.end())
        break
      case 'RST':
        // Resets once the client says it read everything: a reset with unsent bytes
        // still queued was not seen by the client on loopback.
        writeBytes(socket, n, () => {
          socket.once('data', () => socket.resetAndDestroy())
        })
        break
      case 'UPLOAD':
        socket.resume()
        socket.once('end', () => socket.end('ok'))
        break
      case 'HOLD':
        socket.resume()
        socket.once('end', () => socket.end())
        break
      default:
        socket.destroy()
    }
  }
  socket.on('data', onData)
  // A client that leaves without a command (a bare connect/close) is let go.
  socket.once('end', () => {
    if (!head.includes('\n')) socket.end()
  })
}

/** Writes n zero bytes with back-pressure, then calls `done`. */
function writeBytes(socket: NetSocket, n: number, done: () => void): void {
  const block = Buffer.alloc(65_536)
  let left = n
  const more = (): void => {
    while (left > 0) {
      const size = Math.min(left, block.length)
      left -= size
      if (!socket.write(block.subarray(0, size))) {
        socket.once('drain', more)
        return
      }
    }
    done()
  }
  more()
}

/** Connects to 127.0.0.1:port; resolves once connected. */
export async function dial(port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port })
  socket.on('error', () => undefined)
  await once(socket, 'connect', { signal: AbortSignal.timeout(5_000) })
  return socket
}

/** One parsed access-log record (fields as docs/access-log.md lists them). */
export type Rec = Record<string, unknown> & {
  type: string
  id: string
  clientPort: number | null
  closedBy: string | null
  cause: string | null
  termination: string | null
  status: number | null
  bytesToMember: number
  bytesToClient: number
  member: string | null
  attempts: { member: string; result: string }[]
  clientAddress: string | null
  localAddress: string | null
  localPort: number | null
  sni: string | null
  connectMs: number | null
  firstByteToMemberMs: number | null
  firstByteToClientMs: number | null
  durationMs: number
}

/** Every record in the files at `paths` (missing files count as empty). */
export function readRecords(...paths: string[]): Rec[] {
  const out: Rec[] = []
  for (const p of paths) {
    if (!existsSync(p)) continue
    const text = readFileSync(p, 'utf8')
    if (text.length > 0 && !text.endsWith('\n')) throw new Error(`${p}: torn last line`)
    for (const line of text.split('\n')) {
      if (line !== '') out.push(JSON.parse(line) as Rec)
    }
  }
  return out
}

/** Waits (bounded, polling the file every 20 ms) for a record matching `match`. */
export async function waitForRecord(
  path: string,
  match: (r: Rec) => boolean,
  timeoutMs = 10_000,
): Promise<Rec> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = readRecords(path).find(match)
    if (found !== undefined) return found
    if (Date.now() > deadline) throw new Error(`no matching access-log record in ${path}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}
