// Shared pool (issue #10) costs: how fast an admin change made on one corral instance
// reaches another, and what Redis and the members pay as instances are added. Each run
// starts its own redis-server on a free port and real corral processes in the default
// workers mode.

import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { stringify } from 'yaml'
import { Backends } from '../backends.js'
import type { RunContext } from '../context.js'
import { corralConfig } from '../corral-config.js'
import { freePort } from '../ports.js'
import { Child } from '../procs.js'
import type { MemberSpec } from '../proxy-spec.js'
import { summarize } from '../stats.js'
import { sleep } from '../systems.js'
import { spreadMembers } from './health-cost.js'
import type { Workload } from './workload.js'

const PREFIX = 'bench'
/** Admin changes timed by the propagation workload (smoke: fewer). */
const CHANGES = 200
const SMOKE_CHANGES = 20
/** Members of the scale workload, spread over a few /health servers. */
const SCALE_MEMBERS = 1_000
const SMOKE_SCALE_MEMBERS = 50
const HEALTH_SERVERS = 4
/** The bench config probes every member once per second (corral-config.ts). */
const INTERVAL_S = 1
const READY_TIMEOUT_MS = 90_000

interface RedisChild {
  readonly port: number
  readonly client: Redis
}

/** redis-server on a free port, no persistence; stopped with the run's scope. */
async function startRedisServer(ctx: RunContext): Promise<RedisChild> {
  const port = await freePort()
  const child = ctx.scope.add(
    new Child(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { name: 'redis', cpus: ctx.env.pin.load, logDir: ctx.env.logDir },
    ),
  )
  ctx.record(child.argv)
  const client = new Redis(port, '127.0.0.1', {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => 50,
  })
  client.on('error', () => {
    // Refused until redis-server listens: the ping loop below retries and reports.
  })
  ctx.scope.add({
    name: 'redis-client',
    stop: () => {
      client.disconnect()
      return Promise.resolve()
    },
  })
  const deadline = performance.now() + 10_000
  for (;;) {
    try {
      if (client.status === 'wait') await client.connect()
      await client.ping()
      break
    } catch (err) {
      if (performance.now() > deadline)
        throw new Error('redis-server did not answer within 10 s', { cause: err })
      await sleep(50)
    }
  }
  return { port, client }
}

interface Instance {
  readonly id: string
  readonly adminUrl: string
  readonly pid: number | undefined
}

/** Starts one corral lb sharing the pool under PREFIX on `redisPort`. */
async function startSharedCorral(
  ctx: RunContext,
  id: string,
  redisPort: number,
  members: readonly MemberSpec[],
): Promise<Instance> {
  const launcher = ctx.env.corral
  if (launcher === undefined) throw new Error('corral CLI not built')
  const adminPort = await freePort()
  const config = {
    ...corralConfig(
      {
        listenPort: await freePort(),
        members,
        healthPort: 'member',
        maxConnections: 1_000,
      },
      { adminPort, workers: 0, dataPath: 'js' },
    ),
    // The default mode users run: one data-path process per core.
    workers: 'auto',
    redis: { url: `redis://127.0.0.1:${redisPort}/0`, prefix: PREFIX },
    coordination: { instanceId: id },
  }
  const configPath = join(
    ctx.env.workDir,
    `corral-${ctx.workload}-${id}-r${ctx.round}.yaml`,
  )
  writeFileSync(configPath, stringify(config))
  ctx.attach(configPath, stringify(config))
  const child = new Child(
    process.execPath,
    [launcher.entry, 'lb', '--config', configPath, '--log-level', 'warn'],
    {
      name: id,
      cpus: ctx.env.pin.proxy,
      logDir: ctx.env.logDir,
      nofile: ctx.env.raiseNofile,
    },
  )
  ctx.scope.add({ name: id, stop: () => child.stop(5_000) })
  ctx.record(child.argv)
  const adminUrl = `http://127.0.0.1:${adminPort}`
  // Generous: 1,000 members and worker forks on a shared, loaded 2-core machine.
  const deadline = performance.now() + READY_TIMEOUT_MS
  for (;;) {
    if (child.hasExited)
      throw new Error(`${id} exited during startup (see ${child.logPath})`)
    const ok = await fetch(`${adminUrl}/readyz`, { signal: AbortSignal.timeout(1_000) })
      .then(async r => {
        await r.body?.cancel()
        return r.status === 200
      })
      .catch(() => false)
    if (ok) break
    if (performance.now() > deadline)
      throw new Error(`${id} not ready within ${READY_TIMEOUT_MS / 1_000} s`)
    await sleep(100)
  }
  return { id, adminUrl, pid: child.pid }
}

/** The admin state of `member` in `lb`'s GET /api/v1/pool. */
async function adminStateOf(lb: Instance, member: string): Promise<string | undefined> {
  const res = await fetch(`${lb.adminUrl}/api/v1/pool`, {
    signal: AbortSignal.timeout(2_000),
  })
  const doc: unknown = await res.json()
  if (typeof doc !== 'object' || doc === null || !('members' in doc)) return undefined
  const members = doc.members
  if (!Array.isArray(members)) return undefined
  for (const m of members as unknown[]) {
    if (typeof m === 'object' && m !== null && 'id' in m && m.id === member) {
      return 'admin' in m && typeof m.admin === 'string' ? m.admin : undefined
    }
  }
  return undefined
}

/** (a) Admin change on lb1 → Redis notice → lb2's pool API shows it. */
export const coordinationPropagationWorkload: Workload = {
  id: 'coordination-propagation',
  timeoutMs: () => 180_000,
  unavailable: env => (env.corral === undefined ? 'corral CLI not built' : undefined),
  run: async ctx => {
    const redis = await startRedisServer(ctx)
    const backends = await Backends.start(ctx, [{ kind: 'http' }])
    const members = spreadMembers(2, backends.ports)
    const lb1 = await startSharedCorral(ctx, 'lb1', redis.port, members)
    const lb2 = await startSharedCorral(ctx, 'lb2', redis.port, members)
    const subscriber = redis.client.duplicate()
    ctx.scope.add({
      name: 'subscriber',
      stop: () => {
        subscriber.disconnect()
        return Promise.resolve()
      },
    })
    let noticeAt = 0
    subscriber.on('message', () => {
      if (noticeAt === 0) noticeAt = performance.now()
    })
    await subscriber.subscribe(`${PREFIX}:events`)
    const member = members[0]?.id ?? 'm1'
    const changes = ctx.smoke ? SMOKE_CHANGES : CHANGES
    const noticeMs: number[] = []
    const seenMs: number[] = []
    const writeMs: number[] = []
    const runDeadline = performance.now() + 150_000
    for (let i = 0; i < changes && !ctx.signal.aborted; i++) {
      if (performance.now() > runDeadline) throw new Error(`only ${i} changes in 150 s`)
      const target = i % 2 === 0 ? 'disabled' : 'enabled'
      const verb = target === 'disabled' ? 'disable' : 'enable'
      noticeAt = 0
      const t0 = performance.now()
      const res = await fetch(`${lb1.adminUrl}/api/v1/members/${member}/${verb}`, {
        method: 'POST',
        signal: AbortSignal.timeout(5_000),
      })
      await res.text()
      if (!res.ok) throw new Error(`POST ${verb} on lb1: ${res.status}`)
      writeMs.push(performance.now() - t0)
      // Poll lb2 back to back (bounded) until it shows the change.
      const deadline = t0 + 10_000
      for (;;) {
        if ((await adminStateOf(lb2, member)) === target) break
        if (performance.now() > deadline)
          throw new Error(`lb2 did not show ${member} ${target} within 10 s`)
      }
      seenMs.push(performance.now() - t0)
      if (noticeAt > 0) noticeMs.push(noticeAt - t0)
    }
    const seen = summarize(seenMs)
    const notice = summarize(noticeMs)
    const write = summarize(writeMs)
    if (seen === undefined || notice === undefined || write === undefined)
      throw new Error('no change was timed')
    return {
      p50Ms: seen.median,
      p99Ms: percentile(seenMs, 0.99),
      noticeP50Ms: notice.median,
      noticeP99Ms: percentile(noticeMs, 0.99),
      writeP50Ms: write.median,
      changes: seenMs.length,
    }
  },
}

function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN
}

/** INFO stats total_commands_processed and INFO commandstats evalsha calls. */
async function redisCounters(client: Redis): Promise<{ total: number; scripts: number }> {
  const stats = await client.info('stats')
  const cmd = await client.info('commandstats')
  const total = Number(/total_commands_processed:(\d+)/.exec(stats)?.[1] ?? NaN)
  const evalsha = Number(/cmdstat_evalsha:calls=(\d+)/.exec(cmd)?.[1] ?? 0)
  const evalCalls = Number(/cmdstat_eval:calls=(\d+)/.exec(cmd)?.[1] ?? 0)
  return { total, scripts: evalsha + evalCalls }
}

/** (b) Redis ops/s and /health probes per member per interval with `instances` corrals. */
export function coordinationScaleWorkload(
  id: 'coordination-scale-1' | 'coordination-scale-2' | 'coordination-scale-3',
  instances: number,
): Workload {
  return {
    id,
    timeoutMs: () => 60_000 + instances * (READY_TIMEOUT_MS + 10_000),
    unavailable: env => (env.corral === undefined ? 'corral CLI not built' : undefined),
    run: async ctx => {
      const count = ctx.smoke ? SMOKE_SCALE_MEMBERS : SCALE_MEMBERS
      const redis = await startRedisServer(ctx)
      const backends = await Backends.start(
        ctx,
        Array.from({ length: HEALTH_SERVERS }, () => ({ kind: 'http' as const })),
      )
      const members = spreadMembers(count, backends.ports)
      for (let i = 1; i <= instances; i++) {
        await startSharedCorral(ctx, `lb${i}`, redis.port, members)
      }
      // Past startup and the first published verdicts, so peers have switched to tcp.
      await sleep(ctx.smoke ? 3_000 : 6_000)
      const probes = async () =>
        (await backends.stats()).requests.reduce((a, b) => a + b, 0)
      const p0 = await probes()
      const r0 = await redisCounters(redis.client)
      const t0 = performance.now()
      await sleep(ctx.smoke ? 3_000 : 10_000)
      const p1 = await probes()
      const r1 = await redisCounters(redis.client)
      const wallS = (performance.now() - t0) / 1_000
      // Our own INFO calls: 2 commands per sample, subtracted.
      const ops = (r1.total - r0.total - 2) / wallS
      return {
        probesPerMemberPerInterval: (p1 - p0) / count / (wallS / INTERVAL_S),
        redisOpsPerSec: ops,
        redisOpsPerSecPerInstance: ops / instances,
        redisScriptsPerSecPerInstance: (r1.scripts - r0.scripts) / wallS / instances,
        members: count,
      }
    },
  }
}
