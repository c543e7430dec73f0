// Every chaos scenario, in issue #12's order.
import type { Scenario } from './scenario.js'
import { dataPathFaults } from './scenarios/data-path-faults.js'
import { dnsScale } from './scenarios/dns-scale.js'
import { flappingReplica } from './scenarios/flapping-replica.js'
import { killReplica } from './scenarios/kill-replica.js'
import { lbKilled } from './scenarios/lb-killed.js'
import { quorumLost } from './scenarios/quorum-lost.js'
import { redisDown } from './scenarios/redis-down.js'
import { rollingRestart } from './scenarios/rolling-restart.js'
import { sigstopReplica } from './scenarios/sigstop-replica.js'
import { slowHealth } from './scenarios/slow-health.js'
import { slowStreams } from './scenarios/slow-streams.js'

/** The scenarios `npm run chaos` runs, numbered as in issue #12 (11: issue #21). */
export const SCENARIOS: readonly Scenario[] = [
  killReplica,
  sigstopReplica,
  quorumLost,
  slowHealth,
  dataPathFaults,
  slowStreams,
  redisDown,
  lbKilled,
  rollingRestart,
  flappingReplica,
  dnsScale,
]
