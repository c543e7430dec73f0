// Config key `discovery:`: members that come from DNS (Docker Swarm `tasks.<service>`,
// Kubernetes headless Services, SRV records). Kept apart from schema.ts, which imports it.
// docs/config.md documents every key; src/discovery/ does the work.
import { isIP } from 'node:net'
import { z } from 'zod'
import { duration, integer, mapping } from './primitives.js'

const NAME_RE = /^[a-z][a-z0-9_-]{0,31}$/
// A DNS name: labels of letters, digits, "-" and "_" (SRV names start with "_"), dots
// between, an optional trailing dot.
const DNS_NAME_RE =
  /^(?=.{1,253}\.?$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*\.?$/

/** "ip" or "ip:port" or "[ipv6]:port": one DNS server, as Resolver.setServers takes it. */
const serverSchema = z
  .string({ error: 'expected a DNS server address such as "10.0.0.2" or "10.0.0.2:53"' })
  .refine(
    text => {
      if (isIP(text) !== 0) return true
      const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(text)
      const host = m?.[1] ?? m?.[2]
      const port = Number(m?.[3])
      return host !== undefined && isIP(host) !== 0 && port >= 1 && port <= 65535
    },
    {
      error:
        'expected a DNS server IP address, optionally with a port: "10.0.0.2", "10.0.0.2:53" or "[fd00::2]:53"',
    },
  )

/** One `discovery:` entry: a DNS name whose records are members. */
export const discoverySchema = mapping(
  {
    /** Name of this source; members are "dns:<name>" in the pool API, ids start "<name>-". */
    name: z.string({ error: 'expected a name' }).regex(NAME_RE, {
      error: 'expected a lowercase name: a-z, 0-9, "-", "_", ≤ 32 chars',
    }),
    /** The DNS name to resolve, e.g. "tasks.registry" or "_http._tcp.registry.ns.svc.cluster.local". */
    dns: z
      .string({ error: 'expected a DNS name such as "tasks.registry"' })
      .regex(DNS_NAME_RE, { error: 'expected a DNS name such as "tasks.registry"' }),
    /** A (default), AAAA, or SRV (each target's own port; its address from an A query). */
    record: z
      .enum(['A', 'AAAA', 'SRV'], { error: 'expected "A", "AAAA" or "SRV"' })
      .default('A'),
    /** Per-listener ports of every discovered member; default: the listener's own port. */
    ports: z
      .record(z.string().regex(NAME_RE), integer(1, 65535), {
        error: issue =>
          issue.code === 'invalid_key'
            ? 'expected a listener name'
            : 'expected a mapping of listener name to port',
      })
      .default({}),
    /** Time between queries (jittered ±10%; longer after errors). Default 5s. */
    interval: duration(100).default(5_000),
    /** DNS servers to ask; default: the system's resolvers (/etc/resolv.conf). */
    servers: z
      .array(serverSchema, { error: 'expected a list of DNS server addresses' })
      .min(1, { error: 'expected at least one server (or leave servers out)' })
      .max(8, { error: 'expected at most 8 servers' })
      .optional(),
    /** Per-attempt query timeout. Default 2s. */
    timeout: duration(10).default(2_000),
    /** Attempts per server before a query fails. Default 2. */
    tries: integer(1, 10).default(2),
    /**
     * How long an address missing from good answers is kept before it is drained and
     * removed. Default: 3 × interval.
     */
    grace: duration(0).optional(),
    /** Relative share of new connections of each discovered member (1-256). Default 1. */
    weight: integer(1, 256).default(1),
  },
  'a mapping with name and dns',
)

/** One discovery source as parsed (durations in ms). */
export type ParsedDiscovery = z.output<typeof discoverySchema>

/** One discovery source, resolved: durations in ms named with their unit. */
export interface DiscoveryConfig {
  readonly name: string
  readonly dns: string
  readonly record: 'A' | 'AAAA' | 'SRV'
  readonly ports: Readonly<Record<string, number>>
  readonly intervalMs: number
  /** Undefined: the system's resolvers. */
  readonly servers?: readonly string[]
  readonly timeoutMs: number
  readonly tries: number
  readonly graceMs: number
  readonly weight: number
}

/** The `discovery:` list; names are unique (member ids and sources derive from them). */
export const discoveryListSchema = z
  .array(discoverySchema, { error: 'expected a list of discovery sources' })
  .max(32, { error: 'expected at most 32 discovery sources' })
  .superRefine((list, ctx) => {
    const seen = new Map<string, number>()
    list.forEach((d, i) => {
      const first = seen.get(d.name)
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [i, 'name'],
          message: `expected a unique discovery name, got "${d.name}" (also discovery[${first}])`,
          input: d.name,
        })
      } else seen.set(d.name, i)
    })
  })
  .default([])

/** Resolves parsed entries: grace defaults to three intervals. */
export function resolveDiscovery(
  parsed: readonly ParsedDiscovery[],
): readonly DiscoveryConfig[] {
  return parsed.map(d => ({
    name: d.name,
    dns: d.dns,
    record: d.record,
    ports: d.ports,
    intervalMs: d.interval,
    ...(d.servers !== undefined ? { servers: d.servers } : {}),
    timeoutMs: d.timeout,
    tries: d.tries,
    graceMs: d.grace ?? 3 * d.interval,
    weight: d.weight,
  }))
}

/**
 * Cross-field rule: every `discovery[i].ports` key names a listener. Reads the config as
 * zod left it (possibly partly invalid), like the rules of cross-field.ts.
 */
export function discoveryPortIssues(
  discovery: unknown,
  listenerNames: ReadonlySet<string>,
): { path: (string | number)[]; message: string; input: unknown }[] {
  const issues: { path: (string | number)[]; message: string; input: unknown }[] = []
  if (!Array.isArray(discovery)) return issues
  const known = [...listenerNames].join(', ')
  discovery.forEach((d: unknown, i) => {
    if (d === null || typeof d !== 'object' || !('ports' in d)) return
    const ports = d.ports
    if (ports === null || typeof ports !== 'object') return
    for (const name of Object.keys(ports)) {
      if (NAME_RE.test(name) && !listenerNames.has(name)) {
        issues.push({
          path: ['discovery', i, 'ports', name],
          message: `expected a listener name (${known}), got "${name}"`,
          input: name,
        })
      }
    }
  })
  return issues
}
