// Time for corral to route to a member added through the admin API.

import { connect } from 'node:net'
import { Backends } from '../backends.js'
import { LISTENER } from '../corral-config.js'
import { freePort } from '../ports.js'
import { startCorral } from '../systems.js'
import type { Workload } from './workload.js'

/** Most connections tried before giving up. */
const MAX_ATTEMPTS = 100_000

/** The membership workload (corral only). */
export const membershipWorkload: Workload = {
  id: 'membership',
  timeoutMs: () => 60_000,
  unavailable: env => (env.corral === undefined ? 'corral CLI not built' : undefined),
  run: async ctx => {
    const backends = await Backends.start(ctx, [
      { kind: 'tag', tag: 'm1' },
      { kind: 'tag', tag: 'm2' },
      { kind: 'http' },
    ])
    const corral = await startCorral(
      ctx,
      {
        listenPort: await freePort(),
        members: [{ id: 'm1', port: backends.port(0) }],
        healthPort: backends.port(2),
        maxConnections: 1_000,
      },
      { workers: ctx.system === 'corral-2w' ? 2 : 1 },
    )
    const first = await readTag(corral.port)
    if (first !== 'm1') throw new Error(`expected a connection to m1 first, got ${first}`)
    const t0 = performance.now()
    const res = await fetch(`${corral.adminUrl}/api/v1/members/m2`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        address: '127.0.0.1',
        ports: { [LISTENER]: backends.port(1) },
      }),
      signal: AbortSignal.timeout(5_000),
    })
    const putMs = performance.now() - t0
    const text = await res.text()
    if (!res.ok)
      throw new Error(`PUT /api/v1/members/m2: ${res.status} ${text.slice(0, 200)}`)
    const deadline = t0 + (ctx.smoke ? 5_000 : 10_000)
    let attempts = 0
    while (
      attempts < MAX_ATTEMPTS &&
      performance.now() < deadline &&
      !ctx.signal.aborted
    ) {
      attempts++
      const tag = await readTag(corral.port).catch(() => 'error')
      if (tag === 'm2') return { pickupMs: performance.now() - t0, putMs, attempts }
    }
    throw new Error(`no connection reached m2 after ${attempts} attempts`)
  },
}

/** Connects through the proxy and returns the line the member wrote (2 s at most). */
async function readTag(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let data = ''
    socket.setEncoding('utf8')
    socket.setTimeout(2_000, () => socket.destroy(new Error('no answer within 2 s')))
    socket.on('data', (chunk: string) => {
      data += chunk
    })
    socket.on('end', () => {
      resolve(data.trim())
    })
    socket.on('error', reject)
  })
}
