// Builds corral YAML configs for end-to-end tests: one "http" listener on an OS port.
import type { Replica } from '../../src/demo/replica.js'

/** Options for lbYaml; `extra` is appended verbatim (top-level keys). */
export interface LbYamlOptions {
  readonly health?: string
  readonly balance?: string
  readonly admin?: string
  /** `workers:` as written; absent = no key, corral's default (`auto`, one per core). */
  readonly workers?: WorkersMode
  readonly extra?: string
}

/** A value of the `workers` key, or 'default' for no key at all. */
export type WorkersMode = number | 'auto' | 'default'

/**
 * The modes a test runs in when the mode matters: the default (a worker per core, what
 * users run) and a single process (`workers: 0`, the simplest to debug).
 */
export const WORKER_MODES: readonly WorkersMode[] = ['default', 0]

/** A test-name suffix for a mode: "workers: default" or "workers: 0". */
export function modeName(mode: WorkersMode): string {
  return `workers: ${String(mode)}`
}

/** Config YAML for corral in front of `replicas` (ids as given, health on their http port). */
export function lbYaml(
  replicas: readonly Pick<Replica, 'id' | 'port'>[],
  options: LbYamlOptions = {},
): string {
  const members = replicas
    .map(r => `  - { id: ${r.id}, address: 127.0.0.1, ports: { http: ${r.port} } }`)
    .join('\n')
  return `listeners:
  - { name: http, bind: "127.0.0.1:0" }
members:
${members || '  []'}
health: ${options.health ?? '{ interval: 200ms, timeout: 150ms, rise: 2, fall: 2, jitter: 0 }'}
balance: ${options.balance ?? 'round-robin'}
admin: ${options.admin ?? '{ bind: "127.0.0.1:0" }'}
${options.extra ?? ''}
${options.workers === undefined || options.workers === 'default' ? '' : `workers: ${String(options.workers)}`}
${options.extra?.includes('dataPath:') === true ? '' : `dataPath: ${testDataPathSetting()}`}
`
}

/** CORRAL_DATA_PATH=js|native picks the data path of e2e runs (CI runs both); default auto. */
function testDataPathSetting(): string {
  const v = process.env.CORRAL_DATA_PATH
  return v === 'js' || v === 'native' ? v : 'auto'
}

/** Predicate for the log line of a member reaching a state. */
export function stateChanged(member: string, to: string) {
  return (l: Record<string, unknown>): boolean =>
    l.msg === 'member state changed' && l.member === member && l.to === to
}
