// What the control plane (app/) needs from the data path, whether it runs in this
// process (LocalDataPath) or in worker processes (ClusterDataPath, workers.ts).
import type { MetricObjectWithValues, MetricValue } from 'prom-client'
import type { Clock } from '../clock.js'
import { buildPicker, type Picker, type PickerOptions } from '../pool/picker.js'
import type { CheckResult, MemberView } from '../pool/types.js'
import {
  DataPlane,
  type BoundListener,
  type DataPlaneDeps,
  type DataPlaneOptions,
} from './data-plane.js'
import type { RelayStats } from './stats.js'

/** Picker settings that cross process boundaries (the load function is local). */
export type PickerSettings = Omit<PickerOptions, 'load'>

/** Timeouts and limits a reload may change on a running data path. */
export type LiveDataOptions = Omit<DataPlaneOptions, 'listeners'>

/** Events the data path reports to the control plane. */
export interface DataPathEvents {
  /** A client connection could not reach a member. */
  readonly passiveFailure: (member: string, result: CheckResult) => void
  /** A member's active connections (all processes) dropped to zero. */
  readonly memberIdle: (member: string) => void
  readonly connectDuration: (member: string, seconds: number) => void
  readonly connectionDuration: (listener: string, seconds: number) => void
  /** Access-log lines written and dropped, and destination failures (single process). */
  readonly accessLog?: DataPlaneDeps['accessLogEvents']
}

/** The data path as the control plane drives it. */
export interface DataPath {
  listen(): Promise<readonly BoundListener[]>
  /** Publishes a new pool snapshot: new connections are routed by it. */
  publish(members: readonly MemberView[], settings: PickerSettings): void
  setOptions(options: LiveDataOptions): void
  /** Active connections to a member, across every process. */
  load(member: string): number
  /** Open client connections, across every process. */
  readonly activeConnections: number
  /** Whether every process routes with the latest connection counts (always in one process). */
  readonly loadsSynced: boolean
  /**
   * Whether every process routes with the last published pool (always in one process;
   * with workers, false for one IPC round trip after each publish).
   */
  readonly poolSynced: boolean
  /** Whether the last published snapshot is failing open (no member up). */
  readonly failingOpen: boolean
  /** Per-(listener, member) counters, across every process (latest known). */
  stats(): readonly RelayStats[]
  closeConnectionsTo(member: string): void
  /** Reopens the access log's file in every process (logrotate); no-op without one. */
  reopenAccessLog(): void
  /** Metrics of worker processes (aggregated into /metrics); absent in a single process. */
  workerMetrics?(): Promise<MetricObjectWithValues<MetricValue<string>>[][]>
  /**
   * Stops accepting and drains open connections up to `deadlineMs`; calls
   * `stoppedAccepting` once no process accepts a new connection any more (at once in one
   * process, after an IPC round trip with workers).
   */
  close(
    deadlineMs: number,
    stoppedAccepting?: () => void,
  ): Promise<{ readonly forced: number }>
}

/** Removes what only the control plane needs from a view before it is published. */
export function routingView(v: MemberView): MemberView {
  return { ...v, recent: [] }
}

/** The data path in this process: one DataPlane, pickers built here. */
export class LocalDataPath implements DataPath {
  readonly #plane: DataPlane
  #failingOpen = false

  constructor(options: DataPlaneOptions, clock: Clock, events: DataPathEvents) {
    const empty: Picker = buildPicker([], {
      balance: 'round-robin',
      allDown: 'reject',
      slowStartMs: 0,
      maxConnectionsPerMember: 0,
      load: () => 0,
    })
    this.#plane = new DataPlane(options, {
      clock,
      picker: empty,
      passiveFailure: events.passiveFailure,
      connectDuration: events.connectDuration,
      connectionDuration: events.connectionDuration,
      loadChanged: (member, active) => {
        if (active === 0) events.memberIdle(member)
      },
      ...(events.accessLog !== undefined ? { accessLogEvents: events.accessLog } : {}),
    })
  }

  listen(): Promise<readonly BoundListener[]> {
    return this.#plane.listen()
  }

  publish(members: readonly MemberView[], settings: PickerSettings): void {
    const plane = this.#plane
    const picker = buildPicker(members, { ...settings, load: id => plane.localLoad(id) })
    this.#failingOpen = picker.failingOpen
    plane.setPicker(picker)
  }

  setOptions(options: LiveDataOptions): void {
    this.#plane.setOptions(options)
  }

  load(member: string): number {
    return this.#plane.localLoad(member)
  }

  get activeConnections(): number {
    return this.#plane.activeConnections
  }

  get failingOpen(): boolean {
    return this.#failingOpen
  }

  /** One process: its counts are always the counts it routes with. */
  readonly loadsSynced = true

  /** One process: a publish applies at once. */
  readonly poolSynced = true

  stats(): readonly RelayStats[] {
    return this.#plane.stats()
  }

  closeConnectionsTo(member: string): void {
    this.#plane.closeConnectionsTo(member)
  }

  reopenAccessLog(): void {
    this.#plane.reopenAccessLog()
  }

  close(
    deadlineMs: number,
    stoppedAccepting?: () => void,
  ): Promise<{ readonly forced: number }> {
    // DataPlane.close stops accepting before its first await.
    const closing = this.#plane.close(deadlineMs)
    stoppedAccepting?.()
    return closing
  }
}
