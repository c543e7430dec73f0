// Builds corral YAML configs for end-to-end tests: one "http" listener on an OS port.
import type { Replica } from '../../src/demo/replica.js'

/** Options for lbYaml; `extra` is appended verbatim (top-level keys). */
export interface LbYamlOptions {
  readonly health?: string
  readonly balance?: string
  readonly admin?: string
  readonly extra?: string
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
${options.extra?.includes('workers:') === true ? '' : 'workers: 0'}
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
