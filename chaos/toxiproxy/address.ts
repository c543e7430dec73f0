// TCP addresses the way Go's net package reads and prints them, for a proxy's listen
// address: net.SplitHostPort, LookupPort, ResolveTCPAddr(...).String() (which
// Proxy.Differs compares, proxy.go:139-150) and the socket net.Listen opens (an
// all-interfaces address is one dual-stack IPv6 socket, reported as [::]:port).
import { lookup } from 'node:dns/promises'
import { readFileSync } from 'node:fs'
import { isIPv4, isIPv6 } from 'node:net'

/** A resolved TCP address: ip "" means every interface (a nil IP in Go). */
export interface TcpAddr {
  readonly ip: string
  readonly port: number
}

/** Go's net.SplitHostPort (net/ipsock.go): the host without brackets and the port text. */
export function splitHostPort(
  address: string,
): { host: string; port: string } | { error: string } {
  const fail = (why: string): { error: string } => ({
    error: `address ${address}: ${why}`,
  })
  const colon = address.lastIndexOf(':')
  if (colon < 0) return fail('missing port in address')
  let host: string
  let j = 0
  let k = 0
  if (address.startsWith('[')) {
    const end = address.indexOf(']')
    if (end < 0) return fail("missing ']' in address")
    if (end + 1 === address.length) return fail('missing port in address')
    if (end + 1 !== colon) {
      return fail(
        address[end + 1] === ':'
          ? 'too many colons in address'
          : 'missing port in address',
      )
    }
    host = address.slice(1, end)
    j = 1
    k = end + 1
  } else {
    host = address.slice(0, colon)
    if (host.includes(':')) return fail('too many colons in address')
  }
  if (address.slice(j).includes('[')) return fail("unexpected '[' in address")
  if (address.slice(k).includes(']')) return fail("unexpected ']' in address")
  return { host, port: address.slice(colon + 1) }
}

let services: ReadonlyMap<string, number> | undefined

/** TCP service names Go knows without /etc/services (net/lookup.go, services). */
const BUILTIN_SERVICES: readonly (readonly [string, number])[] = [
  ['ftp', 21],
  ['ftps', 990],
  ['gopher', 70],
  ['http', 80],
  ['https', 443],
  ['imap2', 143],
  ['imap3', 220],
  ['imaps', 993],
  ['pop3', 110],
  ['pop3s', 995],
  ['smtp', 25],
  ['submissions', 465],
  ['ssh', 22],
  ['telnet', 23],
]

/** TCP service names: Go's built-in ones, then /etc/services, as its resolver reads them. */
function serviceTable(): ReadonlyMap<string, number> {
  if (services !== undefined) return services
  const table = new Map<string, number>(BUILTIN_SERVICES)
  try {
    for (const line of readFileSync('/etc/services', 'utf8').split('\n')) {
      const [name, portProto, ...aliases] = line.replace(/#.*/, '').trim().split(/\s+/)
      const m = /^(\d+)\/tcp$/.exec(portProto ?? '')
      if (name === undefined || name === '' || m?.[1] === undefined) continue
      for (const n of [name, ...aliases]) table.set(n.toLowerCase(), Number(m[1]))
    }
  } catch {
    // No /etc/services: the built-in names and numeric ports still resolve, as in Go.
  }
  services = table
  return table
}

/** Go's LookupPort for "tcp" (net/lookup.go, parsePort in net/port.go). */
export function lookupPort(service: string): { port: number } | { error: string } {
  let port: number
  const m = /^([+-]?)(\d*)$/.exec(service)
  if (service === '') port = 0
  else if (m !== null && m[2] !== '') {
    // parsePort saturates at 2^30 - 1 (or -2^30): big enough to be invalid either way.
    port = Math.min(Number(m[2]), 2 ** 30) * (m[1] === '-' ? -1 : 1)
  } else {
    // lookupPortMap: ASCII case-insensitive, names over 25 bytes never match.
    const known =
      service.length > 25 ? undefined : serviceTable().get(service.toLowerCase())
    if (known === undefined) return { error: `address tcp/${service}: unknown port` }
    port = known
  }
  if (port < 0 || port > 65535) return { error: `address ${service}: invalid port` }
  return { port }
}

/** Go's net.ParseIP + IP.String(): canonical text, or undefined if not an IP literal. */
export function canonicalIp(host: string): string | undefined {
  if (isIPv4(host)) {
    // Go 1.17+ rejects IPv4 octets with leading zeros.
    return host.split('.').some(p => p.length > 1 && p.startsWith('0')) ? undefined : host
  }
  if (!isIPv6(host) || host.includes('%')) return undefined
  const text = new URL(`http://[${host}]/`).hostname.slice(1, -1)
  // An IPv4-mapped address is an IPv4 address to Go (To4() != nil): printed dotted.
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(text)
  if (mapped?.[1] !== undefined && mapped[2] !== undefined) {
    const hi = Number.parseInt(mapped[1], 16)
    const lo = Number.parseInt(mapped[2], 16)
    return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.')
  }
  return text
}

/** Go's JoinHostPort(ip, port), as TCPAddr.String() prints a resolved address. */
export function formatTcpAddr(addr: TcpAddr): string {
  return addr.ip.includes(':')
    ? `[${addr.ip}]:${String(addr.port)}`
    : `${addr.ip}:${String(addr.port)}`
}

/**
 * Go's ResolveTCPAddr("tcp", address) (IPv4 preferred for names). An empty address is
 * every interface, port 0. Errors carry Go's text.
 */
export async function resolveTcpAddr(
  address: string,
): Promise<TcpAddr | { error: string }> {
  if (address === '') return { ip: '', port: 0 }
  const split = splitHostPort(address)
  if ('error' in split) return split
  const port = lookupPort(split.port)
  if ('error' in port) return port
  if (split.host === '') return { ip: '', port: port.port }
  const literal = canonicalIp(split.host)
  if (literal !== undefined) return { ip: literal, port: port.port }
  if (split.host === 'localhost') return { ip: '127.0.0.1', port: port.port }
  try {
    const all = await lookup(split.host, { all: true })
    const pick = all.find(a => a.family === 4) ?? all[0]
    if (pick !== undefined) {
      return { ip: canonicalIp(pick.address) ?? pick.address, port: port.port }
    }
  } catch {
    // Reported below with Go's wording.
  }
  return { error: `lookup ${split.host}: no such host` }
}

/** True when Go would open a dual-stack wildcard socket: nil, 0.0.0.0 or ::. */
export function isWildcard(ip: string): boolean {
  return ip === '' || ip === '0.0.0.0' || ip === '::'
}
