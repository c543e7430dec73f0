// PROXY protocol headers (HAProxy doc/proxy-protocol.txt, versions 1 and 2): what corral
// writes to a member before any client byte so that the member sees the real client
// address instead of corral's. Pure: bytes in, bytes out; no sockets, no clock.
//
// v1 is one text line, "PROXY TCP4 <src> <dst> <srcport> <dstport>\r\n" (TCP6 for
// IPv6). v2 is binary: a 12-byte signature, version/command, family/transport, a 16-bit
// length, the address block, then TLVs. The LOCAL command (a connection the proxy made
// on its own, e.g. a health check) carries no address: receivers use the real endpoints.

import type { ProxyProtocolVersion } from '../config/proxy-protocol-schema.js'

/** The two ends of the client's connection to corral. */
export interface ProxyEndpoints {
  /** The client's address and port. */
  readonly sourceAddress: string
  readonly sourcePort: number
  /** The address and port the client connected to (corral's socket local address). */
  readonly destinationAddress: string
  readonly destinationPort: number
}

/** Optional v2 TLVs. */
export interface ProxyHeaderTlvs {
  /** PP2_TYPE_AUTHORITY: the host name the client asked for (TLS SNI). */
  readonly authority?: string | null
  /** PP2_TYPE_UNIQUE_ID: the connection's id (the access log's), at most 128 bytes. */
  readonly uniqueId?: string | null
}

/** The v2 signature: "\r\n\r\n\0\r\nQUIT\n". */
const V2_SIGNATURE = Buffer.from([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
])
/** Version 2 in the high nibble; command LOCAL (0) or PROXY (1) in the low one. */
const V2_LOCAL = 0x20
const V2_PROXY = 0x21
/** Address family in the high nibble, transport in the low one (1 = STREAM). */
const TCP_OVER_IPV4 = 0x11
const TCP_OVER_IPV6 = 0x21
const PP2_TYPE_AUTHORITY = 0x02
const PP2_TYPE_UNIQUE_ID = 0x05
/** The spec caps the unique id at 128 bytes. */
const MAX_UNIQUE_ID_BYTES = 128
/** A DNS name is at most 253 bytes; longer is not an SNI corral should pass on. */
const MAX_AUTHORITY_BYTES = 253

/**
 * The v2 header of a connection corral opens on its own (health checks): LOCAL command,
 * family UNSPEC, no address, exactly 16 bytes, as HAProxy sends for its checks.
 */
export const PROXY_V2_LOCAL: Buffer = Buffer.concat([
  V2_SIGNATURE,
  Buffer.from([V2_LOCAL, 0x00, 0x00, 0x00]),
])

/** An address parsed to bytes: 4 for IPv4 (IPv4-mapped IPv6 included), 16 for IPv6. */
type AddressBytes = Uint8Array

const IPV4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/

function ipv4Bytes(text: string): AddressBytes | undefined {
  const m = IPV4_RE.exec(text)
  if (m === null) return undefined
  const bytes = m.slice(1, 5).map(Number)
  return bytes.every(b => b <= 255) ? Uint8Array.from(bytes) : undefined
}

/** Parses an IPv6 address ("::" compression, an embedded IPv4 tail, a %zone dropped). */
function ipv6Bytes(text: string): AddressBytes | undefined {
  const address = text.replace(/%.*$/, '')
  const halves = address.split('::')
  if (halves.length > 2) return undefined
  const groups = (part: string | undefined): number[] | undefined => {
    if (part === undefined || part === '') return []
    const out: number[] = []
    const pieces = part.split(':')
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i] ?? ''
      if (i === pieces.length - 1 && piece.includes('.')) {
        const v4 = ipv4Bytes(piece)
        if (v4 === undefined) return undefined
        out.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0))
      } else if (/^[0-9a-fA-F]{1,4}$/.test(piece)) {
        out.push(parseInt(piece, 16))
      } else return undefined
    }
    return out
  }
  const head = groups(halves[0])
  const tail = groups(halves[1])
  if (head === undefined || tail === undefined) return undefined
  const missing = 8 - head.length - tail.length
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail]
  const bytes = new Uint8Array(16)
  all.forEach((g, i) => {
    bytes[2 * i] = g >> 8
    bytes[2 * i + 1] = g & 0xff
  })
  return bytes
}

/** Whether 16 bytes are an IPv4-mapped IPv6 address (::ffff:a.b.c.d). */
function isV4Mapped(b: AddressBytes): boolean {
  if (b.length !== 16 || b[10] !== 0xff || b[11] !== 0xff) return false
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false
  return true
}

/**
 * An address as bytes, IPv4-mapped IPv6 normalised to IPv4 (a dual-stack listener
 * reports IPv4 clients as ::ffff:1.2.3.4; the member should see 1.2.3.4). Undefined
 * when `text` is not an IP address.
 */
export function addressBytes(text: string): AddressBytes | undefined {
  const v4 = ipv4Bytes(text)
  if (v4 !== undefined) return v4
  const v6 = ipv6Bytes(text)
  if (v6 === undefined) return undefined
  return isV4Mapped(v6) ? v6.subarray(12) : v6
}

/** IPv4 bytes as an IPv4-mapped IPv6 address (when the other end is IPv6). */
function mapToV6(b: AddressBytes): AddressBytes {
  if (b.length === 16) return b
  const out = new Uint8Array(16)
  out[10] = 0xff
  out[11] = 0xff
  out.set(b, 12)
  return out
}

/** Text of address bytes: dotted quad, or RFC 5952 IPv6 (longest zero run as "::"). */
function addressText(b: AddressBytes): string {
  if (b.length === 4) return Array.from(b).join('.')
  const groups: number[] = []
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] ?? 0) << 8) | (b[i + 1] ?? 0))
  let bestAt = -1
  let bestLength = 1
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLength) {
      bestAt = i
      bestLength = j - i
    }
    i = j
  }
  const hex = groups.map(g => g.toString(16))
  if (bestAt < 0) return hex.join(':')
  return `${hex.slice(0, bestAt).join(':')}::${hex.slice(bestAt + bestLength).join(':')}`
}

/** Both addresses of `e` in one family (IPv4 only if both are), or undefined. */
function pair(
  e: ProxyEndpoints,
): { readonly src: AddressBytes; readonly dst: AddressBytes } | undefined {
  const src = addressBytes(e.sourceAddress)
  const dst = addressBytes(e.destinationAddress)
  if (src === undefined || dst === undefined) return undefined
  if (!validPort(e.sourcePort) || !validPort(e.destinationPort)) return undefined
  if (src.length === dst.length) return { src, dst }
  return { src: mapToV6(src), dst: mapToV6(dst) }
}

function validPort(port: number): boolean {
  return Number.isInteger(port) && port >= 0 && port <= 65535
}

/**
 * The v1 line for a TCP connection, e.g. "PROXY TCP4 10.0.0.5 10.0.0.1 51234 443\r\n";
 * undefined when an address is not an IP address or a port is out of range (a socket
 * already closed reports none), for the caller to decide: corral then sends nothing.
 */
export function proxyHeaderV1(e: ProxyEndpoints): Buffer | undefined {
  const p = pair(e)
  if (p === undefined) return undefined
  const family = p.src.length === 4 ? 'TCP4' : 'TCP6'
  return Buffer.from(
    `PROXY ${family} ${addressText(p.src)} ${addressText(p.dst)} ${String(e.sourcePort)} ${String(e.destinationPort)}\r\n`,
    'latin1',
  )
}

/** One TLV, or nothing when the value is absent, empty or longer than `max` bytes. */
function tlv(type: number, value: string | null | undefined, max: number): Buffer[] {
  if (value === undefined || value === null || value === '') return []
  const bytes = Buffer.from(value, 'utf8')
  if (bytes.length > max) return []
  const head = Buffer.from([type, bytes.length >> 8, bytes.length & 0xff])
  return [head, bytes]
}

/**
 * The v2 header with the PROXY command for a TCP connection (IPv4 or IPv6), with the
 * AUTHORITY and UNIQUE_ID TLVs when given; undefined as for proxyHeaderV1.
 */
export function proxyHeaderV2(
  e: ProxyEndpoints,
  tlvs: ProxyHeaderTlvs = {},
): Buffer | undefined {
  const p = pair(e)
  if (p === undefined) return undefined
  const v4 = p.src.length === 4
  const ports = Buffer.alloc(4)
  ports.writeUInt16BE(e.sourcePort, 0)
  ports.writeUInt16BE(e.destinationPort, 2)
  const tail = [
    Buffer.from(p.src),
    Buffer.from(p.dst),
    ports,
    ...tlv(PP2_TYPE_AUTHORITY, tlvs.authority, MAX_AUTHORITY_BYTES),
    ...tlv(PP2_TYPE_UNIQUE_ID, tlvs.uniqueId, MAX_UNIQUE_ID_BYTES),
  ]
  const length = tail.reduce((n, b) => n + b.length, 0)
  const meta = Buffer.from([
    V2_PROXY,
    v4 ? TCP_OVER_IPV4 : TCP_OVER_IPV6,
    length >> 8,
    length & 0xff,
  ])
  return Buffer.concat([V2_SIGNATURE, meta, ...tail], 16 + length)
}

/**
 * The header for `version` (undefined for "off", or when the endpoints are not IP
 * addresses). v1 carries no TLVs.
 */
export function proxyHeader(
  version: ProxyProtocolVersion,
  e: ProxyEndpoints,
  tlvs: ProxyHeaderTlvs = {},
): Buffer | undefined {
  switch (version) {
    case 'off':
      return undefined
    case 'v1':
      return proxyHeaderV1(e)
    case 'v2':
      return proxyHeaderV2(e, tlvs)
    default: {
      const unknown: never = version
      throw new Error(`unknown PROXY protocol version ${String(unknown)}`)
    }
  }
}
