// SIGHUP: applies a new config without dropping open connections. config/diff.ts says
// what changed (pure); this applies it: health settings to the pool and the checker,
// member edits through the coordinator (as admin API calls are), timeouts and limits to
// the data path, a fresh picker.
// Listener, admin and workers changes need a restart: they keep their running values
// and are reported. The admin certificates are re-read on every SIGHUP, valid file or not.
import type { Logger } from 'pino'
import type { AdminServer } from '../admin/server.js'
import type { Clock } from '../clock.js'
import { diffConfig } from '../config/diff.js'
import type { Config } from '../config/types.js'
import type { Coordinator } from '../coordination/coordinator.js'
import type { HealthChecker } from '../health/checker.js'
import type { Metrics } from '../metrics/registry.js'
import type { Pool } from '../pool/pool.js'
import type { MemberEndpoint } from '../pool/types.js'
import type { DataPath } from '../proxy/data-path.js'
import { reloadAdminCertificates } from './admin-tls.js'
import { configEndpoint, poolOptions } from './pool.js'
import type { Routing } from './routing.js'

/** The outcome of a config reload. */
export interface ReloadOutcome {
  readonly applied: boolean
  readonly warnings: readonly string[]
}

/** What a reload changes. */
export interface ReloadTarget {
  readonly pool: Pool
  readonly checker: HealthChecker
  readonly dataPath: DataPath
  readonly coordinator: Coordinator
  readonly routing: Routing
  readonly metrics: Metrics
  readonly log: Logger
  readonly clock: Clock
  /** The admin server once started. */
  admin(): AdminServer | undefined
}

/** Applies `next` over `running`; returns the config now in force and the outcome. */
export function applyReload(
  running: Config,
  next: Config,
  t: ReloadTarget,
): { readonly config: Config; readonly outcome: ReloadOutcome } {
  reloadAdminCertificates(t.admin(), t.log)
  const plan = diffConfig(running, next)
  const now = t.clock.now()
  // Restart-only keys keep their running values, so the next reload still warns and
  // member ports keep resolving against the listeners actually bound.
  const config: Config = {
    ...next,
    listeners: running.listeners,
    admin: running.admin,
    workers: running.workers,
  }
  if (plan.healthChanged) {
    t.pool.setOptions(poolOptions(next), now)
    t.checker.updateHealthConfig(next.health)
  }
  t.checker.setPoolProxyProtocol(next.proxyProtocol)
  // The file's member edits are the operator's intent, written like admin API calls
  // through the coordinator (resolved within microtasks on the embedded store).
  void reloadMembers(
    t.coordinator,
    t,
    plan.membersAdded.map(configEndpoint),
    plan.membersChanged.map(configEndpoint),
    plan.membersRemoved,
  )
  t.dataPath.setOptions({
    connectTimeoutMs: next.timeouts.connectMs,
    idleTimeoutMs: next.timeouts.idleMs,
    connectAttempts: next.limits.connectAttempts,
    maxConnections: next.limits.maxConnections,
    proxyProtocol: next.proxyProtocol,
    proxyProtocolSniWaitMs: next.proxyProtocolSniWaitMs,
  })
  t.checker.setMembers(t.pool.views())
  t.routing.publish(true)
  for (const w of plan.warnings) t.log.warn({}, w)
  t.metrics.configReloads.inc({ result: 'success' })
  t.log.info(
    {
      added: plan.membersAdded.map(m => m.id),
      removed: plan.membersRemoved,
      changed: plan.membersChanged.map(m => m.id),
      healthChanged: plan.healthChanged,
    },
    'config reloaded',
  )
  t.routing.warnIfEven()
  return { config, outcome: { applied: true, warnings: plan.warnings } }
}

/** A reload that failed validation (the old config stays): counted, certificates re-read. */
export function recordFailedReload(
  t: Pick<ReloadTarget, 'admin' | 'log' | 'metrics'>,
): void {
  reloadAdminCertificates(t.admin(), t.log)
  t.metrics.configReloads.inc({ result: 'failure' })
}

/**
 * A reload's member edits, applied to the pool store like admin API calls
 * (docs/coordination.md). If the store (Redis) is unreachable they are not applied
 * anywhere, and the log says so: send SIGHUP again once it is back.
 */
async function reloadMembers(
  c: Coordinator,
  t: Pick<ReloadTarget, 'routing' | 'log'>,
  added: readonly MemberEndpoint[],
  changed: readonly MemberEndpoint[],
  removed: readonly string[],
): Promise<void> {
  try {
    for (const m of [...added, ...changed]) await c.upsert(m, 'config reload')
    for (const id of removed) await c.remove(id)
    t.routing.membershipChanged(added.length > 0)
  } catch (err) {
    t.log.error(
      { err, added: added.map(m => m.id), removed },
      'config reload could not update the shared pool (store unreachable?): member changes not applied; send SIGHUP again once it answers',
    )
  }
}
