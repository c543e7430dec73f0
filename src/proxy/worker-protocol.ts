// Messages between the primary (control plane) and data-path worker processes. Both
// ends are corral, but a message is still checked for its `t` tag before use.
import type { MetricObjectWithValues, MetricValue } from 'prom-client'
import type { CheckResult, MemberView } from '../pool/types.js'
import type { BoundListener, DataPlaneOptions } from './data-plane.js'
import type { LiveDataOptions, PickerSettings } from './data-path.js'

/** Primary → worker. */
export type ToWorker =
  | { readonly t: 'init'; readonly options: DataPlaneOptions }
  /** A pool snapshot to route with; `seq` is acked. */
  | {
      readonly t: 'pool'
      readonly seq: number
      readonly members: readonly MemberView[]
      readonly settings: PickerSettings
    }
  | { readonly t: 'options'; readonly options: LiveDataOptions }
  /** Active connections per member of every worker, by worker id; `seq` is acked. */
  | {
      readonly t: 'loads'
      readonly seq: number
      readonly loads: Readonly<Record<string, Readonly<Record<string, number>>>>
    }
  | { readonly t: 'close-member'; readonly member: string }
  | { readonly t: 'metrics-request'; readonly id: number }
  | { readonly t: 'shutdown'; readonly deadlineMs: number }
  /** Reopen the access log's file (SIGHUP, SIGUSR1: logrotate). */
  | { readonly t: 'reopen-log' }

/** Worker → primary. */
export type FromWorker =
  /** Sent once the worker listens for messages: anything sent earlier could be lost. */
  | { readonly t: 'ready' }
  | { readonly t: 'listening'; readonly listeners: readonly BoundListener[] }
  | { readonly t: 'listen-error'; readonly message: string }
  | { readonly t: 'passive'; readonly member: string; readonly result: CheckResult }
  /** This worker's active connections per member (members at 0 included once). */
  | { readonly t: 'load'; readonly loads: Readonly<Record<string, number>> }
  | {
      readonly t: 'metrics'
      readonly id: number
      readonly metrics: readonly MetricObjectWithValues<MetricValue<string>>[]
    }
  /** The worker closed its listening sockets (sent right after 'shutdown' arrived). */
  | { readonly t: 'stopped-accepting' }
  | { readonly t: 'closed'; readonly forced: number }
  /** The access log's destination failed (the primary logs it, rate-limited). */
  | { readonly t: 'access-log-failed'; readonly message: string }
  /** The worker applied the 'loads' broadcast `seq`. */
  | { readonly t: 'loads-ack'; readonly seq: number }
  /** The worker routes with the 'pool' snapshot `seq`. */
  | { readonly t: 'pool-ack'; readonly seq: number }

const TO_WORKER = new Set([
  'init',
  'pool',
  'options',
  'loads',
  'close-member',
  'metrics-request',
  'shutdown',
  'reopen-log',
])
const FROM_WORKER = new Set([
  'loads-ack',
  'pool-ack',
  'ready',
  'listening',
  'listen-error',
  'passive',
  'load',
  'metrics',
  'stopped-accepting',
  'closed',
  'access-log-failed',
])

function tagOf(message: unknown): string | undefined {
  if (message === null || typeof message !== 'object' || !('t' in message))
    return undefined
  return typeof message.t === 'string' ? message.t : undefined
}

/** Narrows an IPC message to ToWorker (by tag; the sender is our own primary). */
export function isToWorker(message: unknown): message is ToWorker {
  const tag = tagOf(message)
  return tag !== undefined && TO_WORKER.has(tag)
}

/** Narrows an IPC message to FromWorker (by tag; the sender is our own worker). */
export function isFromWorker(message: unknown): message is FromWorker {
  const tag = tagOf(message)
  return tag !== undefined && FROM_WORKER.has(tag)
}
