// Health results into the pool: active probe results (from the checker) and passive ones
// (a client connection that could not reach a member) are counted, fed to the pool, which
// decides; a changed verdict goes to the coordinator, the checker gets its interval hint
// (probe faster while a transition is pending) and the picker is republished.
import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import type { Config } from '../config/types.js'
import { HealthChecker, type ProbeKind } from '../health/checker.js'
import type { Metrics } from '../metrics/registry.js'
import type { Pool } from '../pool/pool.js'
import type { CheckResult, Health } from '../pool/types.js'

/** Where a result came from: a probe of the checker, or a failed client connection. */
export type ResultSource = ProbeKind | 'passive'

/** What results are reported to. */
export interface HealthWiring {
  readonly pool: Pool
  readonly metrics: Metrics
  readonly log: Logger
  readonly clock: Clock
  /** This instance's verdict on a member changed (the coordinator publishes it). */
  observed(member: string, health: Health, reason: string): void
  /** The checker that gets interval hints (built after this wiring, hence a function). */
  checker(): HealthChecker
  /** Republishes the picker if routing changed. */
  publish(): void
}

/** The checker over the config's health settings; results go to `onResult`. */
export function createChecker(
  config: Config,
  deps: { readonly clock: Clock; readonly log: Logger },
  onResult: (member: string, result: CheckResult, source: ResultSource) => void,
): HealthChecker {
  return new HealthChecker(
    {
      health: config.health,
      listeners: config.listeners,
      proxyProtocol: config.proxyProtocol,
    },
    { clock: deps.clock, log: deps.log, onResult },
  )
}

/** The handler of every health result (see the file comment). */
export function resultHandler(
  w: HealthWiring,
): (member: string, result: CheckResult, source: ResultSource) => void {
  return (member, result, source) => {
    if (source !== 'passive') {
      if (!result.ok)
        w.log.debug(
          { member, reason: result.reason, detail: result.detail },
          'check failed',
        )
      w.metrics.healthChecks.inc({ member, result: checkResultLabel(result) })
      if (result.latencyMs !== undefined) {
        w.metrics.healthCheckDuration.observe({ member }, result.latencyMs / 1000)
      }
    }
    const step = w.pool.observe(member, result, w.clock.now())
    if (step === undefined) return
    // Deduplicated inside: only a changed verdict (or probe kind) reaches the store.
    w.observed(member, step.health.health, step.health.reason)
    w.checker().setIntervalHint(
      member,
      w.pool.isPending(member)
        ? 'pending'
        : step.health.health === 'down'
          ? 'down'
          : 'steady',
    )
    if (step.change === 'pending' && source === 'passive') {
      w.log.warn({ member, reason: describe(result) }, 'member connect failed')
    }
    w.publish()
  }
}

/** Maps a probe result onto the health-check metric's result label. */
function checkResultLabel(r: CheckResult): 'success' | 'failure' | 'timeout' | 'error' {
  if (r.ok) return 'success'
  if (r.reason === 'timeout') return 'timeout'
  if (r.reason === 'bad-status') return 'failure'
  return 'error'
}

function describe(r: CheckResult): string {
  return r.ok ? 'ok' : `${r.reason}: ${r.detail}`
}
