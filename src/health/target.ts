// Which port of a member a listener relays to, and which port its probes go to.
// PURE: no I/O; the data path and the health checker share these rules.

import type { HealthConfig, ListenerConfig } from '../config/types.js'
import { ConfigError } from '../errors.js'
import type { MemberEndpoint } from '../pool/types.js'

/** The member's port for a listener: its `ports[listener.name]` override, else the listener's own port. */
export function memberPort(
  member: Pick<MemberEndpoint, 'ports'>,
  listener: Pick<ListenerConfig, 'name' | 'port'>,
): number {
  return member.ports[listener.name] ?? listener.port
}

/**
 * The port a member's probes go to: `health.port` when it is a number, else the member's
 * port for the listener it names (see memberPort); throws ConfigError if no listener has
 * that name, which the config schema already rules out.
 */
export function probePort(
  member: Pick<MemberEndpoint, 'ports'>,
  health: Pick<HealthConfig, 'port'>,
  listeners: readonly Pick<ListenerConfig, 'name' | 'port'>[],
): number {
  const port = health.port
  if (typeof port === 'number') return port
  const listener = listeners.find(l => l.name === port)
  if (listener === undefined) {
    const names = listeners.map(l => `"${l.name}"`).join(', ')
    throw new ConfigError('CONFIG_INVALID', [
      `health.port: expected a port or a listener name (${names}), got "${port}"`,
    ])
  }
  return memberPort(member, listener)
}
