// PURE. Turns DNS records into the members they stand for: deterministic, readable ids
// ("<name>-<ip>", "<name>-<target>-<port>") and per-listener ports.
import type { DiscoveryConfig } from '../config/discovery-schema.js'
import type { MemberSource } from '../pool/types.js'

/** One member a DNS answer asks for. */
export interface DiscoveredTarget {
  readonly id: string
  readonly address: string
  readonly ports: Readonly<Record<string, number>>
}

/** What a query returned, before it is turned into members. */
export type DnsRecords =
  | { readonly kind: 'addresses'; readonly addresses: readonly string[] }
  | {
      readonly kind: 'srv'
      readonly entries: readonly {
        readonly target: string
        readonly port: number
        readonly address: string
      }[]
    }

/** Longest member id (config/member-schema.ts MEMBER_ID_RE). */
const MAX_ID = 63

/** The pool source of a discovery entry: "dns:<name>". */
export function sourceOf(name: string): MemberSource {
  return `dns:${name}`
}

/** FNV-1a, 32 bits, as 8 hex digits: a short stable suffix for ids that must be cut. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h.toString(16).padStart(8, '0')
}

/**
 * A member id from parts: characters an id may not hold become "-" (IPv6 "fd00::5" →
 * "fd00--5"), and an id longer than 63 characters keeps its start and ends with a hash of
 * the whole, so distinct targets never share an id.
 */
export function memberIdOf(name: string, ...parts: readonly (string | number)[]): string {
  const raw = [name, ...parts.map(String)].join('-')
  const clean = raw.replace(/[^A-Za-z0-9._-]/g, '-').replace(/\.$/, '')
  if (clean.length <= MAX_ID) return clean
  return `${clean.slice(0, MAX_ID - 9)}-${fnv1a(raw)}`
}

/**
 * The members `records` stand for, one per id (duplicate records collapse), sorted by id.
 * A/AAAA: one per address, on the configured ports. SRV: one per (target, port), the
 * target's port on every listener `ports` does not name.
 */
export function targetsOf(
  config: Pick<DiscoveryConfig, 'name' | 'ports'>,
  records: DnsRecords,
  listeners: readonly string[],
): DiscoveredTarget[] {
  const byId = new Map<string, DiscoveredTarget>()
  if (records.kind === 'addresses') {
    for (const address of records.addresses) {
      const id = memberIdOf(config.name, address)
      if (!byId.has(id)) byId.set(id, { id, address, ports: { ...config.ports } })
    }
  } else {
    for (const e of records.entries) {
      const id = memberIdOf(config.name, e.target.replace(/\.$/, ''), e.port)
      if (byId.has(id)) continue
      const ports: Record<string, number> = {}
      for (const l of listeners) ports[l] = config.ports[l] ?? e.port
      byId.set(id, { id, address: e.address, ports })
    }
  }
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}
