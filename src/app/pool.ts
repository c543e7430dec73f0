// The pool a config describes, and what the app does when the pool reports: a log line
// and the state metrics for each member change, open connections closed on a member
// marked down (health.onMarkedDown), and the quorum log (quorum.ts) on count changes.
// The decisions stay in pool/ (pure); this file only listens.
import type { Logger } from 'pino'
import type { Config, MemberConfig } from '../config/types.js'
import { recordMemberState } from '../metrics/control-plane-families.js'
import { forgetMember, type Metrics } from '../metrics/registry.js'
import { Pool, type PoolOptions } from '../pool/pool.js'
import type { MemberChange, MemberEndpoint } from '../pool/types.js'
import { QuorumLog } from './quorum.js'

/** Pool options from the config: thresholds, health before the first probe, policy. */
export function poolOptions(config: Config): PoolOptions {
  return {
    thresholds: { rise: config.health.rise, fall: config.health.fall },
    initialHealth: config.health.initialState,
    // Shared facts only exist with a shared store; alone, the own verdict is the verdict.
    policy: config.redis !== undefined ? config.coordination.policy : 'local',
  }
}

/** A config file member as the pool holds it (source "config"). */
export function configEndpoint(m: MemberConfig): MemberEndpoint {
  return {
    id: m.id,
    address: m.address,
    ports: m.ports,
    weight: m.weight,
    source: 'config',
    ...(m.proxyProtocol !== undefined ? { proxyProtocol: m.proxyProtocol } : {}),
  }
}

/** What the pool's listeners report to. */
export interface PoolWatch {
  readonly log: Logger
  readonly metrics: Metrics
  /** The config in force (health.onMarkedDown may change on reload). */
  config(): Config
  closeConnectionsTo(member: string): void
}

/**
 * A pool with the config file's members, its change events already wired (so their
 * arrival is logged and counted like any later change) and the quorum log started.
 */
export function createPool(config: Config, now: number, w: PoolWatch): Pool {
  const pool = new Pool(poolOptions(config))
  pool.onChange(change => {
    onMemberChange(change, w)
  })
  for (const m of config.members) pool.upsert(configEndpoint(m), now)
  const quorumLog = new QuorumLog(w.log)
  quorumLog.update(pool.counts())
  pool.onCountsChanged(counts => {
    quorumLog.update(counts)
  })
  return pool
}

function onMemberChange(change: MemberChange, w: PoolWatch): void {
  const { id, from, to, reason } = change
  const level = to === 'down' && from !== 'absent' ? 'warn' : 'info'
  w.log[level]({ member: id, from, to, reason }, 'member state changed')
  if (from !== 'absent' && to !== 'absent') {
    w.metrics.transitions.inc({ member: id, from, to })
  }
  if (to === 'absent') forgetMember(w.metrics, id)
  else recordMemberState(w.metrics, id, to)
  if (
    to === 'down' &&
    from === 'up' &&
    w.config().health.onMarkedDown === 'close-connections'
  ) {
    w.closeConnectionsTo(id)
    w.log.warn({ member: id }, 'closing the connections of a member marked down')
  }
}
