// Parsed config (schema output) → Config (types.ts): listener binds split, health
// intervals defaulted, durations renamed with their unit, admin tokens read from their
// files, the CA bundle read, "auto" workers resolved to the core count.
import { availableParallelism } from 'node:os'
import { readTokenFile } from './admin-schema.js'
import { resolveDiscovery } from './discovery-schema.js'
import type { EnvProblems } from './env.js'
import type { ParsedConfig } from './schema.js'
import type { Config, HealthConfig } from './types.js'

/** Reads health.tls.ca from the unvalidated config, so a bad path is reported with the rest. */
export function readCa(
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
export function adminTokens(
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

/** Whether `value` is a mapping (an object, not null, not an array). */
export function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
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

/** The Config of a parsed file, given the CA bundle and admin tokens already read. */
export function resolve(
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
