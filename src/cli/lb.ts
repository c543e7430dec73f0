import { readFileSync } from 'node:fs'
import type { Logger } from 'pino'
import { PinoPretty } from 'pino-pretty'
import { App } from '../app/app.js'
import { monotonicClock } from '../clock.js'
import { loadConfigFile } from '../config/load.js'
import { ConfigError, CorralError } from '../errors.js'
import { createLogger, type LogLevel } from '../log.js'
import { hasDataPathTunables, mergeGlibcTunables } from '../proxy/malloc-tunables.js'
import { reportConfigError, type CommandIo } from './check-config.js'

/** Flags of `corral lb`. */
export interface LbOptions {
  readonly config: string
  readonly logLevel: LogLevel
  readonly logFormat: 'json' | 'pretty'
}

/** corral's version, from package.json. */
export function corralVersion(): string {
  try {
    const pkg: unknown = JSON.parse(
      readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'),
    )
    if (
      pkg !== null &&
      typeof pkg === 'object' &&
      'version' in pkg &&
      typeof pkg.version === 'string'
    ) {
      return pkg.version
    }
  } catch {
    // Running from an unusual layout: the version is cosmetic, keep going.
  }
  return 'unknown'
}

function makeLogger(options: LbOptions): Logger {
  if (options.logFormat === 'pretty') {
    return createLogger(
      options.logLevel,
      PinoPretty({
        colorize: process.stdout.isTTY,
        translateTime: 'HH:MM:ss',
        ignore: 'pid,hostname',
        singleLine: true,
      }),
    )
  }
  return createLogger(options.logLevel)
}

/**
 * The environment data-path workers get on top of ours: GLIBC_TUNABLES with the malloc
 * settings of malloc-tunables.ts merged into the operator's (theirs win). The benchmark
 * switch CORRAL_BENCH_NO_MALLOC_TUNABLES=1 leaves the variable as it is, to measure what
 * the settings change.
 */
export function workerEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  if (env.CORRAL_BENCH_NO_MALLOC_TUNABLES === '1') return {}
  return { GLIBC_TUNABLES: mergeGlibcTunables(env.GLIBC_TUNABLES) }
}

/** `corral lb`: runs until SIGTERM/SIGINT; SIGHUP reloads the config file. Resolves the exit code. */
export async function runLb(options: LbOptions, io: CommandIo): Promise<number> {
  let config
  try {
    config = loadConfigFile(options.config)
  } catch (err) {
    if (err instanceof ConfigError) {
      reportConfigError(err, options.config, io)
      return 1
    }
    throw err
  }
  const log = makeLogger(options)
  const app = new App(config, {
    log,
    clock: monotonicClock,
    version: corralVersion(),
    // Benchmark-only switch (bench/ measures what per-connection metrics cost).
    dataPathHistograms: process.env.CORRAL_BENCH_NO_HISTOGRAMS !== '1',
    workerEnv: workerEnv(process.env),
  })
  if (config.workers === 0 && !hasDataPathTunables(process.env.GLIBC_TUNABLES)) {
    // glibc reads GLIBC_TUNABLES at process start: too late to set it for ourselves.
    log.info(
      { glibcTunables: mergeGlibcTunables(process.env.GLIBC_TUNABLES) },
      'workers: 0 runs the data path in this process without the malloc settings ' +
        'workers get: start corral with GLIBC_TUNABLES set to glibcTunables to keep ' +
        'bulk transfers from churning the heap (docs/performance.md)',
    )
  }
  try {
    const addresses = await app.start()
    log.info(
      {
        listeners: addresses.listeners.map(l => ({
          name: l.name,
          port: l.port,
          host: l.host,
        })),
        adminPort: addresses.adminPort,
        members: config.members.length,
        version: corralVersion(),
      },
      'corral ready',
    )
  } catch (err) {
    const hint =
      err instanceof CorralError && err.message.includes('EACCES')
        ? ' (ports below 1024 need root or CAP_NET_BIND_SERVICE: see README "Binding 80/443")'
        : ''
    log.fatal({ err }, `cannot start${hint}`)
    await app.close()
    return 1
  }

  return new Promise<number>(resolve => {
    let stopping = false
    // SIGHUP reloads the config and reopens the access log (logrotate's usual signal);
    // SIGUSR1 only reopens it (postrotate without a reload).
    const onUsr1 = (): void => {
      app.reopenAccessLog()
    }
    const onHup = (): void => {
      app.reopenAccessLog()
      try {
        const next = loadConfigFile(options.config)
        app.reload(next)
      } catch (err) {
        app.reloadFailed()
        if (err instanceof ConfigError) {
          log.error(
            { issues: err.issues },
            'config reload failed: keeping the running config',
          )
        } else {
          log.error({ err }, 'config reload failed: keeping the running config')
        }
      }
    }
    const onStop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        log.warn({ signal }, 'second stop signal: exiting now')
        resolve(1)
        return
      }
      stopping = true
      // Logged once no process accepts any more: at once in a single process, one IPC
      // round trip later with workers, so the line is never ahead of the fact it states.
      const closing = app.close(() => {
        log.info(
          { signal, shutdownTimeoutMs: app.config.timeouts.shutdownMs },
          'shutting down: no new connections',
        )
      })
      void closing.then(({ forced }) => {
        log.info(
          { forced },
          forced > 0
            ? 'shutdown deadline passed: closed remaining connections'
            : 'shutdown complete',
        )
        process.off('SIGHUP', onHup)
        process.off('SIGUSR1', onUsr1)
        resolve(0)
      })
    }
    process.on('SIGHUP', onHup)
    process.on('SIGUSR1', onUsr1)
    process.on('SIGTERM', onStop)
    process.on('SIGINT', onStop)
  })
}
