// Every chaos scenario, in issue #12's order.
import { lbKilled, redisDown, rollingRestart } from './pending.js'
import type { Scenario } from './scenario.js'
import { killReplica } from './scenarios/kill-replica.js'

/** The scenarios `npm run chaos` runs, numbered as in issue #12. */
export const SCENARIOS: readonly Scenario[] = [
  killReplica,
  redisDown,
  lbKilled,
  rollingRestart,
]
