// The context one listener's relays share (one object per listener, no per-connection
// closures): settings, the picker, per-member load and stats, the engine's member address
// table, the access log's traces, and what happens when a relay closes. data-plane.ts
// builds one per listener and updates its settings on reload.
import { isIP } from 'node:net'
import type { AccessLog } from '../access-log/access-log.js'
import type { Clock } from '../clock.js'
import type { ProxyProtocolVersion } from '../config/proxy-protocol-schema.js'
import type { ListenerConfig } from '../config/types.js'
import type { Picker } from '../pool/picker.js'
import type { CheckResult, MemberView } from '../pool/types.js'
import { memberPort } from './connect.js'
import type { NativeAcceptedContext } from './native-accepted.js'
import type { NativeEngine } from './native-engine.js'
import type { NativeRelayContext } from './native-relay.js'
import type { RelayContext } from './relay.js'
import type { RelayList } from './relay-list.js'
import { accountBytes, factsOf, type AnyRelay } from './relay-report.js'
import type { RelayStats } from './stats.js'

/** What every relay kind of one listener reads and calls. */
export type ListenerContext = RelayContext & NativeRelayContext & NativeAcceptedContext

/** What a listener context is built from (owned by the DataPlane). */
export interface ListenerContextSource {
  readonly listener: ListenerConfig
  readonly settings: {
    readonly connectTimeoutMs: number
    readonly idleTimeoutMs: number
    readonly connectAttempts: number
    readonly proxyProtocol?: ProxyProtocolVersion
    readonly proxyProtocolSniWaitMs?: number
  }
  readonly clock: Clock
  readonly engine: NativeEngine | undefined
  readonly accessLog: AccessLog | undefined
  /** Local active connections per member (shared by every listener). */
  readonly load: Map<string, number>
  readonly relays: RelayList<AnyRelay>
  readonly picker: () => Picker
  readonly statsFor: (member: string) => RelayStats
  readonly loadChanged?: (member: string, active: number) => void
  readonly passiveFailure: (member: string, result: CheckResult) => void
  readonly connectDuration?: (member: string, seconds: number) => void
  readonly connectionDuration?: (listener: string, seconds: number) => void
  /** No relay is open any more (close() waits for it). */
  readonly idle: () => void
}

/** Builds the context of one listener (see the file comment). */
export function listenerContext(s: ListenerContextSource): ListenerContext {
  const { clock, engine, accessLog, load, relays, listener } = s
  // Member → engine address table index (the port is the listener's); dropped when the
  // engine rebuilds its table. Hostnames have none (resolved per connection).
  let targets = new WeakMap<MemberView, number | undefined>()
  let targetsGeneration = engine?.targetsGeneration ?? 0
  const changeLoad = (member: string, by: number): void => {
    const n = (load.get(member) ?? (by < 0 ? 1 : 0)) + by
    load.set(member, n)
    s.loadChanged?.(member, n)
  }
  const ctx: ListenerContext = {
    listener: listener.name,
    listenerPort: listener.port,
    connectTimeoutMs: s.settings.connectTimeoutMs,
    idleTimeoutMs: s.settings.idleTimeoutMs,
    connectAttempts: s.settings.connectAttempts,
    picker: s.picker,
    now: () => clock.now(),
    stats: s.statsFor,
    acquire: member => {
      changeLoad(member, 1)
    },
    release: member => {
      changeLoad(member, -1)
    },
    passiveFailure: s.passiveFailure,
    connectDuration: s.connectDuration ?? noop,
    accessLog: accessLog !== undefined,
    newTrace: () => {
      if (accessLog === undefined) throw new Error('newTrace without an access log')
      return accessLog.newTrace()
    },
    connectionId: trace => accessLog?.idOf(trace) ?? '',
    proxyProtocol: s.settings.proxyProtocol ?? 'off',
    proxyProtocolSniWaitMs: s.settings.proxyProtocolSniWaitMs ?? 0,
    targetOf: member => {
      if (engine === undefined) return undefined
      if (engine.targetsGeneration !== targetsGeneration) {
        targets = new WeakMap()
        targetsGeneration = engine.targetsGeneration
      }
      if (targets.has(member)) return targets.get(member)
      const index =
        isIP(member.address) === 0
          ? undefined
          : engine.target(member.address, memberPort(ctx, member))
      targets.set(member, index)
      return index
    },
    closed: (relay: AnyRelay) => {
      relays.remove(relay)
      accountBytes(relay)
      if (accessLog !== undefined && relay.trace !== null)
        accessLog.record(relay.trace, factsOf(relay, 'close'))
      s.connectionDuration?.(listener.name, (clock.now() - relay.startedAt) / 1000)
      if (relays.size === 0) s.idle()
    },
  }
  return ctx
}

function noop(): void {
  // No connect-duration histogram wired (tests, benches).
}
