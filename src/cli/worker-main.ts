// Entry point of a data-path worker process (forked by proxy/workers.ts). Signals are
// the primary's to handle: a Ctrl-C reaches the whole process group, and a worker must
// keep relaying until the primary tells it to drain.
import cluster from 'node:cluster'
import { monotonicClock } from '../clock.js'
import { isToWorker, type FromWorker } from '../proxy/worker-protocol.js'
import { runWorker } from '../app/worker-runtime.js'

// SIGUSR1 too: a listener keeps Node from starting its inspector on it (the primary
// reopens the access log on SIGUSR1 and tells the workers).
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGUSR1'] as const) {
  process.on(signal, () => {
    // Ignored: the primary coordinates shutdown and reload.
  })
}
// The primary is gone (crashed or killed): nothing will ever coordinate us again.
process.on('disconnect', () => process.exit(1))

const id = String(cluster.worker?.id ?? process.pid)
await runWorker(
  {
    id,
    send: (message: FromWorker) => {
      process.send?.(message)
    },
    onMessage: handler => {
      process.on('message', (message: unknown) => {
        if (isToWorker(message)) handler(message)
      })
    },
  },
  monotonicClock,
  {
    // Benchmark-only switch, as in lb.ts.
    histograms: process.env.CORRAL_BENCH_NO_HISTOGRAMS !== '1',
    slot: process.env.CORRAL_WORKER_SLOT ?? id,
  },
)
// Drained: the primary is waiting for this exit.
process.exit(0)
