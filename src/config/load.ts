// Config text or file → a deeply frozen Config, or a ConfigError listing every problem:
// env.ts substitutes and parses the YAML, schema.ts validates, resolve.ts resolves.
import { readFileSync, statSync } from 'node:fs'
import { ConfigError } from '../errors.js'
import { expandEnv, parseYaml, type EnvProblems } from './env.js'
import { describeValue, formatIssues, formatPath } from './format-issues.js'
import { adminTokens, isRecord, readCa, resolve } from './resolve.js'
import { configSchema } from './schema.js'
import type { Config } from './types.js'

/** Largest config file read: 1 MiB, ten times a file of MAX_MEMBERS members. */
export const MAX_CONFIG_BYTES = 1024 * 1024

/** What loading reads besides the config text; both injectable for tests. */
export interface LoadOptions {
  /** Variables for ${VAR} substitution. Default: process.env. */
  readonly env?: NodeJS.ProcessEnv
  /** Reads a file (the CA bundle) as UTF-8. Default: fs.readFileSync. */
  readonly readFile?: (path: string) => string
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v)
    Object.freeze(value)
  }
  return value
}

/**
 * Parses config text (YAML) into a deeply frozen Config, or throws ConfigError listing every
 * problem, one line each, as `<key path>: expected …, got …`.
 */
export function parseConfig(text: string, options: LoadOptions = {}): Config {
  const nul = text.indexOf('\0')
  if (nul >= 0) {
    throw new ConfigError('CONFIG_INVALID', [
      `(top level): expected YAML text, got a NUL byte at offset ${nul} (is this a binary file?)`,
    ])
  }
  const parsed = parseYaml(text)
  // An empty file is almost always a mistake (wrong path, a template that rendered
  // nothing) and would start on 0.0.0.0:80 and :443 with no members: refuse it.
  if (parsed === null || parsed === undefined) {
    throw new ConfigError('CONFIG_INVALID', [
      '(top level): the file is empty (or holds only comments); expected a mapping of ' +
        'config keys such as "listeners:" and "members:" (write "members: []" to start ' +
        'with no members)',
    ])
  }
  const problems: EnvProblems = { issues: [], keys: new Set() }
  const expanded = expandEnv(parsed, options.env ?? process.env, [], problems)
  if (!isRecord(expanded)) {
    throw new ConfigError('CONFIG_INVALID', [
      `(top level): expected a mapping of config keys, got ${describeValue(expanded)}`,
    ])
  }
  const issues = [...problems.issues]
  const result = configSchema.safeParse(expanded, { reportInput: true })
  if (!result.success) {
    issues.push(
      ...formatIssues(
        result.error.issues.filter(i => !problems.keys.has(formatPath(i.path))),
      ),
    )
  }
  const readFile = options.readFile ?? (p => readFileSync(p, 'utf8'))
  const ca = readCa(expanded, readFile, problems)
  if (ca.issue !== undefined) issues.push(ca.issue)
  if (!result.success || issues.length > 0)
    throw new ConfigError('CONFIG_INVALID', issues)
  const tokens = adminTokens(result.data.admin, readFile)
  if (tokens.issues.length > 0) throw new ConfigError('CONFIG_INVALID', tokens.issues)
  return deepFreeze(resolve(result.data, ca.caPem, tokens.values))
}

/** Reads and parses a config file; see parseConfig. */
export function loadConfigFile(path: string, options: LoadOptions = {}): Config {
  let text: string
  try {
    const size = statSync(path).size
    if (size > MAX_CONFIG_BYTES) {
      throw new ConfigError('CONFIG_INVALID', [
        `(top level): expected a config file of at most ${MAX_CONFIG_BYTES} bytes (1 MiB), got ${size} bytes`,
      ])
    }
    text = readFileSync(path, 'utf8')
  } catch (err) {
    if (err instanceof ConfigError) throw err
    const message = err instanceof Error ? err.message : String(err)
    throw new ConfigError(
      'CONFIG_UNREADABLE',
      [`cannot read config file ${path}: ${message}`],
      {
        cause: err,
      },
    )
  }
  return parseConfig(text, options)
}
