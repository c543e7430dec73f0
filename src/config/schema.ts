import { z } from 'zod'
import { accessLogSchema } from './access-log-schema.js'
import { adminSecurityShape, tokenIssues } from './admin-schema.js'
import { coordinationSchema, redisSchema } from './coordination-schema.js'
import { discoveryListSchema, discoveryPortIssues } from './discovery-schema.js'
import { duration, integer, mapping } from './primitives.js'
import {
  healthProxyProtocolShape,
  poolProxyProtocolShape,
  proxyProtocolSchema,
} from './proxy-protocol-schema.js'

// The single source of truth for corral's YAML config: types come from z.output,
// defaults live here, objects are strict (unknown keys are errors). Every leaf says
// what it expects; format-issues.ts appends what was found. docs/config.md mirrors it.

const NAME_RE = /^[a-z][a-z0-9_-]{0,31}$/
const MEMBER_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/
// RFC 9110 token characters; undici rejects any other header name at probe time.
const HEADER_NAME_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/** A TCP port number. */
export const portSchema = integer(1, 65535)

/** "host:port" with an IPv4 address, a hostname or a [bracketed] IPv6 address; port may be 0. */
const bindSchema = z
  .string({ error: 'expected "host:port", e.g. "0.0.0.0:443"' })
  .transform((text, ctx) => {
    const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(text)
    const port = match?.[2] === undefined ? NaN : Number(match[2])
    if (!match?.[1] || !(port >= 0 && port <= 65535)) {
      ctx.addIssue({
        code: 'custom',
        message: 'expected "host:port" with a port 0-65535, e.g. "0.0.0.0:443"',
        input: text,
      })
      return z.NEVER
    }
    return { host: match[1].replace(/^\[|\]$/g, ''), port }
  })

const nameSchema = z
  .string({ error: 'expected a name' })
  .regex(NAME_RE, { error: 'expected a lowercase name: a-z, 0-9, "-", "_", ≤ 32 chars' })

const listenerSchema = mapping(
  {
    /** Listener name; members' `ports` and `health.port` refer to it. */
    name: nameSchema,
    /** Address to accept client connections on; port 0 picks a free port. */
    bind: bindSchema,
  },
  'a mapping with name and bind',
)

const memberIdSchema = z.string({ error: 'expected a member id' }).regex(MEMBER_ID_RE, {
  error: 'expected a member id: letters, digits, ".", "_", "-", ≤ 63 chars',
})

const addressSchema = z
  .string({ error: 'expected a hostname or IP address' })
  .min(1, { error: 'expected a hostname or IP address' })
  .max(253, { error: 'expected a hostname or IP address' })
  .regex(/^[A-Za-z0-9._:-]+$/, { error: 'expected a hostname or IP address' })

/**
 * One replica: where to reach it, and per-listener port overrides. Whether each `ports`
 * key names a configured listener is a cross-field rule of configSchema.
 */
export const memberSchema = mapping(
  {
    /** Unique id; metrics and the admin API name the member by it. */
    id: memberIdSchema,
    /** Hostname or IP address of the replica. */
    address: addressSchema,
    /** Per-listener port override; default: the listener's own port. */
    ports: z
      .record(nameSchema, portSchema, {
        error: issue =>
          issue.code === 'invalid_key'
            ? 'expected a listener name'
            : 'expected a mapping of listener name to port',
      })
      .default({}),
    /** Relative share of new connections (1-256), default 1. */
    weight: integer(1, 256).default(1),
    /** PROXY protocol header to this member ("off", "v1", "v2"); default: the pool's. */
    proxyProtocol: proxyProtocolSchema.exactOptional(),
  },
  'a mapping with id and address',
)

const tlsSchema = mapping(
  {
    /** Skip certificate verification of the member's /health endpoint. Default false. */
    insecure: z.boolean({ error: 'expected true or false' }).default(false),
    /** PEM file with the CA that signed the members' certificates. */
    ca: z.string({ error: 'expected a file path' }).optional(),
    /** Name to send as SNI and verify the certificate against. */
    servername: z.string({ error: 'expected a hostname' }).optional(),
  },
  'a mapping',
).prefault({})

/** "2xx", "200", "200-399" or a comma-separated list of those. */
const statusRangesSchema = z
  .string({ error: 'expected status codes such as "2xx", "200" or "200-399"' })
  .transform((text, ctx) => {
    const ranges: [number, number][] = []
    for (const part of text.split(',').map(p => p.trim())) {
      let m: RegExpExecArray | null
      if ((m = /^([1-5])xx$/.exec(part)) && m[1]) {
        ranges.push([Number(m[1]) * 100, Number(m[1]) * 100 + 99])
      } else if (
        (m = /^([1-5]\d\d)(?:-([1-5]\d\d))?$/.exec(part)) &&
        m[1] &&
        Number(m[1]) <= Number(m[2] ?? m[1])
      ) {
        ranges.push([Number(m[1]), Number(m[2] ?? m[1])])
      } else {
        ctx.addIssue({
          code: 'custom',
          message: 'expected status codes such as "2xx", "200" or "200-399"',
          input: text,
        })
        return z.NEVER
      }
    }
    return ranges
  })

/** `health:`: the active check (also the sidecar's check of its own replica). */
export const healthSchema = mapping(
  {
    /** Listener name whose member port is probed, or a port number. Default: the first listener. */
    port: z
      .union([nameSchema, portSchema], { error: 'expected a listener name or a port' })
      .optional(),
    /** Probe scheme. Default http. */
    scheme: z
      .enum(['http', 'https'], { error: 'expected "http" or "https"' })
      .default('http'),
    /** Request path. Default /health. */
    path: z
      .string({ error: 'expected a path starting with "/"' })
      .startsWith('/', { error: 'expected a path starting with "/"' })
      .default('/health'),
    /** Time between probes of one member. Default 2s. */
    interval: duration(50).default(2_000),
    /** Interval while a transition is pending (HAProxy fastinter). Default: interval. */
    fastInterval: duration(50).optional(),
    /** Interval while the member is down (HAProxy downinter). Default: interval. */
    downInterval: duration(50).optional(),
    /** Random spread added to each interval, as a fraction of it (0-0.5). Default 0.1. */
    jitter: z.number({ error: 'expected a number 0-0.5' }).min(0).max(0.5).default(0.1),
    /** A probe not answered within this is a failure (reason timeout). Default 1s. */
    timeout: duration(10).default(1_000),
    /** Consecutive successes to come back up. Default 2. */
    rise: integer(1, 100).default(2),
    /** Consecutive failures to go down. Default 3. */
    fall: integer(1, 100).default(3),
    /** Statuses that count as healthy. Default "2xx". */
    expectStatus: statusRangesSchema.default([[200, 299]]),
    /** Most body bytes read from a probe response; the rest is discarded. Default 4096. */
    maxBodyBytes: integer(0, 1_048_576).default(4096),
    /** Extra request headers (e.g. Host). */
    headers: z
      .record(
        z.string().regex(HEADER_NAME_RE),
        z.string({ error: 'expected a header value' }).regex(/^[^\r\n\0]*$/, {
          error: 'expected a header value without line breaks',
        }),
        {
          error: issue =>
            issue.code === 'invalid_key'
              ? 'expected an HTTP header name'
              : 'expected a mapping of header name to value',
        },
      )
      .default({}),
    tls: tlsSchema,
    /**
     * Health of a member before its first probe: "down" (default: takes no traffic until
     * one probe passes, then is up at once) or "up" (routable immediately).
     */
    initialState: z
      .enum(['down', 'up'], { error: 'expected "down" or "up"' })
      .default('down'),
    /** On a member marked down: keep its open connections (default) or close them. */
    onMarkedDown: z
      .enum(['keep-connections', 'close-connections'], {
        error: 'expected "keep-connections" or "close-connections"',
      })
      .default('keep-connections'),
    ...healthProxyProtocolShape,
  },
  'a mapping',
).prefault({})

const timeoutsSchema = mapping(
  {
    /** Upper bound on establishing the member leg of a connection. Default 2s. */
    connect: duration(1).default(2_000),
    /** A connection with no bytes either way for this long is closed (never an absolute cap). Default 10m. */
    idle: duration(1).default(600_000),
    /** On SIGTERM, how long open connections may take to finish. Default 30s. */
    shutdown: duration(0).default(30_000),
  },
  'a mapping',
).prefault({})

const limitsSchema = mapping(
  {
    /** Most open client connections per listener process; more are closed at once. Default 10000. */
    maxConnections: integer(1, 10_000_000).default(10_000),
    /** Most open connections to one member; a full member is skipped (0 = unlimited). Default 0. */
    maxConnectionsPerMember: integer(0, 10_000_000).default(0),
    /** Members tried for one connection before giving up. Default 3. */
    connectAttempts: integer(1, 16).default(3),
  },
  'a mapping',
).prefault({})

const adminSchema = mapping(
  {
    /** Address of the admin HTTP API. Default 127.0.0.1:9901. */
    bind: bindSchema.default({ host: '127.0.0.1', port: 9901 }),
    /** Bearer token required for mutations; required when bind is not loopback. */
    token: z
      .string({ error: 'expected a non-empty string' })
      .min(1, { error: 'expected a non-empty string' })
      .optional(),
    ...adminSecurityShape,
  },
  'a mapping',
)
  .superRefine((a, ctx) => {
    for (const i of tokenIssues(a))
      ctx.addIssue({ code: 'custom', path: [i.path], message: i.message, input: a })
  })
  .prefault({})

const balanceSchema = z
  .enum(['round-robin', 'least-connections', 'consistent-hash'], {
    error: 'expected "round-robin", "least-connections" or "consistent-hash"',
  })
  .default('least-connections')

const DEFAULT_LISTENERS = [
  { name: 'http', bind: '0.0.0.0:80' },
  { name: 'https', bind: '0.0.0.0:443' },
]

/** One cross-field problem, located like a zod issue. */
interface CrossFieldIssue {
  readonly path: readonly (string | number)[]
  readonly message: string
  readonly input: unknown
}

/** A listening address as the bind schema outputs it. */
interface Bind {
  readonly host: string
  readonly port: number
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

function asBind(value: unknown): Bind | undefined {
  return isRecord(value) &&
    typeof value.host === 'string' &&
    typeof value.port === 'number'
    ? { host: value.host, port: value.port }
    : undefined
}

function formatBind(b: Bind): string {
  return b.host.includes(':') ? `[${b.host}]:${b.port}` : `${b.host}:${b.port}`
}

/**
 * Whether two binds would collide (EADDRINUSE): same non-zero port and the same host, or a
 * wildcard covering the other ("::" is dual-stack; "0.0.0.0" covers IPv4 and hostnames).
 */
function bindsOverlap(a: Bind, b: Bind): boolean {
  if (a.port === 0 || a.port !== b.port) return false
  const covers = (w: string, h: string) =>
    w === '::' || (w === '0.0.0.0' && !h.includes(':'))
  return a.host === b.host || covers(a.host, b.host) || covers(b.host, a.host)
}

/**
 * The cross-field rules: unique listener names, ids and addresses; member `ports` keys and
 * `health.port` naming a listener. It reads the config as zod left it, which may be partly
 * invalid, so every value is type-checked first, and a value that already failed its own
 * schema is skipped rather than reported twice.
 */
function crossFieldIssues(config: unknown): CrossFieldIssue[] {
  const issues: CrossFieldIssue[] = []
  if (!isRecord(config)) return issues
  // Listener references can only be judged when every listener has a valid name.
  const listeners = Array.isArray(config.listeners) ? config.listeners : undefined
  let namesKnown = listeners !== undefined
  const names = new Map<string, number>()
  const binds: { bind: Bind; index: number }[] = []
  listeners?.forEach((l: unknown, i) => {
    const name = isRecord(l) ? l.name : undefined
    if (typeof name !== 'string' || !NAME_RE.test(name)) namesKnown = false
    else {
      const first = names.get(name)
      if (first !== undefined) {
        issues.push({
          path: ['listeners', i, 'name'],
          message: `expected a unique listener name, got "${name}" (also listeners[${first}])`,
          input: name,
        })
      } else names.set(name, i)
    }
    const bind = asBind(isRecord(l) ? l.bind : undefined)
    if (bind === undefined) return
    const clash = binds.find(b => bindsOverlap(b.bind, bind))
    if (clash !== undefined) {
      issues.push({
        path: ['listeners', i, 'bind'],
        message: `expected an address no other listener uses, got "${formatBind(bind)}" (listeners[${clash.index}] binds "${formatBind(clash.bind)}")`,
        input: formatBind(bind),
      })
    }
    binds.push({ bind, index: i })
  })
  const known = [...names.keys()].join(', ')

  const adminBind = asBind(isRecord(config.admin) ? config.admin.bind : undefined)
  const adminClash =
    adminBind === undefined ? undefined : binds.find(b => bindsOverlap(b.bind, adminBind))
  if (adminBind !== undefined && adminClash !== undefined) {
    issues.push({
      path: ['admin', 'bind'],
      message: `expected an address no listener uses, got "${formatBind(adminBind)}" (listeners[${adminClash.index}] binds "${formatBind(adminClash.bind)}")`,
      input: formatBind(adminBind),
    })
  }

  const ids = new Map<string, number>()
  const members = Array.isArray(config.members) ? config.members : []
  members.forEach((m: unknown, i) => {
    if (!isRecord(m)) return
    if (typeof m.id === 'string' && MEMBER_ID_RE.test(m.id)) {
      const first = ids.get(m.id)
      if (first !== undefined) {
        issues.push({
          path: ['members', i, 'id'],
          message: `expected a unique member id, got "${m.id}" (also members[${first}])`,
          input: m.id,
        })
      } else ids.set(m.id, i)
    }
    if (!namesKnown || !isRecord(m.ports)) return
    for (const name of Object.keys(m.ports)) {
      if (NAME_RE.test(name) && !names.has(name)) {
        issues.push({
          path: ['members', i, 'ports', name],
          message: `expected a listener name (${known}), got "${name}"`,
          input: name,
        })
      }
    }
  })

  if (namesKnown)
    issues.push(...discoveryPortIssues(config.discovery, new Set(names.keys())))

  const port = isRecord(config.health) ? config.health.port : undefined
  if (namesKnown && typeof port === 'string' && NAME_RE.test(port) && !names.has(port)) {
    issues.push({
      path: ['health', 'port'],
      message: `expected a listener name (${known}) or a port number, got "${port}"`,
      input: port,
    })
  }
  return issues
}

/** Most members a config file may list: the pool size measured in docs/performance.md. */
export const MAX_MEMBERS = 1000

/** The whole config file. */
export const configSchema = mapping(
  {
    /** Where clients connect. Default: http on 0.0.0.0:80 and https on 0.0.0.0:443. */
    listeners: z
      .array(listenerSchema, { error: 'expected a list of listeners' })
      .min(1, { error: 'expected at least one listener, got an empty list' })
      .prefault(DEFAULT_LISTENERS),
    /** The replicas connections are spread over. Default: none. */
    members: z
      .array(memberSchema, { error: 'expected a list of members' })
      .max(MAX_MEMBERS, {
        error: issue =>
          `expected at most ${MAX_MEMBERS} members (the size corral is measured at, see docs/performance.md), got ${Array.isArray(issue.input) ? issue.input.length : 'more'}`,
      })
      .default([]),
    /** Members from DNS (Swarm tasks.<service>, headless Services, SRV). Default: none. */
    discovery: discoveryListSchema,
    health: healthSchema,
    balance: balanceSchema,
    /** Weight ramp after readmission (HAProxy slowstart); "0s" disables. Default 0s. */
    slowStart: duration(0).default(0),
    /** When no member is up: "reject" new connections (default) or "fail-open" to every enabled member. */
    allDown: z
      .enum(['reject', 'fail-open'], { error: 'expected "reject" or "fail-open"' })
      .default('reject'),
    timeouts: timeoutsSchema,
    limits: limitsSchema,
    admin: adminSchema,
    /**
     * Data-path processes: "auto" (default, one per core) or a number; 0 = single
     * process (the data path runs inside the control plane). Health checks, the pool and
     * the admin API always run once, in the primary.
     */
    /** The shared pool store (several instances); absent = in memory, one instance. */
    redis: redisSchema.optional(),
    /** How instances sharing a pool combine their views (only with redis). */
    coordination: coordinationSchema,
    /** One JSON line per client connection (docs/access-log.md); off by default. */
    accessLog: accessLogSchema,
    ...poolProxyProtocolShape,
    workers: z
      .union([z.literal('auto'), integer(0, 64)], {
        error: 'expected "auto" or an integer 0-64',
      })
      .default('auto'),
    /**
     * Who moves the bytes of a relay: "native" (the optional splice(2) relay thread of
     * native/, built by `npm run build:native`), "js", or "auto" (default: native where
     * the addon loaded on Linux). Without the addon corral runs on the JS path and says so.
     */
    dataPath: z
      .enum(['auto', 'native', 'js'], { error: 'expected "auto", "native" or "js"' })
      .default('auto'),
  },
  'a mapping of config keys',
).superRefine(
  (config, ctx) => {
    for (const issue of crossFieldIssues(config)) {
      ctx.addIssue({ code: 'custom', ...issue, path: [...issue.path] })
    }
  },
  // zod skips refinements once any field has failed; run anyway, so that cross-field
  // problems are listed together with every other issue instead of one round later.
  { when: () => true },
)

/** The config file as written (durations as strings). */
export type ConfigInput = z.input<typeof configSchema>
/** Parsed config before resolution (durations already in ms). */
export type ParsedConfig = z.output<typeof configSchema>
