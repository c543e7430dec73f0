// Builds the data path a config asks for: native or JS relays (chosen once, logged, and
// exposed as corral_data_path_info), in this process or in worker processes, with its
// events wired to the connection histograms, the access-log metrics and the app.
import type { Logger } from 'pino'
import { accessLogEvents } from '../access-log/events.js'
import type { Clock } from '../clock.js'
import type { Config } from '../config/types.js'
import type { Metrics } from '../metrics/registry.js'
import type { CheckResult } from '../pool/types.js'
import {
  LocalDataPath,
  type DataPath,
  type DataPathEvents,
  type PickerSettings,
} from '../proxy/data-path.js'
import { chooseDataPath, type DataPathChoice } from '../proxy/native-loader.js'
import { ClusterDataPath } from '../proxy/workers.js'

/** What the data path reports to and runs with. */
export interface DataPathWiring {
  readonly log: Logger
  readonly clock: Clock
  readonly metrics: Metrics
  /** Per-connection histograms; false only in the benchmark (what metrics cost). */
  readonly histograms: boolean
  /** Extra environment for worker processes. */
  readonly workerEnv: Readonly<Record<string, string>>
  /** A client connection could not reach a member (a passive health result). */
  passiveFailure(member: string, result: CheckResult): void
  /** A member's connections (all processes) dropped to zero. */
  memberIdle(member: string): void
}

/** The data path and which relays it runs (for the pool API). */
export interface BuiltDataPath {
  readonly dataPath: DataPath
  readonly choice: DataPathChoice
}

/** Picker settings from the config in force. */
export function pickerSettings(c: Config): PickerSettings {
  return {
    balance: c.balance,
    allDown: c.allDown,
    slowStartMs: c.slowStartMs,
    maxConnectionsPerMember: c.limits.maxConnectionsPerMember,
  }
}

/** See the file comment. Nothing listens until `dataPath.listen()`. */
export function createDataPath(config: Config, w: DataPathWiring): BuiltDataPath {
  const { metrics, log } = w
  const events: DataPathEvents = {
    passiveFailure: (member, result) => {
      w.passiveFailure(member, result)
    },
    memberIdle: member => {
      w.memberIdle(member)
    },
    connectDuration: w.histograms
      ? (member, seconds) => {
          metrics.connectDuration.observe({ member }, seconds)
        }
      : noop,
    connectionDuration: w.histograms
      ? (listener, seconds) => {
          metrics.connectionDuration.observe({ listener }, seconds)
        }
      : noop,
    accessLog: accessLogEvents(metrics, log),
  }
  // Resolved once here; workers load the same addon (and fall back to JS on their own
  // if it fails there, which only a broken install could cause).
  const choice = chooseDataPath(config.dataPath)
  metrics.dataPathInfo.set({ path: choice.path }, 1)
  if (choice.path === 'native') log.info({ dataPath: 'native' }, 'data path')
  else if (config.dataPath === 'js') log.info({ dataPath: 'js' }, 'data path')
  else log.warn({ dataPath: 'js', reason: choice.reason }, 'native data path unavailable')
  const options = {
    dataPath: choice.path,
    listeners: config.listeners,
    connectTimeoutMs: config.timeouts.connectMs,
    idleTimeoutMs: config.timeouts.idleMs,
    connectAttempts: config.limits.connectAttempts,
    maxConnections: config.limits.maxConnections,
    accessLog: config.accessLog,
    proxyProtocol: config.proxyProtocol,
    proxyProtocolSniWaitMs: config.proxyProtocolSniWaitMs,
  }
  const dataPath =
    config.workers > 0
      ? new ClusterDataPath(
          options,
          { workers: config.workers, log, env: w.workerEnv },
          events,
        )
      : new LocalDataPath(options, w.clock, events)
  return { dataPath, choice }
}

function noop(): void {
  // Histograms switched off (benchmark only).
}
