// The resolved configuration every component is built from: what load.ts returns
// (durations in ms, files read, defaults applied, deeply frozen). The file's own shape
// (durations as strings) is schema.ts's; resolve.ts turns one into the other.
import type { AccessLogConfig } from './access-log-schema.js'
import type { AdminTlsConfig } from './admin-schema.js'
import type { CoordinationConfig, RedisConfig } from './coordination-schema.js'
import type { DiscoveryConfig } from './discovery-schema.js'
import type {
  HealthProxyProtocol,
  ProxyProtocolVersion,
} from './proxy-protocol-schema.js'

/** One accepting address; `name` is what members' ports and metrics refer to. */
export interface ListenerConfig {
  readonly name: string
  readonly host: string
  readonly port: number
}

/** One replica as configured (or as added through the admin API). */
export interface MemberConfig {
  readonly id: string
  readonly address: string
  /** Per-listener port overrides, by listener name. */
  readonly ports: Readonly<Record<string, number>>
  readonly weight: number
  /** The member's own PROXY protocol setting; absent = the pool's `proxyProtocol`. */
  readonly proxyProtocol?: ProxyProtocolVersion
}

/** Active health check settings; durations in ms. */
export interface HealthConfig {
  /** Listener name whose member port is probed, or a fixed port. */
  readonly port: string | number
  readonly scheme: 'http' | 'https'
  readonly path: string
  readonly intervalMs: number
  readonly fastIntervalMs: number
  readonly downIntervalMs: number
  readonly jitter: number
  readonly timeoutMs: number
  readonly rise: number
  readonly fall: number
  /** Inclusive [low, high] status ranges counted as healthy. */
  readonly expectStatus: readonly (readonly [number, number])[]
  readonly maxBodyBytes: number
  readonly headers: Readonly<Record<string, string>>
  readonly tls: {
    readonly insecure: boolean
    /** Path of the CA file, as configured. */
    readonly ca?: string
    /** Contents of the CA file, read at load time. */
    readonly caPem?: string
    readonly servername?: string
  }
  readonly initialState: 'down' | 'up'
  readonly onMarkedDown: 'keep-connections' | 'close-connections'
  /** PROXY protocol on checks: "inherit" = each member's effective setting. */
  readonly proxyProtocol: HealthProxyProtocol
  /** v2 checks: the LOCAL command, or a PROXY command with the check socket's endpoints. */
  readonly proxyProtocolSource: 'local' | 'socket'
}

/** What to do with new connections when no member is up. */
export type AllDownPolicy = 'reject' | 'fail-open'
/** Balancing algorithm among up members. */
export type BalanceAlgorithm = 'round-robin' | 'least-connections' | 'consistent-hash'

/** The resolved, frozen configuration every component is built from. */
export interface Config {
  readonly listeners: readonly ListenerConfig[]
  readonly members: readonly MemberConfig[]
  /** Members from DNS, one poller each (src/discovery/). */
  readonly discovery: readonly DiscoveryConfig[]
  readonly health: HealthConfig
  readonly balance: BalanceAlgorithm
  readonly slowStartMs: number
  readonly allDown: AllDownPolicy
  readonly timeouts: {
    readonly connectMs: number
    readonly idleMs: number
    readonly shutdownMs: number
  }
  readonly limits: {
    readonly maxConnections: number
    readonly maxConnectionsPerMember: number
    readonly connectAttempts: number
  }
  readonly admin: {
    readonly host: string
    readonly port: number
    /** From token or tokenFile. */
    readonly token?: string
    /** From readToken or readTokenFile. */
    readonly readToken?: string
    readonly tls?: AdminTlsConfig
    /** The explicit override of the non-loopback refusal (present only when true). */
    readonly insecureBind?: true
  }
  /** Data-path processes (resolved: "auto" is the number of cores). */
  readonly workers: number
  /** Who moves relayed bytes (resolved per process: "auto" = native where it loads). */
  readonly dataPath: 'auto' | 'native' | 'js'
  /** The shared pool store; undefined = in memory (one instance). */
  readonly redis?: RedisConfig
  /** How instances sharing a pool combine their views (probes resolved). */
  readonly coordination: Omit<CoordinationConfig, 'probes'> & {
    readonly probes: 'shared' | 'all'
  }
  /** The connection access log (docs/access-log.md). */
  readonly accessLog: AccessLogConfig
  /** PROXY protocol to members without their own setting (the pool default). */
  readonly proxyProtocol: ProxyProtocolVersion
  /** With v2: how long the header waits for the client's first bytes (SNI), in ms. */
  readonly proxyProtocolSniWaitMs: number
}
