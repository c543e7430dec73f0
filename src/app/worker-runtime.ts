// One data-path worker process: a DataPlane driven by the primary over IPC. It routes
// with the pool snapshots the primary publishes and reports passive failures, its
// connection counts and (on request) its metrics. Health checks run only in the primary.
import { Registry } from 'prom-client'
import type { Clock } from '../clock.js'
import { RelayStatsExporter } from '../metrics/relay-export.js'
import { createWorkerMetrics } from '../metrics/registry.js'
import { buildPicker } from '../pool/picker.js'
import { DataPlane } from '../proxy/data-plane.js'
import type { FromWorker, ToWorker } from '../proxy/worker-protocol.js'

/** How often a worker reports changed connection counts (coalesced). */
export const LOAD_REPORT_MS = 50

/** The IPC channel: process.send/process.on('message') in a real worker. */
export interface WorkerChannel {
  readonly id: string
  send(message: FromWorker): void
  onMessage(handler: (message: ToWorker) => void): void
}

/** How a worker runs: per-connection histograms on or off (benchmark), and its slot. */
export interface WorkerOptions {
  readonly histograms: boolean
  /** The worker's place in the group, "1" to "N", kept by its replacement: a metrics label. */
  readonly slot: string
}

/** Runs a worker until the primary says shutdown; resolves when its data plane is closed. */
export function runWorker(
  channel: WorkerChannel,
  clock: Clock,
  options: WorkerOptions = { histograms: true, slot: channel.id },
): Promise<void> {
  return new Promise(resolve => {
    let plane: DataPlane | undefined
    let remote: ReadonlyMap<string, number> = new Map()
    const register = new Registry()
    const metrics = createWorkerMetrics(register, options.slot)
    const exporter = new RelayStatsExporter(metrics)
    metrics.addCollectHook(() => {
      if (plane !== undefined) exporter.export(plane.stats())
    })
    const changed = new Map<string, number>()
    let loadTimer: NodeJS.Timeout | undefined
    const flushLoads = (): void => {
      loadTimer = undefined
      channel.send({ t: 'load', loads: Object.fromEntries(changed) })
      changed.clear()
    }
    const load = (member: string): number =>
      (plane?.localLoad(member) ?? 0) + (remote.get(member) ?? 0)

    channel.onMessage(message => {
      switch (message.t) {
        case 'init': {
          const p = new DataPlane(message.options, {
            clock,
            picker: buildPicker([], {
              balance: 'round-robin',
              allDown: 'reject',
              slowStartMs: 0,
              maxConnectionsPerMember: 0,
              load,
            }),
            exclusive: false,
            passiveFailure: (member, result) => {
              channel.send({ t: 'passive', member, result })
            },
            ...(options.histograms
              ? {
                  connectDuration: (member: string, seconds: number) => {
                    metrics.connectDuration.observe({ member }, seconds)
                  },
                  connectionDuration: (listener: string, seconds: number) => {
                    metrics.connectionDuration.observe({ listener }, seconds)
                  },
                }
              : {}),
            accessLogEvents: {
              written: () => {
                metrics.accessLogLines.inc()
              },
              dropped: reason => {
                metrics.accessLogDropped.inc({ reason })
              },
              failed: err => {
                channel.send({ t: 'access-log-failed', message: err.message })
              },
            },
            loadChanged: (member, active) => {
              changed.set(member, active)
              loadTimer ??= setTimeout(flushLoads, LOAD_REPORT_MS)
            },
          })
          plane = p
          p.listen().then(
            listeners => {
              channel.send({ t: 'listening', listeners })
            },
            (err: unknown) => {
              channel.send({
                t: 'listen-error',
                message: err instanceof Error ? err.message : String(err),
              })
            },
          )
          break
        }
        case 'pool':
          plane?.setPicker(buildPicker(message.members, { ...message.settings, load }))
          channel.send({ t: 'pool-ack', seq: message.seq })
          break
        case 'options':
          plane?.setOptions(message.options)
          break
        case 'loads': {
          const sums = new Map<string, number>()
          for (const [worker, loads] of Object.entries(message.loads)) {
            if (worker === channel.id) continue
            for (const [member, n] of Object.entries(loads))
              sums.set(member, (sums.get(member) ?? 0) + n)
          }
          remote = sums
          channel.send({ t: 'loads-ack', seq: message.seq })
          break
        }
        case 'reopen-log':
          plane?.reopenAccessLog()
          break
        case 'close-member':
          plane?.closeConnectionsTo(message.member)
          break
        case 'metrics-request':
          void register.getMetricsAsJSON().then(json => {
            channel.send({ t: 'metrics', id: message.id, metrics: json })
          })
          break
        case 'shutdown':
          if (plane === undefined) {
            channel.send({ t: 'stopped-accepting' })
            channel.send({ t: 'closed', forced: 0 })
            resolve()
            break
          }
          // close() closes the listening sockets before its first await; the message
          // follows cluster's own 'close' on the same channel, so when the primary reads
          // it, it has released its copy of the shared socket too.
          void plane.close(message.deadlineMs).then(({ forced }) => {
            if (loadTimer !== undefined) clearTimeout(loadTimer)
            channel.send({ t: 'closed', forced })
            resolve()
          })
          channel.send({ t: 'stopped-accepting' })
          break
        default: {
          const unknown: never = message
          throw new Error(`worker: unexpected message ${JSON.stringify(unknown)}`)
        }
      }
    })
    channel.send({ t: 'ready' })
  })
}
