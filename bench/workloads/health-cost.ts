// Health checking cost: the proxy's CPU while it probes many members every second and
// relays nothing.

import { Backends } from '../backends.js'
import type { MemberSpec } from '../proxy-spec.js'
import { freePort } from '../ports.js'
import { measureCpu, treeRssKiB } from '../proc-stats.js'
import { sleep, startSystem } from '../systems.js'
import { corePercent, type Workload } from './workload.js'

/** Members issue #5 asks for. */
export const HEALTH_MEMBERS = 1_000
const SMOKE_MEMBERS = 50
/** Local /health servers the members are spread over. */
const HEALTH_SERVERS = 4

/** Member ids m0001… spread round-robin over the given ports. */
export function spreadMembers(count: number, ports: readonly number[]): MemberSpec[] {
  const width = String(count).length
  return Array.from({ length: count }, (_, i) => {
    const port = ports[i % ports.length]
    if (port === undefined) throw new Error('no health server ports')
    return { id: `m${String(i + 1).padStart(width, '0')}`, port }
  })
}

/** The health-cost workload. */
export const healthCostWorkload: Workload = {
  id: 'health-cost',
  timeoutMs: () => 90_000,
  unavailable: () => undefined,
  run: async ctx => {
    const count = ctx.smoke ? SMOKE_MEMBERS : HEALTH_MEMBERS
    const servers = Array.from({ length: HEALTH_SERVERS }, () => ({
      kind: 'http' as const,
    }))
    const backends = await Backends.start(ctx, servers)
    const system = await startSystem(ctx.system, ctx, {
      listenPort: await freePort(),
      members: spreadMembers(count, backends.ports),
      healthPort: 'member',
      maxConnections: 1_000,
    })
    const pid = system.pid
    if (pid === undefined) throw new Error('health-cost needs a proxy process')
    // Past startup, so the window sees steady-state probing only.
    await sleep(ctx.smoke ? 1_000 : 3_000)
    const total = async () => (await backends.stats()).requests.reduce((a, b) => a + b, 0)
    const probes0 = await total()
    const windowMs = ctx.smoke ? 2_000 : 10_000
    const { cpuSeconds, wallSeconds } = await measureCpu(pid, () => sleep(windowMs))
    const probes = (await total()) - probes0
    return {
      cpuPct: corePercent(cpuSeconds, wallSeconds),
      probesPerSec: probes / wallSeconds,
      members: count,
      rssMiB: treeRssKiB(pid) / 1024,
    }
  },
}
