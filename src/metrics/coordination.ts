// Metrics of the shared pool (coordination/), registered on the app's registry beside
// the families of control-plane-families.ts, where corral_coordination_store_up itself
// lives.
import { Counter, Gauge, type Registry } from 'prom-client'
import type { InvalidEntry } from '../coordination/store.js'
import { STORE_FAULT_CAUSES, type StoreFault } from '../coordination/store-fault.js'

/** Coordination metric handles. */
export interface CoordinationMetrics {
  /** corral_coordination_store_info{store}: 1 for the store in use ("memory" or "redis"). */
  readonly info: Gauge<'store'>
  /** corral_coordination_instances: live instances sharing the pool (this one included). */
  readonly instances: Gauge
  /** corral_coordination_invalid_entries_total{kind}: unreadable stored values skipped. */
  readonly invalidEntries: Counter<'kind'>
  /** corral_coordination_repairs_total{kind}: damaged or vanished records rewritten from good copies. */
  readonly repairs: Counter<'kind'>
  /** corral_coordination_syncs_total{result}: full re-reads of the shared pool. */
  readonly syncs: Counter<'result'>
  /** corral_coordination_probed_members: members whose /health this instance probes. */
  readonly probedMembers: Gauge
  /** corral_fenced: 1 while this instance has fenced itself (unready; see coordination/fencing.ts). */
  readonly fenced: Gauge
  /** corral_drain_leases{member,holder}: 1 per unexpired drain lease (who holds the budget). */
  readonly drainLeases: Gauge<'member' | 'holder'>
  /** corral_drain_budget: drains that may run at once now, leases included. */
  readonly drainBudget: Gauge
  /** corral_coordination_store_error{cause}: 1 for the cause the store fails with now. */
  readonly storeError: Gauge<'cause'>
}

const KINDS: readonly InvalidEntry['kind'][] = [
  'member',
  'instance',
  'observation',
  'sidecar',
  'drain',
  'verdict',
  'version',
  'tombstone',
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
    repairs: new Counter({
      name: 'corral_coordination_repairs_total',
      help: 'Damaged or vanished shared pool records this instance rewrote from its last good copy, by record kind (member, observation).',
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
    fenced: new Gauge({
      name: 'corral_fenced',
      help: 'Whether this instance fenced itself (1: it alone sees every member down while live peers see them up; /readyz is 503).',
      registers: [register],
    }),
    drainLeases: new Gauge({
      name: 'corral_drain_leases',
      help: 'Unexpired drain leases: 1 per member being drained, labelled with who holds that unit of the drain budget.',
      labelNames: ['member', 'holder'],
      registers: [register],
    }),
    drainBudget: new Gauge({
      name: 'corral_drain_budget',
      help: 'Drains the pool can afford at once (a majority stays routable), counting the leases held now.',
      registers: [register],
    }),
    storeError: new Gauge({
      name: 'corral_coordination_store_error',
      help: 'Why the shared store cannot be used: 1 for the current cause (bad_ca, name_mismatch, client_cert_required, wrong_password, no_permission, refused, ...), all 0 while it works.',
      labelNames: ['cause'],
      registers: [register],
    }),
  }
  m.info.set({ store: 'memory' }, 1)
  m.instances.set(1)
  for (const kind of KINDS) m.invalidEntries.inc({ kind }, 0)
  for (const kind of ['member', 'observation']) m.repairs.inc({ kind }, 0)
  m.syncs.inc({ result: 'success' }, 0)
  m.syncs.inc({ result: 'failure' }, 0)
  recordStoreFault(m, undefined)
  return m
}

/** Sets corral_coordination_store_error at scrape time: 1 for `fault`'s cause only. */
export function recordStoreFault(
  m: CoordinationMetrics,
  fault: StoreFault | undefined,
): void {
  for (const cause of STORE_FAULT_CAUSES) {
    m.storeError.set({ cause }, fault?.cause === cause ? 1 : 0)
  }
}
