// Scenarios that need the shared pool (#10) or the sidecar (#11): listed in the table as
// pending, never as passing, until the lead adds them. Each keeps its place and number.
import type { Scenario } from './scenario.js'

function pending(number: number, name: string, title: string, needs: string): Scenario {
  return {
    number,
    name,
    title,
    pending: needs,
    run: () => Promise.reject(new Error(`${name} is pending ${needs}`)),
  }
}

/** Scenario 7: Redis down (killed, and a Toxiproxy timeout partition) for 20 s. */
export const redisDown = pending(7, 'redis-down', 'Redis down for 20 s', '#10')
