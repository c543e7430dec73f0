// ${VAR} substitution and YAML parsing: config text → plain data, before any schema. A
// plain scalar that held a reference is typed after substitution, as YAML would have.
import { LineCounter, parseDocument, visit } from 'yaml'
import { ConfigError } from '../errors.js'
import { formatPath } from './format-issues.js'

// `$${` is a literal "${"; `${NAME}` and `${NAME:-default}` are references; any other
// "${" is a mistake worth reporting rather than passing through as text.
const ENV_RE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{/g
// YAML 1.2 core schema int and float, and its booleans: how a plain scalar is typed.
const PLAIN_NUMBER_RE = /^[-+]?(?:\.\d+|\d+(?:\.\d*)?)(?:[eE][-+]?\d+)?$/
const PLAIN_BOOLEANS: Readonly<Record<string, boolean>> = {
  true: true,
  True: true,
  TRUE: true,
  false: false,
  False: false,
  FALSE: false,
}

/**
 * An unquoted YAML value containing "${": typed like any plain scalar once substituted, so
 * `port: ${PORT}` yields a number while `token: "${TOKEN}"` stays a string.
 */
class PlainTemplate {
  constructor(readonly text: string) {}
}

/** Where substitution went wrong, and which keys already have a line about it. */
export interface EnvProblems {
  readonly issues: string[]
  /** Key paths (formatPath) with a missing variable; schema issues there would repeat it. */
  readonly keys: Set<string>
}

/** Replaces references in one string; records missing variables and malformed references. */
function substitute(
  text: string,
  env: NodeJS.ProcessEnv,
  path: readonly PropertyKey[],
  problems: EnvProblems,
): string {
  const key = formatPath(path)
  return text.replace(
    ENV_RE,
    (all, name: string | undefined, fallback: string | undefined) => {
      if (all === '$${') return '${'
      if (name === undefined) {
        problems.issues.push(
          `${key}: expected \${NAME} or \${NAME:-default} after "\${", got ${JSON.stringify(text)} (write $\${ for a literal "\${")`,
        )
        problems.keys.add(key)
        return all
      }
      const value = env[name]
      // As in the shell: ":-" also replaces a variable that is set but empty.
      if (fallback !== undefined && (value === undefined || value === '')) return fallback
      if (value === undefined) {
        problems.issues.push(
          `${key}: environment variable ${name} is not set (set it, or write \${${name}:-default})`,
        )
        problems.keys.add(key)
        return ''
      }
      return value
    },
  )
}

/** Types a substituted plain scalar as YAML would have: number, boolean, else string. */
function typePlain(text: string): string | number | boolean {
  if (PLAIN_NUMBER_RE.test(text)) return Number(text)
  return PLAIN_BOOLEANS[text] ?? text
}

/** Replaces ${VAR} and ${VAR:-default} in every value of a parsed YAML tree (not in keys). */
export function expandEnv(
  node: unknown,
  env: NodeJS.ProcessEnv,
  path: PropertyKey[],
  problems: EnvProblems,
): unknown {
  if (node instanceof PlainTemplate)
    return typePlain(substitute(node.text, env, path, problems))
  if (typeof node === 'string') return substitute(node, env, path, problems)
  if (Array.isArray(node))
    return node.map((v, i) => expandEnv(v, env, [...path, i], problems))
  if (node !== null && typeof node === 'object') {
    return Object.fromEntries(
      Object.entries(node).map(([k, v]) => [
        k,
        expandEnv(v, env, [...path, k], problems),
      ]),
    )
  }
  return node
}

/** Parses YAML text into plain data, plain scalars with "${" wrapped as PlainTemplate. */
export function parseYaml(text: string): unknown {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
  if (doc.errors.length > 0) {
    throw new ConfigError(
      'CONFIG_INVALID',
      doc.errors.map(e => {
        const { line, col } = lineCounter.linePos(e.pos[0])
        return `line ${line}, column ${col}: YAML syntax error: ${e.message}`
      }),
    )
  }
  visit(doc, {
    Scalar(key, node) {
      if (key !== 'key' && node.type === 'PLAIN' && typeof node.value === 'string') {
        if (node.value.includes('${')) node.value = new PlainTemplate(node.value)
      }
    },
  })
  try {
    return doc.toJS()
  } catch (err) {
    // toJS throws on alias bombs (more than maxAliasCount expansions).
    const message = err instanceof Error ? err.message : String(err)
    throw new ConfigError('CONFIG_INVALID', [`(top level): ${message}`], { cause: err })
  }
}

/**
 * Parses YAML text with ${VAR} substitution into plain data for another schema (the
 * sidecar's); throws ConfigError for YAML syntax errors and missing variables.
 */
export function parseYamlWithEnv(text: string, env: NodeJS.ProcessEnv): unknown {
  const problems: EnvProblems = { issues: [], keys: new Set() }
  const expanded = expandEnv(parseYaml(text) ?? {}, env, [], problems)
  if (problems.issues.length > 0) throw new ConfigError('CONFIG_INVALID', problems.issues)
  return expanded
}
