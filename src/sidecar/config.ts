// The sidecar's config file: `redis` and `health` reuse the load balancer's schema pieces,
// `member` is the replica it registers, `heartbeat` and `drain` are the sidecar's own.
// docs/config.md ("Sidecar") documents every key.
import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { redisSchema, type RedisConfig } from '../config/coordination-schema.js'
import { formatIssues } from '../config/format-issues.js'
import { parseYamlWithEnv } from '../config/env.js'
import { resolveHealth } from '../config/resolve.js'
import type { HealthConfig } from '../config/types.js'
import { duration, mapping } from '../config/primitives.js'
import { healthSchema } from '../config/health-schema.js'
import { memberSchema } from '../config/member-schema.js'
import { ConfigError } from '../errors.js'
import type { MemberEndpoint } from '../pool/types.js'

const heartbeatSchema = mapping(
  {
    /** How often the sidecar refreshes its record (and republishes its verdict). Default 1s. */
    interval: duration(100).default(1_000),
    /** The record expires this long after the last refresh; the LBs then use their own checks. Default 5s. */
    ttl: duration(300).default(5_000),
  },
  'a mapping with interval and ttl',
)
  .superRefine((h, ctx) => {
    if (h.ttl <= h.interval) {
      ctx.addIssue({
        code: 'custom',
        path: ['ttl'],
        message: `expected more than heartbeat.interval (${h.interval}ms), so one late heartbeat does not expire the record`,
        input: h.ttl,
      })
    }
  })
  .prefault({})

const drainSchema = mapping(
  {
    /**
     * On SIGTERM: how long to wait for a drain lease and then for every live load
     * balancer to confirm it stopped sending new connections. Default 30s.
     */
    timeout: duration(100).default(30_000),
    /** Then wait until no load balancer has an open connection to the member. Default true. */
    waitForConnections: z.boolean({ error: 'expected true or false' }).default(true),
    /** Upper bound of that second wait. Default 5m. */
    connectionsTimeout: duration(0).default(300_000),
    /** How long the drain lease lasts if the sidecar dies while holding it. Default 10m. */
    lease: duration(1_000).default(600_000),
  },
  'a mapping with timeout, waitForConnections and connectionsTimeout',
).prefault({})

/** The sidecar's config file schema. */
export const sidecarSchema = mapping(
  {
    redis: redisSchema,
    member: memberSchema,
    health: healthSchema,
    heartbeat: heartbeatSchema,
    drain: drainSchema,
  },
  'a mapping with redis, member and health',
).superRefine((c, ctx) => {
  const port = c.health.port
  if (typeof port === 'string' && c.member.ports[port] === undefined) {
    const names = Object.keys(c.member.ports)
    ctx.addIssue({
      code: 'custom',
      path: ['health', 'port'],
      message: `expected a port number or one of member.ports (${names.length > 0 ? names.map(n => `"${n}"`).join(', ') : 'none defined'})`,
      input: port,
    })
  }
  if (port === undefined && Object.keys(c.member.ports).length === 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['health', 'port'],
      message:
        'expected a port number (or member.ports with at least one port to probe the first of)',
      input: port,
    })
  }
})

/** The resolved sidecar config; durations in ms. */
export interface SidecarConfig {
  readonly redis: RedisConfig
  readonly member: MemberEndpoint
  /** The check of the member, with `port` resolved to a number. */
  readonly health: HealthConfig
  readonly heartbeat: { readonly intervalMs: number; readonly ttlMs: number }
  readonly drain: {
    readonly timeoutMs: number
    readonly waitForConnections: boolean
    readonly connectionsTimeoutMs: number
    readonly leaseMs: number
  }
}

/** Parsed but unresolved (what zod returns). */
type ParsedSidecar = z.output<typeof sidecarSchema>

function resolve(p: ParsedSidecar, caPem: string | undefined): SidecarConfig {
  const h = p.health
  const first = Object.values(p.member.ports)[0] ?? 0
  const port =
    typeof h.port === 'number'
      ? h.port
      : h.port === undefined
        ? first
        : (p.member.ports[h.port] ?? first)
  return {
    redis: p.redis,
    member: p.member,
    health: resolveHealth(h, port, caPem),
    heartbeat: { intervalMs: p.heartbeat.interval, ttlMs: p.heartbeat.ttl },
    drain: {
      timeoutMs: p.drain.timeout,
      waitForConnections: p.drain.waitForConnections,
      connectionsTimeoutMs: p.drain.connectionsTimeout,
      leaseMs: p.drain.lease,
    },
  }
}

/** Sets `value` at a dotted `path` ("member.id") in a plain object tree, creating mappings. */
function setPath(root: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.')
  let node: Record<string, unknown> = root
  for (const part of parts.slice(0, -1)) {
    const next = node[part]
    if (next !== null && typeof next === 'object' && !Array.isArray(next)) {
      node = next as Record<string, unknown>
    } else {
      const created: Record<string, unknown> = {}
      node[part] = created
      node = created
    }
  }
  const last = parts[parts.length - 1]
  if (last !== undefined) node[last] = value
}

/** Options of loadSidecarConfig; all injectable for tests. */
export interface SidecarLoadOptions {
  readonly env?: NodeJS.ProcessEnv
  readonly readFile?: (path: string) => string
  /** `--set key=value` overrides, applied over the file (values parsed as YAML scalars). */
  readonly overrides?: readonly { readonly path: string; readonly value: unknown }[]
}

/**
 * Reads the sidecar config file (or none: `path` undefined, everything from overrides),
 * applies overrides and validates; throws ConfigError listing every problem.
 */
export function loadSidecarConfig(
  path: string | undefined,
  options: SidecarLoadOptions = {},
): SidecarConfig {
  const readFile = options.readFile ?? ((p: string) => readFileSync(p, 'utf8'))
  let text = ''
  if (path !== undefined) {
    try {
      text = readFile(path)
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      throw new ConfigError(
        'CONFIG_UNREADABLE',
        [`cannot read sidecar config file ${path}: ${message}`],
        { cause: err },
      )
    }
  }
  const data = parseYamlWithEnv(text, options.env ?? process.env)
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError('CONFIG_INVALID', [
      '(top level): expected a mapping with redis, member and health',
    ])
  }
  const root = { ...data } as Record<string, unknown>
  for (const o of options.overrides ?? []) setPath(root, o.path, o.value)
  const result = sidecarSchema.safeParse(root, { reportInput: true })
  if (!result.success)
    throw new ConfigError('CONFIG_INVALID', formatIssues(result.error.issues))
  let caPem: string | undefined
  const ca = result.data.health.tls.ca
  if (ca !== undefined) {
    try {
      caPem = readFile(ca)
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      throw new ConfigError('CONFIG_INVALID', [
        `health.tls.ca: cannot read ${ca}: ${message}`,
      ])
    }
  }
  return resolve(result.data, caPem)
}
