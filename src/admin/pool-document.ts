// The pool API's JSON document (GET /api/v1/pool) and one member's JSON: what operators
// and the status page read. Rendering only; the numbers come from the pool, the data path
// and the coordinator.
import type { ListenerConfig } from '../config/types.js'
import {
  effectiveProxyProtocol,
  type ProxyProtocolVersion,
} from '../config/proxy-protocol-schema.js'
import type { CoordinationStatus } from '../coordination/coordinator.js'
import { memberPort } from '../health/target.js'
import { quorumStatus } from '../pool/quorum.js'
import {
  MEMBER_STATES,
  type CheckResult,
  type MemberSource,
  type MemberView,
} from '../pool/types.js'

/** What rendering needs besides the views. */
export interface DocumentContext {
  /** Monotonic now and wall now (ms), to turn monotonic times into ISO timestamps. */
  readonly now: number
  readonly wallNow: number
  readonly listeners: readonly ListenerConfig[]
  /** Open connections to a member on this instance. */
  load(member: string): number
  /** Ids of the config file's members (older shared records carry no source). */
  readonly configIds?: ReadonlySet<string>
  /** The pool's PROXY protocol default (config `proxyProtocol`); absent = "off". */
  readonly proxyProtocol?: ProxyProtocolVersion
  /** What the shared store says about a member (peers' verdicts), if shared. */
  shared?(member: string): Record<string, unknown> | undefined
}

function checkJson(
  r: { at: number; result: CheckResult },
  wall: (at: number) => string,
): Record<string, unknown> {
  return {
    at: wall(r.at),
    ok: r.result.ok,
    ...(r.result.ok ? {} : { reason: r.result.reason, detail: r.result.detail }),
    ...(r.result.latencyMs !== undefined
      ? { latencyMs: Math.round(r.result.latencyMs * 10) / 10 }
      : {}),
    ...(r.result.status !== undefined ? { status: r.result.status } : {}),
  }
}

/**
 * Who added a member: its own `source`, or for a record written before sources existed,
 * "config" if the config file lists its id and "api" otherwise.
 */
export function memberSource(
  v: MemberView,
  configIds: ReadonlySet<string> | undefined,
): MemberSource {
  return v.source ?? (configIds?.has(v.id) === true ? 'config' : 'api')
}

/** One member as the pool API shows it. */
export function memberDocument(
  v: MemberView,
  ctx: DocumentContext,
): Record<string, unknown> {
  const wall = (at: number): string =>
    new Date(ctx.wallNow - (ctx.now - at)).toISOString()
  const last = v.recent.at(-1)
  const ports = Object.fromEntries(ctx.listeners.map(l => [l.name, memberPort(v, l)]))
  const shared = ctx.shared?.(v.id)
  return {
    id: v.id,
    address: v.address,
    ports,
    weight: v.weight,
    source: memberSource(v, ctx.configIds),
    // Effective: a member that does not expect the header breaks, so it is always shown.
    proxyProtocol: effectiveProxyProtocol(v, ctx.proxyProtocol ?? 'off'),
    state: v.state,
    health: v.health,
    ...(v.ownHealth !== undefined ? { ownHealth: v.ownHealth } : {}),
    admin: v.admin,
    reason: v.reason,
    since: wall(v.stateSince),
    secondsInState: Math.round((ctx.now - v.stateSince) / 100) / 10,
    activeConnections: ctx.load(v.id),
    lastCheck: last === undefined ? null : checkJson(last, wall),
    recentChecks: v.recent.map(r => checkJson(r, wall)),
    removing: v.removing,
    ...(shared !== undefined ? { shared } : {}),
  }
}

/**
 * The pool summary: size, states, live and routable counts, quorum arithmetic. `live`
 * counts effective verdicts (shared facts included) whatever the admin state; quorum is
 * judged on it. `up` is the old name of `routable`, kept for one release (README).
 */
export function poolSummary(views: readonly MemberView[]): Record<string, unknown> {
  const q = quorumStatus({
    size: views.length,
    live: views.filter(v => v.health === 'up').length,
    routable: views.filter(v => v.state === 'up').length,
  })
  return {
    size: q.size,
    live: q.live,
    routable: q.routable,
    up: q.routable,
    states: Object.fromEntries(
      MEMBER_STATES.map(s => [s, views.filter(v => v.state === s).length]),
    ),
    quorumSize: q.quorumSize,
    quorum: q.quorum,
    failuresTolerated: q.failuresTolerated,
    quorumShortfall: q.quorumShortfall,
    evenSize: q.size > 0 && q.size % 2 === 0,
  }
}

/**
 * The coordination part of the summary: the store in use ("memory", embedded, on one
 * instance; "redis" shared), connected, live instances, drains; fencing only when shared.
 */
export function coordinationDocument(
  status: CoordinationStatus,
  fence?: { readonly fenced: boolean; readonly reason: string },
  drainBudget?: number,
): Record<string, unknown> {
  return {
    store: status.store,
    target: status.target,
    connected: status.connected,
    instanceId: status.instanceId,
    instances: status.instances.length,
    instanceIds: status.instances,
    policy: status.policy,
    probes: status.probes,
    version: status.version,
    probing: status.probing,
    lastSyncAgoMs: status.lastSyncAgoMs,
    drains: status.drains,
    storeError:
      status.fault === undefined
        ? null
        : {
            cause: status.fault.cause,
            hint: status.fault.hint,
            message: status.fault.message,
          },
    ...(drainBudget !== undefined ? { drainBudget } : {}),
    ...(fence !== undefined ? { fenced: fence.fenced, fenceReason: fence.reason } : {}),
  }
}
