// `corral sidecar`: loads the sidecar config, runs the Sidecar, and maps signals to its
// drain (first SIGTERM/SIGINT) and to skipping the wait (second), and outcomes to exit codes.
import { hostname } from 'node:os'
import { parse as parseYamlScalar } from 'yaml'
import { monotonicClock } from '../clock.js'
import { RedisStore } from '../coordination/redis-store.js'
import { ConfigError } from '../errors.js'
import { createLogger, type LogLevel } from '../log.js'
import { loadSidecarConfig } from '../sidecar/config.js'
import { drainAndDeregister } from '../sidecar/drain.js'
import { Sidecar } from '../sidecar/sidecar.js'
import { reportConfigError, type CommandIo } from './check-config.js'
import { corralVersion } from './lb.js'

/** Longest wait for the checker and the store to close after the drain ended. */
const CLOSE_BOUND_MS = 500

/** Flags of `corral sidecar`. */
export interface SidecarOptions {
  readonly config?: string
  readonly logLevel: LogLevel
  /** `key.path=value` overrides of config keys, in order. */
  readonly set: readonly string[]
}

/** Splits "member.id=dtr-1" into a path and a YAML-typed value; throws ConfigError. */
export function parseOverride(text: string): { path: string; value: unknown } {
  const eq = text.indexOf('=')
  const path = eq > 0 ? text.slice(0, eq) : ''
  if (!/^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z0-9_-]+)*$/.test(path)) {
    throw new ConfigError('CONFIG_INVALID', [
      `--set ${text}: expected key.path=value, e.g. --set member.address=10.0.0.11`,
    ])
  }
  let value: unknown
  try {
    value = parseYamlScalar(text.slice(eq + 1))
  } catch {
    // Not a YAML value: keep the text as a string.
    value = text.slice(eq + 1)
  }
  return { path, value }
}

/** `corral sidecar`: runs until a stop signal, drains, resolves the exit code. */
export async function runSidecar(
  options: SidecarOptions,
  io: CommandIo,
): Promise<number> {
  let config
  try {
    config = loadSidecarConfig(options.config, {
      overrides: options.set.map(parseOverride),
    })
  } catch (err) {
    if (err instanceof ConfigError) {
      reportConfigError(err, options.config ?? '(flags only)', io)
      return 1
    }
    throw err
  }
  const log = createLogger(options.logLevel).child({
    component: 'sidecar',
    member: config.member.id,
  })
  const sidecar = new Sidecar(config, {
    store: new RedisStore(config.redis),
    clock: monotonicClock,
    log,
  })
  await sidecar.start()
  log.info(
    {
      address: config.member.address,
      probe: `${config.health.scheme}://${config.member.address}:${config.health.port}${config.health.path}`,
      host: hostname(),
      version: corralVersion(),
    },
    'sidecar started',
  )
  return new Promise<number>(resolve => {
    const skip = new AbortController()
    let stopping = false
    const onStop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        skip.abort()
        return
      }
      stopping = true
      log.info(
        { signal, timeoutMs: config.drain.timeoutMs },
        'stopping: draining the member before deregistering (send it again to skip the wait)',
      )
      void drainAndDeregister(sidecar, { clock: monotonicClock, log }, skip.signal)
        .catch((err: unknown) => {
          log.error({ err }, 'drain failed')
          return { ok: false }
        })
        .then(async outcome => {
          // Bounded: a probe in flight or a store that does not answer must not hold the
          // exit past the deadline the operator configured.
          await Promise.race([
            sidecar.close(),
            new Promise(r => setTimeout(r, CLOSE_BOUND_MS).unref()),
          ])
          log.info({ exitCode: outcome.ok ? 0 : 1 }, 'sidecar exiting')
          process.off('SIGTERM', onStop)
          process.off('SIGINT', onStop)
          resolve(outcome.ok ? 0 : 1)
        })
    }
    process.on('SIGTERM', onStop)
    process.on('SIGINT', onStop)
  })
}
