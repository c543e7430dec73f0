// The Redis connection of redis-store.ts: connection options (fail fast, bounded
// reconnect backoff, Sentinel), the Lua scripts as ioredis commands, and the pub/sub
// notice format. Nothing here talks to Redis by itself.
import type { RedisOptions } from 'ioredis'
import type { RedisConfig } from '../config/coordination-schema.js'
import * as scripts from './redis-scripts.js'
import type { RedisSecrets } from './redis-secrets.js'
import type { Reply } from './snapshot-decode.js'
import { CONFIG_ERROR_RETRY_MS } from './store-fault.js'
import type { StoreNotice } from './store.js'

/** Reconnect backoff: 100 ms doubling to at most this. */
export const MAX_RECONNECT_DELAY_MS = 2_000
/** How long one command may take before it counts as a failure. */
export const COMMAND_TIMEOUT_MS = 1_000

/** The scripts of redis-scripts.ts as ioredis commands: keys first, then arguments. */
export interface Commands {
  putMember(...keysThenArgv: string[]): Promise<string>
  deleteMember(...keysThenArgv: string[]): Promise<number>
  repairMembers(...keysThenArgv: string[]): Promise<number>
  seed(k1: string, k2: string, k3: string, k4: string, ...argv: string[]): Promise<number>
  heartbeat(
    k1: string,
    k2: string,
    k3: string,
    id: string,
    json: string,
    ttl: string,
  ): Promise<number>
  leave(
    k1: string,
    k2: string,
    k3: string,
    k4: string,
    id: string,
    notice: string,
  ): Promise<number>
  putObservation(
    k1: string,
    k2: string,
    k3: string,
    member: string,
    obs: string,
    verdict: string,
    ttl: string,
    notice: string,
  ): Promise<number>
  putObservations(k1: string, k2: string, k3: string, ...argv: string[]): Promise<number>
  putSidecar(
    k1: string,
    k2: string,
    member: string,
    json: string,
    notice: string,
  ): Promise<number>
  drain(...keysThenArgv: string[]): Promise<Reply[]>
  releaseDrain(
    k1: string,
    k2: string,
    member: string,
    holder: string,
    notice: string,
  ): Promise<number>
  snapshot(...keysThenArgv: string[]): Promise<Reply[]>
}

/** Each command's script and key count (ioredis defineCommand). */
export const SCRIPTS: Record<keyof Commands, { lua: string; numberOfKeys: number }> = {
  putMember: { lua: scripts.PUT_MEMBER, numberOfKeys: 6 },
  deleteMember: { lua: scripts.DELETE_MEMBER, numberOfKeys: 5 },
  repairMembers: { lua: scripts.REPAIR_MEMBERS, numberOfKeys: 4 },
  seed: { lua: scripts.SEED, numberOfKeys: 4 },
  heartbeat: { lua: scripts.HEARTBEAT, numberOfKeys: 3 },
  leave: { lua: scripts.LEAVE, numberOfKeys: 4 },
  putObservation: { lua: scripts.PUT_OBSERVATION, numberOfKeys: 3 },
  putObservations: { lua: scripts.PUT_OBSERVATIONS, numberOfKeys: 3 },
  putSidecar: { lua: scripts.PUT_SIDECAR, numberOfKeys: 2 },
  drain: { lua: scripts.DRAIN, numberOfKeys: 5 },
  releaseDrain: { lua: scripts.RELEASE_DRAIN, numberOfKeys: 2 },
  snapshot: { lua: scripts.SNAPSHOT, numberOfKeys: 8 },
}

/** `redis://user:secret@host` → `redis://user:***@host`: never log a password. */
export function redactUrl(url: string): string {
  return url.replace(/^(rediss?:\/\/)([^@/]*)@/, (_all, scheme: string, auth: string) => {
    const user = auth.includes(':') ? auth.slice(0, auth.indexOf(':')) : ''
    return `${scheme}${user}:***@`
  })
}

/** Longest wait for a closed connection's socket to finish (see connectionOptions). */
const DISCONNECT_TIMEOUT_MS = 100

/**
 * ioredis options for one connection of `config` (the subscriber duplicates them; with
 * Sentinel the same TLS options serve the sentinels and the primary). `secrets` are the
 * files read by redis-secrets.ts; `slowRetry` says whether the last failure was a
 * configuration error, which retrying every 2 s will not fix.
 */
export function connectionOptions(
  config: RedisConfig,
  secrets: RedisSecrets = {},
  slowRetry: () => boolean = () => false,
): RedisOptions {
  const backoff = (times: number): number =>
    slowRetry()
      ? CONFIG_ERROR_RETRY_MS
      : Math.min(100 * 2 ** Math.min(times - 1, 10), MAX_RECONNECT_DELAY_MS)
  const password = secrets.password ?? config.password
  const common: RedisOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: COMMAND_TIMEOUT_MS * 2,
    // close() ends the socket and waits this long for it to close before destroying it:
    // ioredis' 2 s default kept a stopping process alive that long when Redis was down.
    disconnectTimeout: DISCONNECT_TIMEOUT_MS,
    retryStrategy: backoff,
    ...(password !== undefined && password !== '' ? { password } : {}),
    ...(config.username !== undefined ? { username: config.username } : {}),
    ...(secrets.tls !== undefined ? { tls: secrets.tls } : {}),
  }
  if (config.sentinels !== undefined) {
    return {
      ...common,
      sentinels: config.sentinels.map(s => ({ host: s.host, port: s.port })),
      name: config.name ?? 'mymaster',
      sentinelRetryStrategy: backoff,
      // After a failover the old primary may come back as a replica: reconnect on READONLY.
      reconnectOnError: err => err.message.startsWith('READONLY'),
      ...(config.db !== undefined ? { db: config.db } : {}),
      ...(secrets.tls !== undefined
        ? { enableTLSForSentinelMode: true, sentinelTLS: secrets.tls }
        : {}),
    }
  }
  return common
}

/** A "something changed" notice as published. */
export function notice(kind: StoreNotice['kind'], from: string): string {
  return JSON.stringify({ kind, from })
}

const NOTICE_KINDS = new Set([
  'members',
  'observations',
  'instances',
  'sidecars',
  'drains',
])

/** A pub/sub message; anything else on the channel is ignored (the resync still runs). */
export function parseNotice(message: string): StoreNotice | undefined {
  if (message.length > 1_024) return undefined
  try {
    const json: unknown = JSON.parse(message)
    if (typeof json !== 'object' || json === null) return undefined
    const kind = 'kind' in json ? json.kind : undefined
    const from = 'from' in json ? json.from : undefined
    if (typeof kind !== 'string' || !NOTICE_KINDS.has(kind) || typeof from !== 'string') {
      return undefined
    }
    return { kind: kind as StoreNotice['kind'], from }
  } catch {
    return undefined
  }
}
