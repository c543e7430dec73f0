// Members that expect a PROXY protocol header, for tests: the header is framed here
// (v1 up to its CRLF, v2 by its length field) and parsed by proxy-protocol-js, an
// independent implementation (a devDependency: tests only), which checks it the way a
// receiver would. TLVs, which that parser leaves as bytes, are split here.
import { Duplex } from 'node:stream'
import type { Socket } from 'node:net'
import { TLSSocket, type SecureContextOptions } from 'node:tls'
import {
  Command,
  INETProtocol,
  IPv4ProxyAddress,
  IPv6ProxyAddress,
  V1ProxyProtocol,
  V2ProxyProtocol,
} from 'proxy-protocol-js'

const V2_SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex')
const V1_SIGNATURE = Buffer.from('PROXY ')
/** The longest v1 line (spec: 107 bytes). */
const V1_MAX = 107

/** One TLV of a v2 header. */
export interface Tlv {
  readonly type: number
  readonly value: string
}

/** What a member received before the client's bytes, as the parser read it. */
export interface ParsedHeader {
  /** 0: no header at all (the client's bytes came first). */
  readonly version: 0 | 1 | 2
  /** The header's exact bytes, hex. */
  readonly hex: string
  readonly command?: 'PROXY' | 'LOCAL'
  readonly family?: 'TCP4' | 'TCP6' | 'UNSPEC'
  readonly source?: string
  readonly sourcePort?: number
  readonly destination?: string
  readonly destinationPort?: number
  readonly tlvs: readonly Tlv[]
}

/** The header's length at the start of `data`: 0 none, -1 need more bytes, else bytes. */
export function headerLength(data: Buffer): number {
  const prefix = (sig: Buffer): boolean =>
    data
      .subarray(0, sig.length)
      .equals(sig.subarray(0, Math.min(sig.length, data.length)))
  if (prefix(V2_SIGNATURE)) {
    if (data.length < 16) return -1
    const total = 16 + data.readUInt16BE(14)
    return data.length >= total ? total : -1
  }
  if (prefix(V1_SIGNATURE)) {
    const end = data.indexOf('\r\n')
    if (end < 0) return data.length >= V1_MAX ? 0 : -1
    return end + 2
  }
  return 0
}

function ipv4(bytes: readonly number[]): string {
  return bytes.join('.')
}

function ipv6(bytes: readonly number[]): string {
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2)
    groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16))
  return groups.join(':')
}

/** Splits a v2 header's TLV area. */
function tlvsOf(area: Uint8Array): Tlv[] {
  const out: Tlv[] = []
  const b = Buffer.from(area)
  for (let at = 0; at + 3 <= b.length;) {
    const len = b.readUInt16BE(at + 1)
    out.push({
      type: b[at] ?? 0,
      value: b.subarray(at + 3, at + 3 + len).toString('utf8'),
    })
    at += 3 + len
  }
  return out
}

/** Parses a framed header (see headerLength) with proxy-protocol-js. */
export function parseHeader(header: Buffer): ParsedHeader {
  const hex = header.toString('hex')
  if (header.length === 0) return { version: 0, hex, tlvs: [] }
  if (header[0] === 0x50) {
    const p = V1ProxyProtocol.parse(header.toString('latin1'))
    return {
      version: 1,
      hex,
      command: 'PROXY',
      family: p.inetProtocol === INETProtocol.TCP6 ? 'TCP6' : 'TCP4',
      source: p.source.ipAddress,
      sourcePort: p.source.port,
      destination: p.destination.ipAddress,
      destinationPort: p.destination.port,
      tlvs: [],
    }
  }
  const p = V2ProxyProtocol.parse(new Uint8Array(header))
  const a = p.proxyAddress
  const command = p.command === Command.LOCAL ? 'LOCAL' : 'PROXY'
  if (a instanceof IPv4ProxyAddress || a instanceof IPv6ProxyAddress) {
    const v4 = a instanceof IPv4ProxyAddress
    const text = v4 ? ipv4 : ipv6
    return {
      version: 2,
      hex,
      command,
      family: v4 ? 'TCP4' : 'TCP6',
      source: text(a.sourceAddress.address),
      sourcePort: a.sourcePort,
      destination: text(a.destinationAddress.address),
      destinationPort: a.destinationPort,
      tlvs: tlvsOf(p.data ?? new Uint8Array()),
    }
  }
  return {
    version: 2,
    hex,
    command,
    family: 'UNSPEC',
    tlvs: tlvsOf(p.data ?? new Uint8Array()),
  }
}

/**
 * Reads the header off `socket` (none is fine), then calls `then` with it and the bytes
 * after it; reading stops meanwhile. A malformed header destroys the socket.
 */
export function readHeader(
  socket: Socket,
  then: (header: ParsedHeader, rest: Buffer) => void,
): void {
  let got = Buffer.alloc(0)
  const onData = (chunk: Buffer): void => {
    got = Buffer.concat([got, chunk])
    const n = headerLength(got)
    if (n < 0) return
    socket.removeListener('data', onData)
    socket.pause()
    let header: ParsedHeader
    try {
      header = parseHeader(got.subarray(0, n))
    } catch {
      socket.destroy()
      return
    }
    then(header, got.subarray(n))
  }
  socket.on('data', onData)
}

/** A duplex over `socket` whose readable side starts with `rest` (for TLS or HTTP after a header). */
export function streamAfter(socket: Socket, rest: Buffer): Duplex {
  const duplex = new Duplex({
    read() {
      socket.resume()
    },
    write(chunk: Buffer, _encoding, callback) {
      socket.write(chunk, callback)
    },
    final(callback) {
      socket.end()
      callback()
    },
  })
  if (rest.length > 0) duplex.push(rest)
  socket.on('data', (chunk: Buffer) => {
    if (!duplex.push(chunk)) socket.pause()
  })
  socket.on('end', () => duplex.push(null))
  socket.on('close', () => duplex.destroy())
  duplex.on('error', () => socket.destroy())
  return duplex
}

/** Reads one line (up to "\n") from `stream`; bounded by the caller's socket timeout. */
function readLine(stream: Duplex, first: Buffer, done: (line: string) => void): void {
  let got = first
  const check = (): boolean => {
    const end = got.indexOf('\n')
    if (end < 0) return false
    stream.removeListener('data', onData)
    done(got.subarray(0, end).toString('utf8'))
    return true
  }
  const onData = (chunk: Buffer): void => {
    got = Buffer.concat([got, chunk])
    check()
  }
  if (!check()) stream.on('data', onData)
}

/** What an echo member answers: the header it got and the client's first line. */
export interface EchoAnswer {
  readonly header: ParsedHeader
  readonly line: string
  readonly tls: boolean
  /** The SNI the client sent (TLS only). */
  readonly servername: string | null
}

/**
 * A member handler: reads the header, then the client's first line (inside TLS when the
 * client speaks TLS: first byte 0x16, with `tls` as the server's key pair), answers with
 * one JSON EchoAnswer line and ends.
 */
export function echoHeader(tls: SecureContextOptions | undefined) {
  return (socket: Socket): void => {
    socket.setTimeout(10_000, () => socket.destroy())
    readHeader(socket, (header, rest) => {
      const answer = (stream: Duplex, first: Buffer, servername: string | null): void => {
        readLine(stream, first, line => {
          const reply: EchoAnswer = { header, line, tls: servername !== null, servername }
          stream.end(`${JSON.stringify(reply)}\n`)
        })
      }
      // The header may come alone (the native path writes it before splicing): the
      // client's first byte, read after it, says whether it speaks TLS.
      const decide = (first: Buffer): void => {
        const plain = streamAfter(socket, first)
        if (first[0] !== 0x16 || tls === undefined) {
          answer(plain, Buffer.alloc(0), null)
          return
        }
        const secure = new TLSSocket(plain, { isServer: true, ...tls })
        secure.on('error', () => socket.destroy())
        secure.once('secure', () => {
          const name = (secure as TLSSocket & { servername?: string | false }).servername
          answer(secure, Buffer.alloc(0), typeof name === 'string' ? name : '')
        })
      }
      if (rest.length > 0) {
        decide(rest)
        return
      }
      socket.once('data', (chunk: Buffer) => {
        socket.pause()
        decide(chunk)
      })
      socket.resume()
    })
  }
}

/**
 * A health endpoint behind a PROXY header: records each connection's header, answers
 * any request with 200 and closes (so every probe opens a connection of its own).
 */
export function headerHealth(seen: ParsedHeader[]) {
  return (socket: Socket): void => {
    socket.setTimeout(10_000, () => socket.destroy())
    readHeader(socket, (header, rest) => {
      seen.push(header)
      const stream = streamAfter(socket, rest)
      let got = Buffer.alloc(0)
      const onData = (chunk: Buffer): void => {
        got = Buffer.concat([got, chunk])
        if (got.indexOf('\r\n\r\n') < 0) return
        stream.removeListener('data', onData)
        stream.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok')
      }
      stream.on('data', onData)
    })
  }
}
