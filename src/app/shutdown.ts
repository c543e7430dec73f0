// SIGTERM, in order: discovery stops writing; the data path stops accepting and lets open
// connections finish up to timeouts.shutdown while the checker stops; then the
// coordinator leaves the shared pool (peers stop counting this instance at once); the
// admin API goes last, so the pool stays observable while connections drain.
import type { AdminServer } from '../admin/server.js'
import type { Coordinator } from '../coordination/coordinator.js'
import type { HealthChecker } from '../health/checker.js'
import type { DataPath } from '../proxy/data-path.js'
import type { Discovery } from './discovery.js'

/** What shuts down. */
export interface ShutdownParts {
  readonly discovery: Discovery
  readonly dataPath: DataPath
  readonly checker: HealthChecker
  readonly coordinator: Coordinator
  /** The admin server once started. */
  admin(): AdminServer | undefined
}

/**
 * See the file comment. `stoppedAccepting` runs once no process accepts new connections;
 * resolves how many connections the deadline cut.
 */
export async function shutdown(
  parts: ShutdownParts,
  deadlineMs: number,
  stoppedAccepting?: () => void,
): Promise<{ forced: number }> {
  await parts.discovery.close()
  const closing = parts.dataPath.close(deadlineMs, stoppedAccepting)
  await parts.checker.close()
  const result = await closing
  await parts.coordinator.close()
  await parts.admin()?.close()
  return result
}
