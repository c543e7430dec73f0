// Memory per idle relayed connection: hold N connections through the proxy and compare
// its resident memory before and after.

import { connect, type Socket } from 'node:net'
import { Backends } from '../backends.js'
import type { Env } from '../context.js'
import { freePort } from '../ports.js'
import { treeRssKiB } from '../proc-stats.js'
import { sleep, startSystem } from '../systems.js'
import type { Workload } from './workload.js'

/** Connections issue #5 asks for. */
export const WANTED_CONNECTIONS = 10_000
/**
 * Enough that the held connections' memory (a few KiB each on the JS path) stands clear of
 * a GC's swing of the heap: at 200 the smoke read "RSS did not grow" about one run in four.
 */
const SMOKE_CONNECTIONS = 1_000
/** Descriptors a process needs besides its connections (listeners, stdio, epoll, …). */
const FD_SLACK = 256
/** Connections relayed (and closed) before the baseline reading. */
const WARM_CONNECTIONS = 20
/** Connections opened at once. */
const BATCH = 250

/**
 * How many connections fit: the proxy holds two descriptors per relayed connection
 * (client and member side), the harness and the holding member one each.
 */
export function connectionBudget(
  wanted: number,
  childLimit: number,
  harnessLimit: number,
): number {
  const byProxy = Math.floor((childLimit - FD_SLACK) / 2)
  const byHarness = harnessLimit - FD_SLACK * 2
  return Math.max(1, Math.min(wanted, byProxy, byHarness))
}

/** Open-files limit a child starts with. */
function childLimit(env: Env): number {
  return env.raiseNofile ?? env.openFilesSoft
}

/** The idle-memory workload. */
export const idleMemoryWorkload: Workload = {
  id: 'idle-memory',
  timeoutMs: () => 180_000,
  unavailable: () => undefined,
  run: async ctx => {
    const wanted = ctx.smoke ? SMOKE_CONNECTIONS : WANTED_CONNECTIONS
    const n = connectionBudget(wanted, childLimit(ctx.env), ctx.env.openFilesSoft)
    if (n < wanted) {
      ctx.note(
        `idle-memory holds ${n.toLocaleString('en-US')} connections, not ` +
          `${wanted.toLocaleString('en-US')}: the open-files limit is ` +
          `${childLimit(ctx.env)} and a proxy needs 2 descriptors per relayed connection ` +
          '(raise `ulimit -n` to measure more).',
      )
    }
    const backends = await Backends.start(ctx, [{ kind: 'hold' }, { kind: 'http' }])
    const system = await startSystem(ctx.system, ctx, {
      listenPort: await freePort(),
      members: [{ id: 'm1', port: backends.port(0) }],
      healthPort: backends.port(1),
      maxConnections: n + 100,
    })
    const pid = system.pid
    if (pid === undefined) throw new Error('idle-memory needs a proxy process')
    const settleMs = ctx.smoke ? 500 : 5_000
    // Relay a few connections first so lazily created state (JIT code, pools) is part
    // of the baseline rather than charged to the held connections.
    const warm = await openConnections(system.port, WARM_CONNECTIONS, ctx.signal)
    await waitHeld(backends, WARM_CONNECTIONS, ctx.signal)
    destroyAll(warm)
    await waitHeld(backends, 0, ctx.signal)
    const before = await steadyRssKiB(pid, settleMs)
    const sockets = await openConnections(system.port, n, ctx.signal)
    try {
      await waitHeld(backends, n, ctx.signal)
      const after = await steadyRssKiB(pid, settleMs)
      if (after <= before) {
        // A heap shrinking under us (GC) swamped the connections' cost: not a measurement.
        throw new Error(`RSS did not grow (${before} → ${after} KiB): GC noise, rerun`)
      }
      return {
        kibPerConn: (after - before) / n,
        baseRssMiB: before / 1024,
        connections: n,
      }
    } finally {
      destroyAll(sockets)
    }
  },
}

/**
 * RSS once it stops moving: two readings 250 ms apart within 0.5% (a GC or heap resize
 * in a Node proxy can move it by megabytes), or the last reading after `maxMs`.
 */
async function steadyRssKiB(pid: number, maxMs: number): Promise<number> {
  const deadline = Date.now() + maxMs
  let last = treeRssKiB(pid)
  while (Date.now() < deadline) {
    await sleep(250)
    const now = treeRssKiB(pid)
    if (Math.abs(now - last) <= last * 0.005) return now
    last = now
  }
  return last
}

function destroyAll(sockets: readonly Socket[]): void {
  for (const s of sockets) s.destroy()
}

/** Opens `n` connections in batches; all or nothing (bounded by 5 s per connection). */
async function openConnections(
  port: number,
  n: number,
  signal: AbortSignal,
): Promise<Socket[]> {
  const sockets: Socket[] = []
  try {
    for (let i = 0; i < n; i += BATCH) {
      signal.throwIfAborted()
      const size = Math.min(BATCH, n - i)
      const batch = await Promise.all(Array.from({ length: size }, () => openOne(port)))
      sockets.push(...batch)
    }
  } catch (err) {
    destroyAll(sockets)
    throw new Error(`opened ${sockets.length} of ${n} connections`, { cause: err })
  }
  return sockets
}

async function openOne(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error('connect timed out after 5 s'))
    }, 5_000)
    socket.once('connect', () => {
      clearTimeout(timer)
      socket.removeAllListeners('error')
      // A proxy closing a held connection shows in the member's count, not here.
      socket.on('error', () => socket.destroy())
      resolve(socket)
    })
    socket.once('error', err => {
      clearTimeout(timer)
      reject(err)
    })
  })
}

/** Waits until the holding member has exactly `n` connections (30 s at most). */
async function waitHeld(
  backends: Backends,
  n: number,
  signal: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + 30_000
  let held: number | undefined
  while (Date.now() < deadline && !signal.aborted) {
    held = (await backends.stats()).held[0]
    if (held === n) return
    await sleep(100)
  }
  throw new Error(`member holds ${held ?? '?'} connections, expected ${n}`)
}
