// The numbers behind GET /api/v1/pool and each member's JSON: gathered here from the
// pool, the data path, the coordinator and discovery; rendered by admin/pool-document.ts.
import {
  coordinationDocument,
  memberDocument,
  poolSummary,
  type DocumentContext,
} from '../admin/pool-document.js'
import type { Clock } from '../clock.js'
import type { Config } from '../config/types.js'
import type { Coordinator } from '../coordination/coordinator.js'
import type { FencingMonitor } from '../coordination/fencing-monitor.js'
import type { Pool } from '../pool/pool.js'
import type { MemberView } from '../pool/types.js'
import type { DataPath } from '../proxy/data-path.js'
import type { DataPathChoice } from '../proxy/native-loader.js'
import type { Discovery } from './discovery.js'

/** Everything the pool API reads. */
export interface PoolApiSources {
  readonly pool: Pool
  readonly clock: Clock
  readonly wallNow: () => number
  /** The config in force. */
  config(): Config
  readonly dataPath: DataPath
  readonly dataPathChoice: DataPathChoice
  readonly coordinator: Coordinator
  readonly fencing: FencingMonitor | undefined
  /** Whether other instances share the pool: then each member shows their verdicts. */
  readonly shared: boolean
  readonly discovery: Discovery
}

/** What rendering a member needs besides its view. */
export function documentContext(s: PoolApiSources): DocumentContext {
  const c = s.coordinator
  const config = s.config()
  return {
    now: s.clock.now(),
    wallNow: s.wallNow(),
    listeners: config.listeners,
    configIds: new Set(config.members.map(m => m.id)),
    proxyProtocol: config.proxyProtocol,
    load: member => s.dataPath.load(member),
    ...(s.shared
      ? {
          shared: (member: string) => {
            const peers: Record<string, string> = {}
            for (const [id, obs] of c.observations()) {
              const o = obs.get(member)
              if (o !== undefined) peers[id] = `${o.health} (${o.probe})`
            }
            return { peers }
          },
        }
      : {}),
  }
}

/** One member's JSON (the admin API's answer to a member operation). */
export function memberJson(s: PoolApiSources, v: MemberView): Record<string, unknown> {
  return memberDocument(v, documentContext(s))
}

/** GET /api/v1/pool. */
export function poolJson(s: PoolApiSources): Record<string, unknown> {
  const views = s.pool.views()
  const ctx = documentContext(s)
  const config = s.config()
  const { dataPath } = s
  return {
    summary: {
      ...poolSummary(views),
      failingOpen: dataPath.failingOpen,
      balance: config.balance,
      activeConnections: dataPath.activeConnections,
      workers: config.workers,
      loadsSynced: dataPath.loadsSynced,
      dataPath: s.dataPathChoice.path,
      dataPathReason: s.dataPathChoice.reason,
      poolSynced: dataPath.poolSynced,
      coordination: coordinationDocument(
        s.coordinator.status(),
        s.fencing?.check(),
        s.coordinator.drainBudget(),
      ),
    },
    members: views.map(v => memberDocument(v, ctx)),
    discovery: s.discovery.document(),
  }
}
