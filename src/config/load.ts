import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { parseDocument } from 'yaml'
import { ConfigError } from '../errors.js'
import { formatIssues, formatPath } from './format-issues.js'
import { configSchema, type ParsedConfig } from './schema.js'

/** One accepting address; `name` is what members' ports and metrics refer to. */
export interface ListenerConfig {
  readonly name: string
  readonly host: string
  readonly port: number
}

/** One replica as configured (or as added through the admin API). */
export interface MemberConfig {
  readonly id: string
  readonly address: string
  /** Per-listener port overrides, by listener name. */
  readonly ports: Readonly<Record<string, number>>
  readonly weight: number
}

/** Active health check settings; durations in ms. */
export interface HealthConfig {
  /** Listener name whose member port is probed, or a fixed port. */
  readonly port: string | number
  readonly scheme: 'http' | 'https'
  readonly path: string
  readonly intervalMs: number
  readonly fastIntervalMs: number
  readonly downIntervalMs: number
  readonly jitter: number
  readonly timeoutMs: number
  readonly rise: number
  readonly fall: number
  /** Inclusive [low, high] status ranges counted as healthy. */
  readonly expectStatus: readonly (readonly [number, number])[]
  readonly maxBodyBytes: number
  readonly headers: Readonly<Record<string, string>>
  readonly tls: {
    readonly insecure: boolean
    /** Path of the CA file, as configured. */
    readonly ca?: string
    /** Contents of the CA file, read at load time. */
    readonly caPem?: string
    readonly servername?: string
  }
  readonly initialState: 'down' | 'up'
  readonly onMarkedDown: 'keep-connections' | 'close-connections'
}

/** What to do with new connections when no member is up. */
export type AllDownPolicy = 'reject' | 'fail-open'
/** Balancing algorithm among up members. */
export type BalanceAlgorithm = 'round-robin' | 'least-connections' | 'consistent-hash'

/** The resolved, frozen configuration every component is built from. */
export interface Config {
  readonly listeners: readonly ListenerConfig[]
  readonly members: readonly MemberConfig[]
  readonly health: HealthConfig
  readonly balance: BalanceAlgorithm
  readonly slowStartMs: number
  readonly allDown: AllDownPolicy
  readonly timeouts: { readonly connectMs: number; readonly idleMs: number; readonly shutdownMs: number }
  readonly limits: {
    readonly maxConnections: number
    readonly maxConnectionsPerMember: number
    readonly maxPendingBytes: number
    readonly connectAttempts: number
  }
  readonly admin: { readonly host: string; readonly port: number; readonly token?: string }
  /** Data-path processes (resolved: "auto" is the number of cores). */
  readonly workers: number
}

/** Where a config came from, for error messages. */
export interface LoadOptions {
  readonly env?: NodeJS.ProcessEnv
  /** Read a file (CA bundles); injectable for tests. */
  readonly readFile?: (path: string) => string
}

const ENV_RE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g

/** Replaces ${VAR} and ${VAR:-default} in every string of a parsed YAML tree. */
function expandEnv(
  node: unknown,
  env: NodeJS.ProcessEnv,
  path: PropertyKey[],
  issues: string[],
): unknown {
  if (typeof node === 'string') {
    return node.replace(ENV_RE, (_all, name: string, fallback: string | undefined) => {
      const value = env[name] ?? fallback
      if (value === undefined) {
        issues.push(
          `${formatPath(path)}: environment variable ${name} is not set (set it, or write \${${name}:-default})`,
        )
        return ''
      }
      return value
    })
  }
  if (Array.isArray(node)) return node.map((v, i) => expandEnv(v, env, [...path, i], issues))
  if (node !== null && typeof node === 'object') {
    return Object.fromEntries(
      Object.entries(node).map(([k, v]) => [k, expandEnv(v, env, [...path, k], issues)]),
    )
  }
  return node
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v)
    Object.freeze(value)
  }
  return value
}

function resolve(parsed: ParsedConfig, readFile: (p: string) => string, issues: string[]): Config {
  const h = parsed.health
  let caPem: string | undefined
  if (h.tls.ca !== undefined) {
    try {
      caPem = readFile(h.tls.ca)
    } catch (err) {
      issues.push(`health.tls.ca: cannot read ${h.tls.ca}: ${(err as Error).message}`)
    }
  }
  const firstListener = parsed.listeners[0]?.name ?? 'http'
  const admin = parsed.admin
  return {
    listeners: parsed.listeners.map(l => ({ name: l.name, host: l.bind.host, port: l.bind.port })),
    members: parsed.members,
    health: {
      port: h.port ?? firstListener,
      scheme: h.scheme,
      path: h.path,
      intervalMs: h.interval,
      fastIntervalMs: h.fastInterval ?? h.interval,
      downIntervalMs: h.downInterval ?? h.interval,
      jitter: h.jitter,
      timeoutMs: h.timeout,
      rise: h.rise,
      fall: h.fall,
      expectStatus: h.expectStatus,
      maxBodyBytes: h.maxBodyBytes,
      headers: h.headers,
      tls: {
        insecure: h.tls.insecure,
        ...(h.tls.ca !== undefined ? { ca: h.tls.ca } : {}),
        ...(caPem !== undefined ? { caPem } : {}),
        ...(h.tls.servername !== undefined ? { servername: h.tls.servername } : {}),
      },
      initialState: h.initialState,
      onMarkedDown: h.onMarkedDown,
    },
    balance: parsed.balance,
    slowStartMs: parsed.slowStart,
    allDown: parsed.allDown,
    timeouts: {
      connectMs: parsed.timeouts.connect,
      idleMs: parsed.timeouts.idle,
      shutdownMs: parsed.timeouts.shutdown,
    },
    limits: parsed.limits,
    admin: {
      host: admin.bind.host,
      port: admin.bind.port,
      ...(admin.token !== undefined ? { token: admin.token } : {}),
    },
    workers: parsed.workers === 'auto' ? availableParallelism() : parsed.workers,
  }
}

/**
 * Parses config text (YAML) into a frozen Config, or throws ConfigError listing every
 * problem as `<key path>: <expected>, got <found>`.
 */
export function parseConfig(text: string, options: LoadOptions = {}): Config {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true })
  if (doc.errors.length > 0) {
    throw new ConfigError(
      'CONFIG_INVALID',
      doc.errors.map(e => `YAML syntax: ${e.message.split('\n')[0] ?? e.message}`),
    )
  }
  const raw: unknown = doc.toJS() ?? {}
  const issues: string[] = []
  const expanded = expandEnv(raw, options.env ?? process.env, [], issues)
  if (expanded === null || typeof expanded !== 'object' || Array.isArray(expanded)) {
    throw new ConfigError('CONFIG_INVALID', ['(top level): expected a mapping of config keys'])
  }
  const result = configSchema.safeParse(expanded, { reportInput: true })
  if (!result.success) issues.push(...formatIssues(result.error.issues))
  if (!result.success || issues.length > 0) {
    throw new ConfigError('CONFIG_INVALID', issues)
  }
  const config = resolve(result.data, options.readFile ?? (p => readFileSync(p, 'utf8')), issues)
  if (issues.length > 0) throw new ConfigError('CONFIG_INVALID', issues)
  return deepFreeze(config)
}

/** Reads and parses a config file; see parseConfig. */
export function loadConfigFile(path: string, options: LoadOptions = {}): Config {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new ConfigError('CONFIG_UNREADABLE', [`cannot read config file ${path}: ${(err as Error).message}`], {
      cause: err,
    })
  }
  return parseConfig(text, options)
}
