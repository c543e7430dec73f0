// Scenario 7: the shared pool's Redis goes away for 20 s, twice, under load.
// A. redis-server SIGKILLed, then restarted empty on the same port: both LBs keep routing
//    on the pool they have (zero failed connections), refuse admin changes with a clear
//    503, and re-seed Redis from their pools once it is back; changes propagate again.
// B. lb1 alone partitioned from Redis (a Toxiproxy `timeout` toxic that holds every byte
//    on its Redis proxy, both directions): lb1 keeps routing and refuses admin changes
//    (503); lb2 stops counting lb1, and a drain made on lb2 meanwhile reaches lb1 once the
//    partition heals.
import {
  COMMAND_TIMEOUT_MS,
  MAX_RECONNECT_DELAY_MS,
} from '../../src/coordination/redis-connection.js'
import { CHAOS_COORDINATION } from '../corral/config.js'
import { adminCall, readPool, upCount, waitForPool } from '../pool-watch.js'
import {
  between,
  check,
  describeFailures,
  hold,
  ms,
  SLACK_MS,
  startWithLoad,
  type Check,
  type Scenario,
} from '../scenario.js'

const { ttlMs: TTL_MS, resyncMs: RESYNC_MS, heartbeatMs } = CHAOS_COORDINATION
/** A stalled connection counts as down after two timed-out commands in a row. */
const STALL_BUDGET_MS = 2 * COMMAND_TIMEOUT_MS + heartbeatMs + SLACK_MS
const MAX_RECONNECT_MS = MAX_RECONNECT_DELAY_MS
/** From Redis answering again to every LB reconciled: a reconnect, a resync, slack. */
const RECONCILE_BUDGET_MS = MAX_RECONNECT_MS + RESYNC_MS + SLACK_MS
/** A change on one LB seen on the other (notice or resync). */
const PROPAGATION_BUDGET_MS = RESYNC_MS + SLACK_MS

/** See the file comment. */
export const redisDown: Scenario = {
  number: 7,
  name: 'redis-down',
  title: 'Redis down for 20 s (killed, then partitioned)',
  async run(ctx) {
    const outageMs = ctx.soak ? 60_000 : 20_000
    const { topo, load } = await startWithLoad(ctx, { shared: {} })
    try {
      const [lb1, lb2] = topo.lbs
      const redis = topo.redis
      if (lb1 === undefined || lb2 === undefined || redis === undefined)
        throw new Error('a shared topology with two LBs expected')
      const allUp = (s: { states: Readonly<Record<string, string>> }): boolean =>
        upCount({ ...s, lb: '', atMs: 0, instances: 0, connected: true }) === 3
      for (const lb of topo.lbs)
        await waitForPool(lb, s => s.instances === 2 && allUp(s), 10_000, 'pool ready')
      await hold(ctx.soak ? 5_000 : 1_000)

      // A. Killed.
      const killedAt = Date.now()
      ctx.log(`SIGKILL redis-server for ${outageMs / 1000} s`)
      await redis.kill()
      for (const lb of topo.lbs)
        await waitForPool(lb, s => !s.connected, 10_000, 'store reported down')
      const detectMs = Date.now() - killedAt
      const refusedA = await adminCall(lb1, 'POST', '/api/v1/members/r3/drain')
      await hold(Math.max(0, killedAt + outageMs - Date.now()))
      ctx.log('restart redis-server, empty, on the same port')
      await redis.restart()
      const backAt = Date.now()
      for (const lb of topo.lbs)
        await waitForPool(
          lb,
          s => s.connected && s.instances === 2 && allUp(s),
          RECONCILE_BUDGET_MS + 10_000,
          'reconciled',
        )
      const reconcileMs = Date.now() - backAt
      const drainA = await adminCall(lb1, 'POST', '/api/v1/members/r3/drain')
      const drainAt = Date.now()
      await waitForPool(lb2, s => s.states.r3 === 'draining', 10_000, 'r3 draining')
      const propagateAMs = Date.now() - drainAt
      await adminCall(lb2, 'POST', '/api/v1/members/r3/enable')
      for (const lb of topo.lbs) await waitForPool(lb, allUp, 10_000, 'r3 back up')
      const endA = Date.now()

      // B. lb1 partitioned.
      const proxy = topo.redisProxy('lb1')
      const partitionAt = Date.now()
      ctx.log(`partition lb1 from Redis (timeout toxic) for ${outageMs / 1000} s`)
      for (const stream of ['upstream', 'downstream'] as const)
        await proxy.addToxic({
          name: `partition-${stream}`,
          type: 'timeout',
          stream,
          toxicity: 1,
          attributes: { timeout: 0 },
        })
      await waitForPool(lb1, s => !s.connected, 15_000, 'lb1 reports the store down')
      const stallMs = Date.now() - partitionAt
      await waitForPool(lb2, s => s.instances === 1, 10_000, 'lb1 not counted')
      const expiryMs = Date.now() - partitionAt
      const refusedB = await adminCall(lb1, 'POST', '/api/v1/members/r2/drain')
      const drainB = await adminCall(lb2, 'POST', '/api/v1/members/r3/drain')
      await waitForPool(lb2, s => s.states.r3 === 'draining', 5_000, 'r3 draining')
      const lb1During = await readPool(lb1)
      await hold(Math.max(0, partitionAt + outageMs - Date.now()))
      ctx.log('heal the partition')
      for (const stream of ['upstream', 'downstream'] as const)
        await (await proxy.getToxic(`partition-${stream}`)).remove()
      const healedAt = Date.now()
      await waitForPool(
        lb1,
        s => s.states.r3 === 'draining',
        30_000,
        'r3 draining on lb1',
      )
      const healMs = Date.now() - healedAt
      await waitForPool(lb2, s => s.instances === 2, 10_000, 'lb1 counted again')
      await adminCall(lb1, 'POST', '/api/v1/members/r3/enable')
      for (const lb of topo.lbs) await waitForPool(lb, allUp, 10_000, 'r3 back up')
      await hold(ctx.soak ? 5_000 : 1_000)
      await load.stop()
      const end = Date.now()

      const duringA = between(load.attempts, killedAt, endA)
      const duringB = between(load.attempts, partitionAt, end)
      ctx.attach('events', {
        killedAt,
        backAt,
        partitionAt,
        healedAt,
        refusedA,
        refusedB,
        drainA,
        drainB,
        lb1During,
      })
      ctx.attach('failed', load.attempts.filter(a => !a.ok).slice(0, 200))
      const clear = (r: { status: number; body: string }): boolean =>
        r.status === 503 && /redis|store/i.test(r.body)
      const said = (r: { status: number; body: string }): string => {
        try {
          const doc = JSON.parse(r.body) as { error?: { message?: string } }
          return `${r.status}: ${doc.error?.message ?? r.body}`
        } catch {
          return `${r.status}: ${r.body}`
        }
      }
      const checks: Check[] = [
        check(
          'A. failed connections: Redis killed, restarted empty, reconciled',
          '0',
          describeFailures(duringA),
          duringA.length > 0 && duringA.every(a => a.ok),
        ),
        check(
          'A. both LBs report the store down (pool API, metric)',
          `connect retry + ${SLACK_MS}`,
          ms(detectMs),
          detectMs <= MAX_RECONNECT_MS + SLACK_MS,
        ),
        check(
          'A. admin change while Redis is down',
          '503 naming the store',
          said(refusedA),
          clear(refusedA),
        ),
        check(
          'A. reconciled after Redis returned empty (both LBs, all members)',
          `reconnect + resync + ${SLACK_MS} = ${ms(RECONCILE_BUDGET_MS)}`,
          ms(reconcileMs),
          reconcileMs <= RECONCILE_BUDGET_MS,
        ),
        check(
          'A. a change after recovery propagates',
          `${drainA.status}, ≤ ${ms(PROPAGATION_BUDGET_MS)}`,
          `${drainA.status}, ${ms(propagateAMs)}`,
          drainA.status === 200 && propagateAMs <= PROPAGATION_BUDGET_MS,
        ),
        check(
          'B. failed connections: lb1 partitioned from Redis, healed',
          '0',
          describeFailures(duringB),
          duringB.length > 0 && duringB.every(a => a.ok),
        ),
        check(
          'B. partitioned lb1 reports the store down (stalled, not closed)',
          `2 timed-out commands + heartbeat + ${SLACK_MS} = ${ms(STALL_BUDGET_MS)}`,
          ms(stallMs),
          stallMs <= STALL_BUDGET_MS,
        ),
        check(
          'B. lb2 stops counting lb1',
          `ttl + resync + ${SLACK_MS} = ${ms(TTL_MS + RESYNC_MS + SLACK_MS)}`,
          ms(expiryMs),
          expiryMs <= TTL_MS + RESYNC_MS + SLACK_MS,
        ),
        check(
          'B. admin change on the partitioned lb1',
          '503 naming the store',
          said(refusedB),
          clear(refusedB),
        ),
        check(
          'B. partitioned lb1 keeps routing on its pool',
          '3 up, store down',
          `${upCount(lb1During)} up, store ${lb1During.connected ? 'up' : 'down'}`,
          upCount(lb1During) === 3 && !lb1During.connected,
        ),
        check(
          'B. a drain made on lb2 during the partition reaches lb1 after it heals',
          `${drainB.status}, ≤ ${ms(RECONCILE_BUDGET_MS)}`,
          `${drainB.status}, ${ms(healMs)}`,
          drainB.status === 200 && healMs <= RECONCILE_BUDGET_MS,
        ),
      ]
      return checks
    } finally {
      await load.stop()
      await topo.close()
    }
  },
}
