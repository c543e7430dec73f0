// What an open or closing relay reports besides its own events: the bytes it moved, into
// its stats record (at close, and for open relays at each scrape), and its access-log
// records (at close, every interimMs while open, and for a connection refused at once).
import type { Socket } from 'node:net'
import type { AccessLog } from '../access-log/access-log.js'
import type { ConnectionFacts } from '../access-log/record.js'
import type { NativeAcceptedRelay } from './native-accepted.js'
import type { NativeRelay } from './native-relay.js'
import { Relay } from './relay.js'
import type { ConnectionTrace } from './trace.js'

/** Every relay kind a data plane runs. */
export type AnyRelay = Relay | NativeRelay | NativeAcceptedRelay

/** Bytes a relay moved so far, client → member and member → client. */
function movedToMember(relay: AnyRelay): number {
  return relay instanceof Relay ? relay.client.bytesRead : relay.movedToMember
}

function movedToClient(relay: AnyRelay): number {
  return relay instanceof Relay ? relay.client.bytesWritten : relay.movedToClient
}

/** What an access-log record needs from a relay besides its trace. */
export function factsOf(relay: AnyRelay, type: 'close' | 'interim'): ConnectionFacts {
  const established = relay.established
  return {
    type,
    listener: relay.ctx.listener,
    member: relay.member?.id ?? null,
    established,
    bytesToMember: established ? movedToMember(relay) : 0,
    bytesToClient: established ? movedToClient(relay) : 0,
  }
}

/** Writes an interim record for a relay open for another `interimMs`. */
export function interim(
  log: AccessLog,
  relay: AnyRelay,
  now: number,
  interimMs: number,
): void {
  const trace = relay.trace
  if (trace === null) return
  if (trace.interimAt === 0) trace.interimAt = trace.startedAt + interimMs
  if (now < trace.interimAt) return
  trace.interimAt = now + interimMs
  // Native relays: the first-byte times are the relay thread's, read when needed.
  if (!(relay instanceof Relay)) relay.syncTrace()
  log.record(trace, factsOf(relay, 'interim'))
}

/** Reads the client and local address of an accepted socket into its trace. */
export function traceAddresses(trace: ConnectionTrace, client: Socket): void {
  trace.clientAddress = client.remoteAddress ?? null
  trace.clientPort = client.remotePort ?? null
  trace.localAddress = client.localAddress ?? null
  trace.localPort = client.localPort ?? null
}

/** Reads the addresses the relay thread reported with an accept into its trace. */
export function traceNativeAddresses(
  trace: ConnectionTrace,
  peer: string,
  peerPort: number,
  local: string | null,
  localPort: number | null,
): void {
  trace.clientAddress = peer
  trace.clientPort = peerPort
  trace.localAddress = local
  trace.localPort = localPort
}

/** The record of a connection refused at once (over maxConnections); `addresses` fills them in. */
export function logLimit(
  log: AccessLog,
  listener: string,
  addresses: (trace: ConnectionTrace) => void,
): void {
  const trace = log.newTrace()
  addresses(trace)
  trace.close('corral', 'limit')
  log.record(trace, {
    type: 'close',
    listener,
    member: null,
    established: false,
    bytesToMember: 0,
    bytesToClient: 0,
  })
}

/** Moves the bytes a relay moved since last time into its stats record. */
export function accountBytes(relay: AnyRelay): void {
  const stats = relay.stats
  if (stats === null || !relay.established) return
  const toMember = movedToMember(relay)
  const toClient = movedToClient(relay)
  stats.bytesToMember += toMember - relay.countedToMember
  stats.bytesToClient += toClient - relay.countedToClient
  relay.countedToMember = toMember
  relay.countedToClient = toClient
}
