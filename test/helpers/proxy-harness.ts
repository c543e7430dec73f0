// A DataPlane with one listener on 127.0.0.1:0 for data-path tests, wired so a test can
// wait for what it reports (passive failures, closed relays) instead of sleeping.
import { EventEmitter, once } from 'node:events'
import { monotonicClock } from '../../src/clock.js'
import { DataPlane } from '../../src/proxy/data-plane.js'
import type { DataPlaneOptions } from '../../src/proxy/data-plane.js'
import { newRelayStats } from '../../src/proxy/stats.js'
import type { RelayStats } from '../../src/proxy/stats.js'
import type { PickerOptions } from '../../src/pool/picker.js'
import type { CheckResult, MemberView } from '../../src/pool/types.js'
import type { Teardown } from './tcp-member.js'
import { TEST_LISTENER, testPicker } from './views.js'

/** Data-plane options and the picker's per-member limit; unset fields get test defaults. */
export interface ProxyOptions extends Partial<Omit<DataPlaneOptions, 'listeners'>> {
  /** Picker option (0 = unlimited). Default 0. */
  readonly maxConnectionsPerMember?: number
  /** Picker balancing. Default round-robin. */
  readonly balance?: PickerOptions['balance']
}

/** One passiveFailure call. */
export interface PassiveFailure {
  readonly member: string
  readonly result: CheckResult
}

/** A listening DataPlane and what it reported; destroyed in teardown. */
export interface ProxyHarness {
  readonly dataPlane: DataPlane
  /** The listener's bound port. */
  readonly port: number
  /** Every passiveFailure call, oldest first. */
  readonly failures: readonly PassiveFailure[]
  /** Relays fully closed so far (connectionDuration calls, rejected connections included). */
  readonly closedRelays: number
  /** Installs a picker over `views` built with this harness's picker options and live load. */
  route(views: readonly MemberView[]): void
  /** Stats record of `member` ("" = connections no member took); zeroed if none yet. */
  statsOf(member: string): RelayStats
  /** Resolves once no relay is open; rejects when `signal` aborts. */
  waitForIdle(signal: AbortSignal): Promise<void>
  /** Resolves once `count` relays in total have closed; rejects when `signal` aborts. */
  waitForClosed(count: number, signal: AbortSignal): Promise<void>
  /** Resolves once `member`'s local load is `load`; rejects when `signal` aborts. */
  waitForLoad(member: string, load: number, signal: AbortSignal): Promise<void>
  /** Resolves once `count` passive failures in total were reported; rejects when `signal` aborts. */
  waitForFailures(count: number, signal: AbortSignal): Promise<void>
}

/**
 * The data path tests run on: CORRAL_DATA_PATH=js|native (CI runs the proxy and e2e
 * tests once per path); default native, which is JS where the addon is not built.
 */
export function testDataPath(): 'native' | 'js' {
  return process.env.CORRAL_DATA_PATH === 'js' ? 'js' : 'native'
}

/** Starts a DataPlane on 127.0.0.1:0 routing to `views` (round-robin by default). */
export async function startProxy(
  t: Teardown,
  views: readonly MemberView[],
  options: ProxyOptions = {},
): Promise<ProxyHarness> {
  const events = new EventEmitter()
  const failures: PassiveFailure[] = []
  let closedRelays = 0
  const dataPlane: DataPlane = new DataPlane(
    {
      listeners: [{ name: TEST_LISTENER, host: '127.0.0.1', port: 0 }],
      connectTimeoutMs: options.connectTimeoutMs ?? 2_000,
      idleTimeoutMs: options.idleTimeoutMs ?? 10_000,
      connectAttempts: options.connectAttempts ?? 3,
      maxConnections: options.maxConnections ?? 1_000,
      dataPath: options.dataPath ?? testDataPath(),
      ...(options.nativeAccept === undefined
        ? {}
        : { nativeAccept: options.nativeAccept }),
      ...(options.accessLog === undefined ? {} : { accessLog: options.accessLog }),
      ...(options.proxyProtocol === undefined
        ? {}
        : { proxyProtocol: options.proxyProtocol }),
      ...(options.proxyProtocolSniWaitMs === undefined
        ? {}
        : { proxyProtocolSniWaitMs: options.proxyProtocolSniWaitMs }),
    },
    {
      clock: monotonicClock,
      picker: testPicker([]),
      passiveFailure: (member, result) => {
        failures.push({ member, result })
        events.emit('failure')
      },
      loadChanged: () => {
        events.emit('load')
      },
      connectionDuration: () => {
        closedRelays++
        events.emit('closed')
      },
    },
  )
  t.teardown(() => {
    dataPlane.destroy()
  })
  const route = (next: readonly MemberView[]): void => {
    dataPlane.setPicker(
      testPicker(next, {
        balance: options.balance ?? 'round-robin',
        maxConnectionsPerMember: options.maxConnectionsPerMember ?? 0,
        load: id => dataPlane.localLoad(id),
      }),
    )
  }
  route(views)
  const [bound] = await dataPlane.listen()
  if (bound === undefined) throw new Error('expected one bound listener')
  return {
    dataPlane,
    port: bound.port,
    failures,
    get closedRelays() {
      return closedRelays
    },
    route,
    statsOf: member =>
      dataPlane.stats().find(s => s.member === member) ??
      newRelayStats(TEST_LISTENER, member),
    waitForIdle: async signal => {
      while (dataPlane.activeConnections > 0) await once(events, 'closed', { signal })
    },
    waitForClosed: async (count, signal) => {
      while (closedRelays < count) await once(events, 'closed', { signal })
    },
    waitForLoad: async (member, load, signal) => {
      while (dataPlane.localLoad(member) !== load) await once(events, 'load', { signal })
    },
    waitForFailures: async (count, signal) => {
      while (failures.length < count) await once(events, 'failure', { signal })
    },
  }
}
