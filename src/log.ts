import { pino, type DestinationStream, type Logger } from 'pino'

/** Log levels `--log-level` accepts. */
export const LOG_LEVELS = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
] as const
/** One of LOG_LEVELS. */
export type LogLevel = (typeof LOG_LEVELS)[number]

/** Keys whose values never reach a log line (tokens, passwords, auth headers). */
export const REDACT_PATHS: readonly string[] = [
  'token',
  '*.token',
  'admin.token',
  'config.admin.token',
  'password',
  '*.password',
  'config.redis.password',
  'readToken',
  '*.readToken',
  'config.admin.readToken',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
]

/** Creates the process's one logger: pino JSON, one event per line, secrets redacted. */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { pid: process.pid },
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  }
  return destination === undefined ? pino(options) : pino(options, destination)
}
