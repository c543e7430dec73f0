// What a workload asks of a proxy, independent of which proxy runs it.

/** One member the proxy relays to, on 127.0.0.1. */
export interface MemberSpec {
  readonly id: string
  readonly port: number
}

/** A proxy setup: one TCP listener in front of members that are health-checked. */
export interface ProxySpec {
  readonly listenPort: number
  readonly members: readonly MemberSpec[]
  /** Where HTTP GET /health goes: a fixed port, or each member's own port. */
  readonly healthPort: number | 'member'
  /** Concurrent client connections the proxy must accept (the idle-memory workload). */
  readonly maxConnections: number
}
