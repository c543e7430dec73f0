import { isDeepStrictEqual } from 'node:util'
import type { Config, ListenerConfig, MemberConfig } from './types.js'

// What a SIGHUP reload changes, as data: app/reload.ts applies the live parts and logs the
// warnings. docs/config.md ("What a reload (SIGHUP) applies live ...") mirrors APPLY_MODE.

/** How a changed top-level key takes effect: on the reload itself, or only after a restart. */
export type ApplyMode = 'live' | 'restart'

/** Top-level Config keys without a field of their own in ReloadPlan. */
export type OtherConfigKey =
  | 'slowStartMs'
  | 'allDown'
  | 'timeouts'
  | 'limits'
  | 'workers'
  | 'redis'
  | 'coordination'
  | 'dataPath'
  | 'accessLog'
  | 'discovery'
  | 'proxyProtocol'
  | 'proxyProtocolSniWaitMs'

/**
 * How each top-level Config key is applied on reload. Listeners and the admin API own bound
 * sockets, and workers is the process count, all fixed at start; the rest is read per
 * connection, per probe or per pick, so it can change under a running process.
 */
export const APPLY_MODE: { readonly [K in keyof Config]: ApplyMode } = {
  listeners: 'restart',
  members: 'live',
  // One poller per source, built at start (docs/config.md, "discovery").
  discovery: 'restart',
  health: 'live',
  balance: 'live',
  slowStartMs: 'live',
  allDown: 'live',
  timeouts: 'live',
  limits: 'live',
  admin: 'restart',
  workers: 'restart',
  // The store connection and instance identity are fixed at start (docs/coordination.md).
  redis: 'restart',
  coordination: 'restart',
  dataPath: 'restart',
  // Workers open the log at start; SIGHUP and SIGUSR1 reopen it (rotation), no more.
  accessLog: 'restart',
  // Read per connection (the header) and per probe: new connections and checks use it.
  proxyProtocol: 'live',
  proxyProtocolSniWaitMs: 'live',
}

const OTHER_KEYS: readonly OtherConfigKey[] = [
  'slowStartMs',
  'allDown',
  'timeouts',
  'limits',
  'workers',
  'redis',
  'coordination',
  'dataPath',
  'accessLog',
  'discovery',
  'proxyProtocol',
  'proxyProtocolSniWaitMs',
]

/** What reloading from `old` to `next` changes, and what of it waits for a restart. */
export interface ReloadPlan {
  /** Members whose id is new, in `next`'s order; live. */
  readonly membersAdded: readonly MemberConfig[]
  /** Ids of members no longer configured, in `old`'s order; live (their connections drain). */
  readonly membersRemoved: readonly string[]
  /** Members kept (same id) whose address, ports or weight changed, as in `next`; live. */
  readonly membersChanged: readonly MemberConfig[]
  /** Any health check setting changed (including the CA file's contents); live. */
  readonly healthChanged: boolean
  /** The balancing algorithm changed; live (the pool publishes a new picker). */
  readonly balanceChanged: boolean
  /** A listener was added, removed or rebound; needs a restart (see warnings). */
  readonly listenersChanged: boolean
  /** The admin API's address or token changed; needs a restart (see warnings). */
  readonly adminChanged: boolean
  /** Other changed top-level keys, in a fixed order; APPLY_MODE says which apply live. */
  readonly otherChanged: readonly OtherConfigKey[]
  /** Changed top-level keys that take effect only after a restart; empty if none. */
  readonly restartNeeded: readonly (keyof Config)[]
  /** One line per change in restartNeeded, for the log: "<key> changed: restart corral to apply ...". */
  readonly warnings: readonly string[]
}

function formatBind(l: ListenerConfig): string {
  return l.host.includes(':') ? `[${l.host}]:${l.port}` : `${l.host}:${l.port}`
}

/** Listener differences by name (order alone is no change); undefined if none. */
function describeListenerChanges(
  old: readonly ListenerConfig[],
  next: readonly ListenerConfig[],
): string | undefined {
  const before = new Map(old.map(l => [l.name, l]))
  const after = new Map(next.map(l => [l.name, l]))
  const added = next.filter(l => !before.has(l.name)).map(l => l.name)
  const removed = old.filter(l => !after.has(l.name)).map(l => l.name)
  const rebound = next.flatMap(l => {
    const was = before.get(l.name)
    return was !== undefined && formatBind(was) !== formatBind(l)
      ? [`${l.name} ${formatBind(was)} → ${formatBind(l)}`]
      : []
  })
  const parts = [
    ...(added.length > 0 ? [`added ${added.join(', ')}`] : []),
    ...(removed.length > 0 ? [`removed ${removed.join(', ')}`] : []),
    ...(rebound.length > 0 ? [`rebound ${rebound.join(', ')}`] : []),
  ]
  return parts.length > 0 ? parts.join('; ') : undefined
}

/** Computes the reload plan from the running config to the newly loaded one. */
export function diffConfig(old: Config, next: Config): ReloadPlan {
  const oldMembers = new Map(old.members.map(m => [m.id, m]))
  const nextIds = new Set(next.members.map(m => m.id))
  const membersAdded = next.members.filter(m => !oldMembers.has(m.id))
  const membersRemoved = old.members.filter(m => !nextIds.has(m.id)).map(m => m.id)
  const membersChanged = next.members.filter(m => {
    const was = oldMembers.get(m.id)
    return was !== undefined && !isDeepStrictEqual(was, m)
  })

  const listenerChanges = describeListenerChanges(old.listeners, next.listeners)
  const adminChanged = !isDeepStrictEqual(old.admin, next.admin)
  const otherChanged = OTHER_KEYS.filter(key => !isDeepStrictEqual(old[key], next[key]))

  const restartNeeded: (keyof Config)[] = []
  const warnings: string[] = []
  if (listenerChanges !== undefined) {
    restartNeeded.push('listeners')
    warnings.push(`listeners changed: restart corral to apply (${listenerChanges})`)
  }
  if (adminChanged) {
    restartNeeded.push('admin')
    // Says nothing of the values: the token is a secret.
    warnings.push('admin changed: restart corral to apply')
  }
  for (const key of otherChanged) {
    if (APPLY_MODE[key] === 'restart') {
      restartNeeded.push(key)
      warnings.push(`${key} changed: restart corral to apply`)
    }
  }

  return {
    membersAdded,
    membersRemoved,
    membersChanged,
    healthChanged: !isDeepStrictEqual(old.health, next.health),
    balanceChanged: old.balance !== next.balance,
    listenersChanged: listenerChanges !== undefined,
    adminChanged,
    otherChanged,
    restartNeeded,
    warnings,
  }
}
