// Config keys of the PROXY protocol to members (issue #23): the pool default and a
// member's own `proxyProtocol`, and how health checks send it. Kept apart from schema.ts,
// which references these in one line each. docs/config.md lists every key.
import { z } from 'zod'
import { duration } from './primitives.js'

/** "off" | "v1" | "v2": the header written to a member before any client byte. */
export const proxyProtocolSchema = z.enum(['off', 'v1', 'v2'], {
  error: 'expected "off", "v1" or "v2"',
})

/** PROXY protocol version written to a member: "off" writes nothing. */
export type ProxyProtocolVersion = z.output<typeof proxyProtocolSchema>

/** How health checks send the header: "inherit" = the member's effective setting. */
export type HealthProxyProtocol = 'inherit' | ProxyProtocolVersion

/** `health:` keys: the checks' own setting. */
export const healthProxyProtocolShape = {
  /**
   * "inherit" (default: the member's effective setting), "off", "v1" or "v2". v2 checks
   * send the LOCAL command (no address); v1 checks a TCP4/TCP6 line with the check
   * socket's own endpoints.
   */
  proxyProtocol: z
    .enum(['inherit', 'off', 'v1', 'v2'], {
      error: 'expected "inherit", "off", "v1" or "v2"',
    })
    .default('inherit'),
  /**
   * What a v2 check sends: "local" (default: the LOCAL command) or "socket" (a PROXY
   * command with the check socket's own endpoints, for receivers that reject LOCAL).
   */
  proxyProtocolSource: z
    .enum(['local', 'socket'], { error: 'expected "local" or "socket"' })
    .default('local'),
}

/** Top-level keys: the pool default. */
export const poolProxyProtocolShape = {
  /** PROXY protocol to members without their own `proxyProtocol`. Default "off". */
  proxyProtocol: proxyProtocolSchema.default('off'),
  /**
   * With v2, how long the header may wait for the client's first bytes, so that it can
   * carry the TLS SNI (AUTHORITY TLV); "0s" never waits. Default 100ms.
   */
  proxyProtocolSniWait: duration(0).default(100),
}

/** The member's effective setting: its own, else the pool default. */
export function effectiveProxyProtocol(
  member: { readonly proxyProtocol?: ProxyProtocolVersion },
  poolDefault: ProxyProtocolVersion,
): ProxyProtocolVersion {
  return member.proxyProtocol ?? poolDefault
}

/** What a health check of a member sends, from `health.proxyProtocol` and the member's. */
export function checkProxyProtocol(
  health: HealthProxyProtocol,
  memberEffective: ProxyProtocolVersion,
): ProxyProtocolVersion {
  return health === 'inherit' ? memberEffective : health
}
