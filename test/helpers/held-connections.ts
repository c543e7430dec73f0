// Opens long-lived connections one at a time so least-connections spreads them over the
// members in any workers mode: with workers, each pick must see the connections the
// other workers hold, which is true once the primary reports the counts synced.
import type { CorralProcess } from './corral-process.js'
import { adminRequest } from './http-client.js'
import { openRawHttp, type RawHttpConnection } from './raw-http.js'

/** Bound on pool API polls per connection (each poll ~10 ms plus a request). */
const MAX_POLLS = 300

function summaryOf(json: unknown): { activeConnections: number; loadsSynced: boolean } {
  if (
    json !== null &&
    typeof json === 'object' &&
    'summary' in json &&
    json.summary !== null &&
    typeof json.summary === 'object' &&
    'activeConnections' in json.summary &&
    typeof json.summary.activeConnections === 'number' &&
    'loadsSynced' in json.summary &&
    typeof json.summary.loadsSynced === 'boolean'
  ) {
    return {
      activeConnections: json.summary.activeConnections,
      loadsSynced: json.summary.loadsSynced,
    }
  }
  throw new Error(`unexpected pool API answer: ${JSON.stringify(json)}`)
}

/**
 * Opens `n` keep-alive connections to the listener on `port`, each answered once, and
 * waits (bounded) after each until corral counts it everywhere; the caller closes them.
 */
export async function holdConnections(
  lb: CorralProcess,
  port: number,
  n: number,
): Promise<RawHttpConnection[]> {
  const held: RawHttpConnection[] = []
  for (let i = 0; i < n; i++) {
    const c = await openRawHttp(port)
    held.push(c)
    await c.get()
    for (let polls = 0; ; polls++) {
      const pool = await adminRequest(lb.adminPort, 'GET', '/api/v1/pool')
      const summary = summaryOf(pool.json)
      if (summary.activeConnections >= i + 1 && summary.loadsSynced) break
      if (polls > MAX_POLLS)
        throw new Error(`connection counts never synced: ${JSON.stringify(summary)}`)
      await new Promise(resolve => setTimeout(resolve, 10))
    }
  }
  return held
}
