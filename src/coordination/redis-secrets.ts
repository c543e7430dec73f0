// The files `redis:` points at (passwordFile, tls.ca/cert/key), read once at start: a
// missing or unreadable file is a configuration error naming the key and the path.
// The contents are never logged.
import { readFileSync } from 'node:fs'
import type { ConnectionOptions } from 'node:tls'
import type { RedisConfig } from '../config/coordination-schema.js'
import { ConfigError } from '../errors.js'

/** What the connection options need from those files. */
export interface RedisSecrets {
  /** From passwordFile (one trailing newline removed), else `password`. */
  readonly password?: string
  /** Node TLS options for every connection; absent without `tls`. */
  readonly tls?: ConnectionOptions
}

function readKey(key: string, path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err)
    throw new ConfigError('CONFIG_INVALID', [
      `redis.${key}: cannot read ${path} (${why}): check the path and its permissions`,
    ])
  }
}

/** Reads the files of `config` (synchronously: start-up only). Throws ConfigError. */
export function readRedisSecrets(config: RedisConfig): RedisSecrets {
  let password = config.password
  if (config.passwordFile !== undefined) {
    password = readKey('passwordFile', config.passwordFile).replace(/\r?\n$/, '')
    if (password === '') {
      throw new ConfigError('CONFIG_INVALID', [
        `redis.passwordFile: ${config.passwordFile} is empty: write the password into it, or remove the key`,
      ])
    }
  }
  const t = config.tls
  if (t === undefined) return password === undefined ? {} : { password }
  const tls: ConnectionOptions = {
    ...(t.ca !== undefined ? { ca: readKey('tls.ca', t.ca) } : {}),
    ...(t.cert !== undefined ? { cert: readKey('tls.cert', t.cert) } : {}),
    ...(t.key !== undefined ? { key: readKey('tls.key', t.key) } : {}),
    ...(t.servername !== undefined ? { servername: t.servername } : {}),
    rejectUnauthorized: !t.insecure,
  }
  return password === undefined ? { tls } : { password, tls }
}
