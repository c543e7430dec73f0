// The PROXY protocol header of one relayed connection, from the client's endpoints,
// the SNI of its first bytes (v2 AUTHORITY) and its access-log id (v2 UNIQUE_ID). Shared
// by the JS relay and the native ones; proxy-header.ts does the encoding.
import type { ProxyProtocolVersion } from '../config/proxy-protocol-schema.js'
import { proxyHeader } from './proxy-header.js'
import { peekSni } from './sni.js'

/** The two ends of a client connection as a socket reports them (absent once closed). */
export interface ClientEndpoints {
  readonly remoteAddress?: string | null | undefined
  readonly remotePort?: number | null | undefined
  readonly localAddress?: string | null | undefined
  readonly localPort?: number | null | undefined
}

/** What a relay's header carries besides the endpoints (v2 only). */
export interface RelayHeaderExtras {
  /** The client's first bytes, when already read: their TLS SNI is the AUTHORITY. */
  readonly first?: Buffer | null
  /** The SNI when already known (the access log peeked it). */
  readonly sni?: string | null
  /** The access log's connection id, when the log is on. */
  readonly uniqueId?: string | null
}

/**
 * The header for a connection to a member using `version` ("off": undefined); also
 * undefined when the client's endpoints are unknown (the client already left).
 */
export function relayProxyHeader(
  version: ProxyProtocolVersion,
  client: ClientEndpoints,
  extras: RelayHeaderExtras = {},
): Buffer | undefined {
  if (version === 'off') return undefined
  const { remoteAddress, remotePort, localAddress, localPort } = client
  if (
    typeof remoteAddress !== 'string' ||
    typeof localAddress !== 'string' ||
    typeof remotePort !== 'number' ||
    typeof localPort !== 'number'
  )
    return undefined
  const endpoints = {
    sourceAddress: remoteAddress,
    sourcePort: remotePort,
    destinationAddress: localAddress,
    destinationPort: localPort,
  }
  if (version === 'v1') return proxyHeader('v1', endpoints)
  const first = extras.first ?? null
  const authority = extras.sni ?? (first !== null ? peekSni(first) : null)
  return proxyHeader('v2', endpoints, { authority, uniqueId: extras.uniqueId ?? null })
}
