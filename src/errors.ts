/** Stable codes for every error corral raises; logs and tests match on these, not on messages. */
export type CorralErrorCode =
  | 'CONFIG_INVALID'
  | 'CONFIG_UNREADABLE'
  | 'ADMIN_BAD_REQUEST'
  | 'ADMIN_UNAUTHORIZED'
  | 'ADMIN_NOT_FOUND'
  | 'ADMIN_CONFLICT'
  | 'ADMIN_INSECURE_BIND'
  | 'LISTEN_FAILED'
  | 'STORE_UNAVAILABLE'
  | 'STORE_MALFORMED'

/** Base class for corral's exceptions (startup and programmer errors; expected failures are values). */
export class CorralError extends Error {
  constructor(
    readonly code: CorralErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
    this.name = new.target.name
  }
}

/** The config file is unreadable or invalid; `issues` lists every problem, one line each. */
export class ConfigError extends CorralError {
  constructor(
    code: 'CONFIG_INVALID' | 'CONFIG_UNREADABLE',
    readonly issues: readonly string[],
    options?: ErrorOptions,
  ) {
    super(code, issues.join('\n'), options)
  }
}
