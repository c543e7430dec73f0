// How a client address appears in an access-log record: as is, truncated to its
// network (IPv4 /24, IPv6 /48: still useful to spot a subnet, no longer one person), or
// hashed (the same client gives the same value; SHA-256, first 16 hex digits).
import { createHash } from 'node:crypto'
import { isIPv4, isIPv6 } from 'node:net'
import type { ClientAddressMode } from '../config/access-log-schema.js'

/** `address` as `mode` says; null stays null. */
export function formatClientAddress(
  address: string | null,
  mode: ClientAddressMode,
): string | null {
  if (address === null || mode === 'full') return address
  if (mode === 'hash')
    return createHash('sha256').update(address).digest('hex').slice(0, 16)
  return truncateAddress(address)
}

/** IPv4 (and IPv4-mapped IPv6) to its /24, IPv6 to its /48; anything else unchanged. */
export function truncateAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  const v4 = mapped?.[1] ?? address
  if (isIPv4(v4)) return `${v4.split('.').slice(0, 3).join('.')}.0`
  if (!isIPv6(address)) return address
  // Only the first three groups are kept: those are always left of an embedded IPv4
  // tail, so expanding "::" is all that is needed.
  const [left = '', right] = address.split('::')
  const head = left === '' ? [] : left.split(':')
  const groups =
    right === undefined ? head : [...head, ...Array<string>(8).fill('0')].slice(0, 8)
  return `${groups
    .slice(0, 3)
    .map(g => g.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::`
}
