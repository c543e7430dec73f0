// Reads the server name (SNI) a TLS client asks for from the first bytes it sent: the
// ClientHello, parsed where it lies, never terminated or altered. Pure, bounded: it
// reads at most the first TLS record (≤ 16 KiB + 5), and a malformed or truncated hello
// gives null. Layout: RFC 8446 §4.1.2 (ClientHello), RFC 6066 §3 (server_name).

const HANDSHAKE = 22
const CLIENT_HELLO = 1
const SERVER_NAME = 0
const HOST_NAME = 0
/** Longest DNS name (RFC 1035). */
const MAX_NAME = 253

/** The host name in a ClientHello at the start of `data`, or null if there is none. */
export function peekSni(data: Buffer): string | null {
  // TLS record header: type, version (2), length (2).
  if (data.length < 5 || data[0] !== HANDSHAKE) return null
  const recordEnd = Math.min(data.length, 5 + data.readUInt16BE(3))
  // Handshake header: type, length (3); then version (2), random (32).
  let at = 5
  if (recordEnd < at + 4 + 34 || data[at] !== CLIENT_HELLO) return null
  at += 4 + 34
  const skip = (lengthBytes: 1 | 2): boolean => {
    if (at + lengthBytes > recordEnd) return false
    at += lengthBytes + (lengthBytes === 1 ? (data[at] ?? 0) : data.readUInt16BE(at))
    return at <= recordEnd
  }
  // Session id, cipher suites, compression methods.
  if (!skip(1) || !skip(2) || !skip(1)) return null
  if (at + 2 > recordEnd) return null
  const extensionsEnd = Math.min(recordEnd, at + 2 + data.readUInt16BE(at))
  at += 2
  while (at + 4 <= extensionsEnd) {
    const type = data.readUInt16BE(at)
    const length = data.readUInt16BE(at + 2)
    at += 4
    if (at + length > extensionsEnd) return null
    if (type === SERVER_NAME) return hostName(data, at, at + length)
    at += length
  }
  return null
}

/** The host_name entry of a server_name extension body at [start, end). */
function hostName(data: Buffer, start: number, end: number): string | null {
  if (start + 2 > end) return null
  let at = start + 2
  const listEnd = Math.min(end, at + data.readUInt16BE(start))
  while (at + 3 <= listEnd) {
    const kind = data[at]
    const length = data.readUInt16BE(at + 1)
    at += 3
    if (at + length > listEnd) return null
    if (kind === HOST_NAME) {
      if (length === 0 || length > MAX_NAME) return null
      const name = data.toString('latin1', at, at + length)
      // A host name is LDH ASCII plus dots; anything else is not logged as one.
      return /^[A-Za-z0-9._-]+$/.test(name) ? name.toLowerCase() : null
    }
    at += length
  }
  return null
}
