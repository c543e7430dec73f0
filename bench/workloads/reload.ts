// SIGHUP reload under keep-alive load: wrk must see no errors, and the new config must
// show up in the admin API quickly.

import { Backends } from '../backends.js'
import type { ProxySpec } from '../proxy-spec.js'
import { freePort } from '../ports.js'
import { sleep, startCorral } from '../systems.js'
import { runWrk } from '../tools/wrk.js'
import { expectHttpOk, KEEP_ALIVE_CONNECTIONS } from './http-load.js'
import type { Workload } from './workload.js'

/** Whether a JSON document holds an object whose `id` is `id`, at any depth. */
export function hasMemberId(doc: unknown, id: string, depth = 0): boolean {
  if (depth > 8 || typeof doc !== 'object' || doc === null) return false
  if (Array.isArray(doc)) return doc.some(item => hasMemberId(item, id, depth + 1))
  if ('id' in doc && doc.id === id) return true
  return Object.values(doc).some(value => hasMemberId(value, id, depth + 1))
}

/** The reload workload (corral only). */
export const reloadWorkload: Workload = {
  id: 'reload',
  timeoutMs: durationS => (durationS + 60) * 1000,
  unavailable: env => {
    if (env.corral === undefined) return 'corral CLI not built'
    return env.tools.wrk === undefined ? 'wrk not found' : undefined
  },
  run: async ctx => {
    const wrk = ctx.env.tools.wrk
    if (wrk === undefined) throw new Error('wrk not found')
    const backends = await Backends.start(ctx, [{ kind: 'http' }, { kind: 'http' }])
    const before: ProxySpec = {
      listenPort: await freePort(),
      members: [{ id: 'm1', port: backends.port(0) }],
      healthPort: 'member',
      maxConnections: 1_000,
    }
    const corral = await startCorral(ctx, before, {
      workers: ctx.system === 'corral-2w' ? 2 : 1,
    })
    await expectHttpOk(corral.port, 5_000)
    // wrk takes whole seconds; 2 s leaves load on both sides of the reload.
    const durationS = Math.max(2, ctx.durationS)
    const load = runWrk(ctx, wrk, {
      port: corral.port,
      connections: KEEP_ALIVE_CONNECTIONS,
      durationS,
      close: false,
      record: true,
    })
    // A rejection is handled when `load` is awaited below; do not let it float meanwhile.
    load.catch(() => undefined)
    await sleep(durationS * 400)
    const after = {
      ...before,
      members: [...before.members, { id: 'm2', port: backends.port(1) }],
    }
    const t0 = performance.now()
    corral.reload(after)
    let reloadMs = NaN
    const deadline = t0 + 5_000
    while (performance.now() < deadline && !ctx.signal.aborted) {
      const res = await fetch(`${corral.adminUrl}/api/v1/pool`, {
        signal: AbortSignal.timeout(1_000),
      }).catch(() => undefined)
      const doc: unknown = res?.ok === true ? await res.json() : undefined
      if (hasMemberId(doc, 'm2')) {
        reloadMs = performance.now() - t0
        break
      }
      await sleep(10)
    }
    const result = await load
    if (Number.isNaN(reloadMs))
      throw new Error('m2 did not appear in /api/v1/pool within 5 s')
    return {
      reloadMs,
      errors: result.socketErrors + result.non2xx,
      rps: result.rps,
      p99Ms: result.p99Ms,
    }
  },
}
