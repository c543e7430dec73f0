// The admin API as the app implements it (readiness, the pool document, member
// operations, metrics, the status page), and the server that serves it on admin.bind.
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { AdminServer, type AdminApi } from '../admin/server.js'
import { renderStatusPage } from '../admin/status-page.js'
import type { Config } from '../config/types.js'
import type { FencingMonitor } from '../coordination/fencing-monitor.js'
import type { Pool } from '../pool/pool.js'
import { adminSecurity, announceAdminSecurity } from './admin-tls.js'
import type { MemberOperations } from './member-operations.js'

/** What the admin API answers from. */
export interface AdminSources {
  readonly pool: Pool
  readonly fencing: FencingMonitor | undefined
  /** Whether the listeners are open (false before start and once closing). */
  listening(): boolean
  poolJson(): Record<string, unknown>
  readonly operations: MemberOperations
  metrics(): Promise<{ contentType: string; body: string }>
}

/** See the file comment. */
export function adminApi(s: AdminSources): AdminApi {
  return {
    pool: () => s.poolJson(),
    ready: () => {
      if (!s.listening()) return { ready: false, reason: 'not listening' }
      const fence = s.fencing?.check()
      if (fence?.fenced === true) return { ready: false, reason: fence.reason }
      const up = s.pool.views().filter(v => v.state === 'up').length
      return up > 0
        ? { ready: true, reason: `${up} member(s) up` }
        : { ready: false, reason: 'no member is up' }
    },
    ...s.operations,
    metrics: () => s.metrics(),
    statusPage: () => renderStatusPage(),
  }
}

/** Binds the admin server and says how it is protected; resolves its port. */
export async function startAdmin(
  config: Config,
  api: AdminApi,
  deps: { readonly register: Registry; readonly log: Logger },
): Promise<{ readonly admin: AdminServer; readonly port: number }> {
  const { log } = deps
  const admin = new AdminServer(
    {
      host: config.admin.host,
      port: config.admin.port,
      ...adminSecurity(config.admin),
      listenerNames: config.listeners.map(l => l.name),
    },
    api,
    (err, req) => {
      log.error({ err, method: req.method, url: req.url }, 'admin request failed')
    },
  )
  announceAdminSecurity(admin, config.admin, deps.register, log)
  const port = await admin.listen()
  return { admin, port }
}
