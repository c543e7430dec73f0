// PROXY protocol on health checks (issue #23): a member that expects the header on every
// connection rejects a check without one. The header goes on the raw TCP socket first,
// before any HTTP byte and, for HTTPS, before the TLS handshake (the TLS session then
// runs over that socket), as HAProxy's `check-send-proxy` does.
import { connect, type Socket } from 'node:net'
import type { buildConnector } from 'undici'
import type { ProxyProtocolVersion } from '../config/proxy-protocol-schema.js'
import { PROXY_V2_LOCAL, proxyHeader } from '../proxy/proxy-header.js'

/** How a check sends the header: its version, and for v2 LOCAL or the socket's endpoints. */
export interface CheckProxyProtocol {
  readonly version: ProxyProtocolVersion
  /** v2 only: "local" sends the LOCAL command; "socket" a PROXY command (see below). */
  readonly source: 'local' | 'socket'
}

/**
 * The header a check writes on its connected `socket`: the 16-byte v2 LOCAL header, or a
 * PROXY command / v1 TCP4/TCP6 line from the check socket's own endpoints (source = its
 * local end, destination = the member), never v1 UNKNOWN; undefined for "off". Throws if
 * the socket reports no endpoints (it is not connected: a bug).
 */
export function checkHeader(p: CheckProxyProtocol, socket: Socket): Buffer | undefined {
  if (p.version === 'off') return undefined
  if (p.version === 'v2' && p.source === 'local') return PROXY_V2_LOCAL
  const header = proxyHeader(p.version, {
    sourceAddress: socket.localAddress ?? '',
    sourcePort: socket.localPort ?? -1,
    destinationAddress: socket.remoteAddress ?? '',
    destinationPort: socket.remotePort ?? -1,
  })
  if (header === undefined)
    throw new Error('PROXY header for a check: the socket reports no endpoints')
  return header
}

/** A connect error with a code classifyFailure maps to "timeout". */
function connectTimeout(host: string, port: string, ms: number): Error {
  return Object.assign(
    new Error(`connect timeout ${host}:${port} after ${String(ms)}ms`),
    {
      code: 'ETIMEDOUT',
    },
  )
}

/**
 * An undici connector that opens the TCP connection itself, writes the PROXY header, then
 * hands the socket on: as is for http, to `tls` (undici's own connector, upgrading the
 * socket it is given) for https. Connect is bounded by `timeoutMs`.
 */
export function proxyProtocolConnector(
  p: CheckProxyProtocol,
  timeoutMs: number,
  tls: buildConnector.connector,
): buildConnector.connector {
  return (options, callback) => {
    const port =
      options.port === '' ? (options.protocol === 'https:' ? '443' : '80') : options.port
    const socket = connect({ host: options.hostname, port: Number(port), noDelay: true })
    let settled = false
    const fail = (err: Error): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      callback(err, null)
    }
    const timer = setTimeout(() => {
      fail(connectTimeout(options.hostname, port, timeoutMs))
    }, timeoutMs)
    timer.unref()
    socket.once('error', fail)
    socket.once('connect', () => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.removeListener('error', fail)
      // undici (or TLS) listens from here on; this keeps an error in between handled.
      socket.on('error', ignore)
      let header: Buffer | undefined
      try {
        header = checkHeader(p, socket)
      } catch (err) {
        socket.destroy()
        callback(err instanceof Error ? err : new Error(String(err)), null)
        return
      }
      if (header !== undefined) socket.write(header)
      if (options.protocol === 'https:') tls({ ...options, httpSocket: socket }, callback)
      else callback(null, socket)
    })
  }
}

function ignore(): void {
  // The socket's owner (undici, or the TLS socket over it) sees the error and reports it.
}
