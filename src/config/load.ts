import { readFileSync, statSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { LineCounter, parseDocument, visit } from 'yaml'
import { ConfigError } from '../errors.js'
import { describeValue, formatIssues, formatPath } from './format-issues.js'
import type { AccessLogConfig } from './access-log-schema.js'
import { readTokenFile, type AdminTlsConfig } from './admin-schema.js'
import type { CoordinationConfig, RedisConfig } from './coordination-schema.js'
import { resolveDiscovery, type DiscoveryConfig } from './discovery-schema.js'
import type {
  HealthProxyProtocol,
  ProxyProtocolVersion,
} from './proxy-protocol-schema.js'
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
  /** The member's own PROXY protocol setting; absent = the pool's `proxyProtocol`. */
  readonly proxyProtocol?: ProxyProtocolVersion
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
  /** PROXY protocol on checks: "inherit" = each member's effective setting. */
  readonly proxyProtocol: HealthProxyProtocol
  /** v2 checks: the LOCAL command, or a PROXY command with the check socket's endpoints. */
  readonly proxyProtocolSource: 'local' | 'socket'
}

/** What to do with new connections when no member is up. */
export type AllDownPolicy = 'reject' | 'fail-open'
/** Balancing algorithm among up members. */
export type BalanceAlgorithm = 'round-robin' | 'least-connections' | 'consistent-hash'

/** The resolved, frozen configuration every component is built from. */
export interface Config {
  readonly listeners: readonly ListenerConfig[]
  readonly members: readonly MemberConfig[]
  /** Members from DNS, one poller each (src/discovery/). */
  readonly discovery: readonly DiscoveryConfig[]
  readonly health: HealthConfig
  readonly balance: BalanceAlgorithm
  readonly slowStartMs: number
  readonly allDown: AllDownPolicy
  readonly timeouts: {
    readonly connectMs: number
    readonly idleMs: number
    readonly shutdownMs: number
  }
  readonly limits: {
    readonly maxConnections: number
    readonly maxConnectionsPerMember: number
    readonly connectAttempts: number
  }
  readonly admin: {
    readonly host: string
    readonly port: number
    /** From token or tokenFile. */
    readonly token?: string
    /** From readToken or readTokenFile. */
    readonly readToken?: string
    readonly tls?: AdminTlsConfig
    /** The explicit override of the non-loopback refusal (present only when true). */
    readonly insecureBind?: true
  }
  /** Data-path processes (resolved: "auto" is the number of cores). */
  readonly workers: number
  /** Who moves relayed bytes (resolved per process: "auto" = native where it loads). */
  readonly dataPath: 'auto' | 'native' | 'js'
  /** The shared pool store; undefined = in memory (one instance). */
  readonly redis?: RedisConfig
  /** How instances sharing a pool combine their views (probes resolved). */
  readonly coordination: Omit<CoordinationConfig, 'probes'> & {
    readonly probes: 'shared' | 'all'
  }
  /** The connection access log (docs/access-log.md). */
  readonly accessLog: AccessLogConfig
  /** PROXY protocol to members without their own setting (the pool default). */
  readonly proxyProtocol: ProxyProtocolVersion
  /** With v2: how long the header waits for the client's first bytes (SNI), in ms. */
  readonly proxyProtocolSniWaitMs: number
}

/** Largest config file read: 1 MiB, ten times a file of MAX_MEMBERS members. */
export const MAX_CONFIG_BYTES = 1024 * 1024

/** What loading reads besides the config text; both injectable for tests. */
export interface LoadOptions {
  /** Variables for ${VAR} substitution. Default: process.env. */
  readonly env?: NodeJS.ProcessEnv
  /** Reads a file (the CA bundle) as UTF-8. Default: fs.readFileSync. */
  readonly readFile?: (path: string) => string
}

// `$${` is a literal "${"; `${NAME}` and `${NAME:-default}` are references; any other
// "${" is a mistake worth reporting rather than passing through as text.
const ENV_RE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{/g
// YAML 1.2 core schema int and float, and its booleans: how a plain scalar is typed.
const PLAIN_NUMBER_RE = /^[-+]?(?:\.\d+|\d+(?:\.\d*)?)(?:[eE][-+]?\d+)?$/
const PLAIN_BOOLEANS: Readonly<Record<string, boolean>> = {
  true: true,
  True: true,
  TRUE: true,
  false: false,
  False: false,
  FALSE: false,
}

/**
 * An unquoted YAML value containing "${": typed like any plain scalar once substituted, so
 * `port: ${PORT}` yields a number while `token: "${TOKEN}"` stays a string.
 */
class PlainTemplate {
  constructor(readonly text: string) {}
}

/** Where substitution went wrong, and which keys already have a line about it. */
interface EnvProblems {
  readonly issues: string[]
  /** Key paths (formatPath) with a missing variable; schema issues there would repeat it. */
  readonly keys: Set<string>
}

/** Replaces references in one string; records missing variables and malformed references. */
function substitute(
  text: string,
  env: NodeJS.ProcessEnv,
  path: readonly PropertyKey[],
  problems: EnvProblems,
): string {
  const key = formatPath(path)
  return text.replace(
    ENV_RE,
    (all, name: string | undefined, fallback: string | undefined) => {
      if (all === '$${') return '${'
      if (name === undefined) {
        problems.issues.push(
          `${key}: expected \${NAME} or \${NAME:-default} after "\${", got ${JSON.stringify(text)} (write $\${ for a literal "\${")`,
        )
        problems.keys.add(key)
        return all
      }
      const value = env[name]
      // As in the shell: ":-" also replaces a variable that is set but empty.
      if (fallback !== undefined && (value === undefined || value === '')) return fallback
      if (value === undefined) {
        problems.issues.push(
          `${key}: environment variable ${name} is not set (set it, or write \${${name}:-default})`,
        )
        problems.keys.add(key)
        return ''
      }
      return value
    },
  )
}

/** Types a substituted plain scalar as YAML would have: number, boolean, else string. */
function typePlain(text: string): string | number | boolean {
  if (PLAIN_NUMBER_RE.test(text)) return Number(text)
  return PLAIN_BOOLEANS[text] ?? text
}

/** Replaces ${VAR} and ${VAR:-default} in every value of a parsed YAML tree (not in keys). */
function expandEnv(
  node: unknown,
  env: NodeJS.ProcessEnv,
  path: PropertyKey[],
  problems: EnvProblems,
): unknown {
  if (node instanceof PlainTemplate)
    return typePlain(substitute(node.text, env, path, problems))
  if (typeof node === 'string') return substitute(node, env, path, problems)
  if (Array.isArray(node))
    return node.map((v, i) => expandEnv(v, env, [...path, i], problems))
  if (node !== null && typeof node === 'object') {
    return Object.fromEntries(
      Object.entries(node).map(([k, v]) => [
        k,
        expandEnv(v, env, [...path, k], problems),
      ]),
    )
  }
  return node
}

/** Parses YAML text into plain data, plain scalars with "${" wrapped as PlainTemplate. */
function parseYaml(text: string): unknown {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
  if (doc.errors.length > 0) {
    throw new ConfigError(
      'CONFIG_INVALID',
      doc.errors.map(e => {
        const { line, col } = lineCounter.linePos(e.pos[0])
        return `line ${line}, column ${col}: YAML syntax error: ${e.message}`
      }),
    )
  }
  visit(doc, {
    Scalar(key, node) {
      if (key !== 'key' && node.type === 'PLAIN' && typeof node.value === 'string') {
        if (node.value.includes('${')) node.value = new PlainTemplate(node.value)
      }
    },
  })
  try {
    return doc.toJS()
  } catch (err) {
    // toJS throws on alias bombs (more than maxAliasCount expansions).
    const message = err instanceof Error ? err.message : String(err)
    throw new ConfigError('CONFIG_INVALID', [`(top level): ${message}`], { cause: err })
  }
}

/** Reads health.tls.ca from the unvalidated config, so a bad path is reported with the rest. */
function readCa(
  config: Readonly<Record<string, unknown>>,
  readFile: (path: string) => string,
  problems: EnvProblems,
): { caPem?: string; issue?: string } {
  const health = config.health
  const tls = isRecord(health) ? health.tls : undefined
  const ca = isRecord(tls) ? tls.ca : undefined
  // A non-string is the schema's to report; a missing variable already has its line.
  if (typeof ca !== 'string' || problems.keys.has('health.tls.ca')) return {}
  try {
    return { caPem: readFile(ca) }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    return { issue: `health.tls.ca: cannot read ${ca}: ${message}` }
  }
}

/** The admin tokens, read from their files where given. */
function adminTokens(
  a: ParsedConfig['admin'],
  readFile: (path: string) => string,
): { values: { token?: string; readToken?: string }; issues: string[] } {
  const issues: string[] = []
  const pick = (
    key: string,
    value: string | undefined,
    file: string | undefined,
  ): string | undefined => {
    if (file === undefined) return value
    const read = readTokenFile(key, file, readFile)
    if (read.issue !== undefined) issues.push(read.issue)
    return read.value
  }
  const token = pick('tokenFile', a.token, a.tokenFile)
  const readToken = pick('readTokenFile', a.readToken, a.readTokenFile)
  return {
    values: {
      ...(token !== undefined ? { token } : {}),
      ...(readToken !== undefined ? { readToken } : {}),
    },
    issues,
  }
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v)
    Object.freeze(value)
  }
  return value
}

/**
 * Resolves a parsed `health` block (durations already in ms) into a HealthConfig; shared
 * by the load balancer's config and the sidecar's, whose `port` each resolves its own way.
 */
export function resolveHealth(
  h: ParsedConfig['health'],
  port: string | number,
  caPem: string | undefined,
): HealthConfig {
  return {
    port,
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
    proxyProtocol: h.proxyProtocol,
    proxyProtocolSource: h.proxyProtocolSource,
  }
}

function resolve(
  parsed: ParsedConfig,
  caPem: string | undefined,
  tokens: { token?: string; readToken?: string },
): Config {
  const h = parsed.health
  const firstListener = parsed.listeners[0]?.name ?? 'http'
  const admin = parsed.admin
  return {
    listeners: parsed.listeners.map(l => ({
      name: l.name,
      host: l.bind.host,
      port: l.bind.port,
    })),
    members: parsed.members,
    discovery: resolveDiscovery(parsed.discovery),
    health: resolveHealth(h, h.port ?? firstListener, caPem),
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
      ...tokens,
      ...(admin.tls !== undefined ? { tls: admin.tls } : {}),
      ...(admin.insecureBind ? { insecureBind: true as const } : {}),
    },
    workers: parsed.workers === 'auto' ? availableParallelism() : parsed.workers,
    dataPath: parsed.dataPath,
    ...(parsed.redis !== undefined ? { redis: parsed.redis } : {}),
    coordination: {
      ...parsed.coordination,
      probes:
        parsed.coordination.probes ??
        (parsed.coordination.policy === 'quorum' ? 'shared' : 'all'),
    },
    accessLog: parsed.accessLog,
    proxyProtocol: parsed.proxyProtocol,
    proxyProtocolSniWaitMs: parsed.proxyProtocolSniWait,
  }
}

/**
 * Parses config text (YAML) into a deeply frozen Config, or throws ConfigError listing every
 * problem, one line each, as `<key path>: expected …, got …`.
 */
export function parseConfig(text: string, options: LoadOptions = {}): Config {
  const nul = text.indexOf('\0')
  if (nul >= 0) {
    throw new ConfigError('CONFIG_INVALID', [
      `(top level): expected YAML text, got a NUL byte at offset ${nul} (is this a binary file?)`,
    ])
  }
  const parsed = parseYaml(text)
  // An empty file is almost always a mistake (wrong path, a template that rendered
  // nothing) and would start on 0.0.0.0:80 and :443 with no members: refuse it.
  if (parsed === null || parsed === undefined) {
    throw new ConfigError('CONFIG_INVALID', [
      '(top level): the file is empty (or holds only comments); expected a mapping of ' +
        'config keys such as "listeners:" and "members:" (write "members: []" to start ' +
        'with no members)',
    ])
  }
  const problems: EnvProblems = { issues: [], keys: new Set() }
  const expanded = expandEnv(parsed, options.env ?? process.env, [], problems)
  if (!isRecord(expanded)) {
    throw new ConfigError('CONFIG_INVALID', [
      `(top level): expected a mapping of config keys, got ${describeValue(expanded)}`,
    ])
  }
  const issues = [...problems.issues]
  const result = configSchema.safeParse(expanded, { reportInput: true })
  if (!result.success) {
    issues.push(
      ...formatIssues(
        result.error.issues.filter(i => !problems.keys.has(formatPath(i.path))),
      ),
    )
  }
  const readFile = options.readFile ?? (p => readFileSync(p, 'utf8'))
  const ca = readCa(expanded, readFile, problems)
  if (ca.issue !== undefined) issues.push(ca.issue)
  if (!result.success || issues.length > 0)
    throw new ConfigError('CONFIG_INVALID', issues)
  const tokens = adminTokens(result.data.admin, readFile)
  if (tokens.issues.length > 0) throw new ConfigError('CONFIG_INVALID', tokens.issues)
  return deepFreeze(resolve(result.data, ca.caPem, tokens.values))
}

/**
 * Parses YAML text with ${VAR} substitution into plain data for another schema (the
 * sidecar's); throws ConfigError for YAML syntax errors and missing variables.
 */
export function parseYamlWithEnv(text: string, env: NodeJS.ProcessEnv): unknown {
  const problems: EnvProblems = { issues: [], keys: new Set() }
  const expanded = expandEnv(parseYaml(text) ?? {}, env, [], problems)
  if (problems.issues.length > 0) throw new ConfigError('CONFIG_INVALID', problems.issues)
  return expanded
}

/** Reads and parses a config file; see parseConfig. */
export function loadConfigFile(path: string, options: LoadOptions = {}): Config {
  let text: string
  try {
    const size = statSync(path).size
    if (size > MAX_CONFIG_BYTES) {
      throw new ConfigError('CONFIG_INVALID', [
        `(top level): expected a config file of at most ${MAX_CONFIG_BYTES} bytes (1 MiB), got ${size} bytes`,
      ])
    }
    text = readFileSync(path, 'utf8')
  } catch (err) {
    if (err instanceof ConfigError) throw err
    const message = err instanceof Error ? err.message : String(err)
    throw new ConfigError(
      'CONFIG_UNREADABLE',
      [`cannot read config file ${path}: ${message}`],
      {
        cause: err,
      },
    )
  }
  return parseConfig(text, options)
}
