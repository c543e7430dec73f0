import { stringify } from 'yaml'
import { loadConfigFile } from '../config/load.js'
import type { Config } from '../config/types.js'
import { ConfigError } from '../errors.js'

/** What a command prints and returns; cli/ owns the actual streams. */
export interface CommandIo {
  readonly stdout: (text: string) => void
  readonly stderr: (text: string) => void
}

/** The resolved config as printed by check-config: durations in ms, secrets redacted. */
export function printableConfig(config: Config): Record<string, unknown> {
  const { health, admin, ...rest } = config
  const { caPem, ...tls } = health.tls
  return {
    ...rest,
    health: {
      ...health,
      tls: {
        ...tls,
        ...(caPem !== undefined ? { caPem: `(${caPem.length} bytes)` } : {}),
      },
    },
    admin: {
      ...admin,
      ...(admin.token !== undefined ? { token: '[redacted]' } : {}),
      ...(admin.readToken !== undefined ? { readToken: '[redacted]' } : {}),
    },
    ...(rest.redis?.password !== undefined
      ? { redis: { ...rest.redis, password: '[redacted]' } }
      : {}),
  }
}

/** Prints every config problem, one per line, and a hint. */
export function reportConfigError(err: ConfigError, path: string, io: CommandIo): void {
  const what = err.code === 'CONFIG_UNREADABLE' ? 'cannot be read' : 'is invalid'
  io.stderr(
    `corral: config ${path} ${what} (${err.issues.length} problem${err.issues.length === 1 ? '' : 's'}):\n`,
  )
  for (const line of err.issues) io.stderr(`  - ${line}\n`)
  if (err.code === 'CONFIG_INVALID')
    io.stderr('See docs/config.md for every key, its type and default.\n')
}

/** `corral check-config`: 0 and the resolved config, or 1 and every error. */
export function checkConfig(path: string, io: CommandIo): number {
  try {
    const config = loadConfigFile(path)
    io.stdout(`# ${path} is valid. Resolved config (durations in ms):\n`)
    io.stdout(stringify(printableConfig(config)))
    return 0
  } catch (err) {
    if (err instanceof ConfigError) {
      reportConfigError(err, path, io)
      return 1
    }
    throw err
  }
}
