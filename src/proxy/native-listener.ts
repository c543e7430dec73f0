// The native listener takeover (issue #14 step two): the relay thread accepts on a
// listener JS bound, and libuv stops accepting on it; and the admission of each
// connection the relay thread accepts, the same as data-plane.ts's 'connection' handler.
import type { Server } from 'node:net'
import type { AccessLog } from '../access-log/access-log.js'
import { NativeAcceptedRelay, type NativeAcceptedContext } from './native-accepted.js'
import type { NativeAcceptor, NativeEngine } from './native-engine.js'
import { factsOf, logLimit, traceNativeAddresses } from './relay-report.js'
import type { ConnectionOutcome, RelayStats } from './stats.js'

/** Most event-loop turns listen() waits for libuv to register a listener it then forgets. */
const DETACH_TURNS = 50

/** A listener the relay thread may accept for (data-plane.ts's per-listener runtime). */
export interface NativeListener {
  readonly server: Server
  readonly acceptor: NativeAcceptor
  /** The engine's listener index while the relay thread accepts for it, else -1. */
  nativeIndex: number
}

/** What native accept admits a connection against: the data plane's state for one listener. */
export interface NativeAdmission {
  readonly listener: string
  /** The listener's routing context, shared by its relays. */
  readonly ctx: NativeAcceptedContext
  /** Stats for connections no member took (member ""). */
  readonly unrouted: RelayStats
  readonly accessLog: AccessLog | undefined
  /** Whether the data plane is closing: refuse, and count nothing. */
  readonly closing: () => boolean
  /** Whether this process already has maxConnections open relays. */
  readonly full: () => boolean
  /** Tracks an admitted relay until it closes. */
  readonly add: (relay: NativeAcceptedRelay) => void
}

/**
 * Hands accepting to the relay thread (it accepts on a dup of the socket JS bound, so
 * cluster workers keep sharing one socket and close() works as before), then takes
 * the socket out of libuv's epoll so libuv stops accepting on it. libuv registers a
 * new listener only at its next poll phase, so this waits turns of the event loop
 * until it is found (bounded; until then both accept, and what libuv accepts is
 * relayed by the step-one path, NativeRelay). Where it cannot, JS keeps accepting.
 */
export async function acceptNatively(
  engine: NativeEngine,
  runtime: NativeListener,
): Promise<void> {
  const fd = serverFd(runtime.server)
  if (fd === undefined) return
  const index = engine.listen(fd, runtime.acceptor)
  if (typeof index === 'string') return
  runtime.nativeIndex = index
  for (let turn = 0; turn < DETACH_TURNS; turn++) {
    await new Promise(resolve => setImmediate(resolve))
    if (runtime.nativeIndex < 0 || engine.detachFromLibuv(fd)) return
  }
}

/** The acceptor of one listener: what the relay thread asks for each connection it accepted. */
export function nativeAcceptor(
  engine: NativeEngine | undefined,
  a: NativeAdmission,
): NativeAcceptor {
  const { listener, ctx, unrouted, accessLog } = a
  return {
    accepted: (id, peer, peerPort, local, localPort) => {
      if (engine === undefined) return undefined
      const closing = a.closing()
      if (closing || a.full()) {
        engine.reject(id)
        if (!closing) unrouted.outcomes.rejected_limit++
        if (!closing && accessLog !== undefined)
          logLimit(accessLog, listener, trace => {
            traceNativeAddresses(trace, peer, peerPort, local, localPort)
          })
        return undefined
      }
      const relay = new NativeAcceptedRelay(id, peer, ctx, engine, {
        remotePort: peerPort,
        localAddress: local,
        localPort,
      })
      if (relay.trace !== null)
        traceNativeAddresses(relay.trace, peer, peerPort, local, localPort)
      const rejected: ConnectionOutcome | undefined = relay.start()
      if (rejected !== undefined) {
        unrouted.outcomes[rejected]++
        if (accessLog !== undefined && relay.trace !== null)
          accessLog.record(relay.trace, factsOf(relay, 'close'))
        return undefined
      }
      a.add(relay)
      return relay
    },
    dropped: () => {
      unrouted.outcomes.rejected_limit++
    },
  }
}

/** The OS fd of a listening net.Server (libuv's TCP handle), if it has one. */
function serverFd(server: Server): number | undefined {
  const handle: unknown = Reflect.get(server, '_handle')
  if (typeof handle !== 'object' || handle === null) return undefined
  const fd: unknown = Reflect.get(handle, 'fd')
  return typeof fd === 'number' && fd >= 0 ? fd : undefined
}
