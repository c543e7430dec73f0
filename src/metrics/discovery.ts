// Metrics of DNS discovery (src/discovery/) and of where members come from, registered
// on the app's registry beside the families of control-plane-families.ts.
import { Counter, Gauge, type Registry } from 'prom-client'
import { ANSWER_FAILURES } from '../discovery/reconcile.js'

/** Discovery metric handles. */
export interface DiscoveryMetrics {
  /** corral_discovery_polls_total{discovery,result}: DNS queries by outcome. */
  readonly polls: Counter<'discovery' | 'result'>
  /** corral_discovery_last_success_timestamp_seconds{discovery}: wall time of the last good answer. */
  readonly lastSuccess: Gauge<'discovery'>
  /** corral_discovery_fail_static{discovery}: 1 while queries fail and the last good set is kept. */
  readonly failStatic: Gauge<'discovery'>
  /** corral_discovery_members{discovery}: members of this source in the pool. */
  readonly members: Gauge<'discovery'>
  /** corral_discovery_actions_total{discovery,action,result}: pool changes made or attempted. */
  readonly actions: Counter<'discovery' | 'action' | 'result'>
  /** corral_pool_members_by_source{source}: members per source (config, api, sidecar, dns:<name>). */
  readonly bySource: Gauge<'source'>
}

/** Every poll result label. */
const RESULTS = ['success', 'suspicious', ...ANSWER_FAILURES] as const

/** Registers the discovery families on `register`. */
export function createDiscoveryMetrics(register: Registry): DiscoveryMetrics {
  return {
    polls: new Counter({
      name: 'corral_discovery_polls_total',
      help: 'DNS discovery queries by result: success, suspicious (held until it repeats), or why it failed (timeout, servfail, refused, nxdomain, empty, error).',
      labelNames: ['discovery', 'result'],
      registers: [register],
    }),
    lastSuccess: new Gauge({
      name: 'corral_discovery_last_success_timestamp_seconds',
      help: 'Unix time of the last good DNS answer of a discovery source (0: none yet).',
      labelNames: ['discovery'],
      registers: [register],
    }),
    failStatic: new Gauge({
      name: 'corral_discovery_fail_static',
      help: 'Whether a discovery source is failing static: 1 while its queries fail and its last good member set is kept.',
      labelNames: ['discovery'],
      registers: [register],
    }),
    members: new Gauge({
      name: 'corral_discovery_members',
      help: 'Members of a discovery source in the pool (draining ones included).',
      labelNames: ['discovery'],
      registers: [register],
    }),
    actions: new Counter({
      name: 'corral_discovery_actions_total',
      help: 'Pool changes a discovery source made (add, update, remove) by result (success, or failure when the pool store refused the write).',
      labelNames: ['discovery', 'action', 'result'],
      registers: [register],
    }),
    bySource: new Gauge({
      name: 'corral_pool_members_by_source',
      help: 'Members in the pool by who added them: config, api, sidecar, or dns:<discovery name>.',
      labelNames: ['source'],
      registers: [register],
    }),
  }
}

/** Starts a source's series at zero, so a dashboard sees it before its first poll. */
export function initDiscoverySeries(m: DiscoveryMetrics, discovery: string): void {
  for (const result of RESULTS) m.polls.inc({ discovery, result }, 0)
  m.lastSuccess.set({ discovery }, 0)
  m.failStatic.set({ discovery }, 0)
  m.members.set({ discovery }, 0)
}
