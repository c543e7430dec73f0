// Metrics of the shared pool (coordination/), registered on the app's registry beside
// registry.ts's families. corral_coordination_store_up itself lives in registry.ts.
import { Counter, Gauge, type Registry } from 'prom-client'
import type { InvalidEntry } from '../coordination/store.js'

/** Coordination metric handles. */
export interface CoordinationMetrics {
  /** corral_coordination_store_info{store}: 1 for the store in use ("memory" or "redis"). */
  readonly info: Gauge<'store'>
  /** corral_coordination_instances: live instances sharing the pool (this one included). */
  readonly instances: Gauge
  /** corral_coordination_invalid_entries_total{kind}: unreadable stored values skipped. */
  readonly invalidEntries: Counter<'kind'>
  /** corral_coordination_syncs_total{result}: full re-reads of the shared pool. */
  readonly syncs: Counter<'result'>
  /** corral_coordination_probed_members: members whose /health this instance probes. */
  readonly probedMembers: Gauge
}

const KINDS: readonly InvalidEntry['kind'][] = [
  'member',
  'instance',
  'observation',
  'sidecar',
  'drain',
  'verdict',
  'version',
]

/** Registers the coordination families on `register`. */
export function createCoordinationMetrics(register: Registry): CoordinationMetrics {
  const m: CoordinationMetrics = {
    info: new Gauge({
      name: 'corral_coordination_store_info',
      help: 'The pool store in use: 1 for the store label ("memory" or "redis").',
      labelNames: ['store'],
      registers: [register],
    }),
    instances: new Gauge({
      name: 'corral_coordination_instances',
      help: 'Live corral instances sharing this pool, this one included (1 without a shared store).',
      registers: [register],
    }),
    invalidEntries: new Counter({
      name: 'corral_coordination_invalid_entries_total',
      help: 'Values read from the shared store that did not parse and were skipped, by record kind.',
      labelNames: ['kind'],
      registers: [register],
    }),
    syncs: new Counter({
      name: 'corral_coordination_syncs_total',
      help: 'Full re-reads of the shared pool, by result.',
      labelNames: ['result'],
      registers: [register],
    }),
    probedMembers: new Gauge({
      name: 'corral_coordination_probed_members',
      help: 'Members whose /health this instance probes (the others get a reachability check).',
      registers: [register],
    }),
  }
  m.info.set({ store: 'memory' }, 1)
  m.instances.set(1)
  for (const kind of KINDS) m.invalidEntries.inc({ kind }, 0)
  m.syncs.inc({ result: 'success' }, 0)
  m.syncs.inc({ result: 'failure' }, 0)
  return m
}
