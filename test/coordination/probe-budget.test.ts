// Probe budget: with three instances each member still gets about one /health probe per
// interval (assigned by rendezvous hashing, verdicts shared); the others only check that
// they can reach it. When an instance dies, its members are taken over within its TTL.
import t from 'tap'
import { startRedis } from '../helpers/redis-server.js'
import {
  startSharedLb,
  waitForPool,
  type SharedLbOptions,
} from '../helpers/shared-pool.js'
import { startVotingMember, type VotingMember } from '../helpers/voting-member.js'

const INTERVAL_MS = 300
const health = (lb: string): string =>
  `{ interval: ${INTERVAL_MS}ms, timeout: 1s, rise: 1, fall: 2, jitter: 0, headers: { x-lb: ${lb} } }`

/** /health probes per member and instance over a window, from the members' counters. */
async function probesOver(members: readonly VotingMember[], windowMs: number) {
  const before = members.map(m => new Map(m.probes))
  const started = performance.now()
  // Observation window (counting what happens in it), not synchronisation.
  await new Promise(r => setTimeout(r, windowMs))
  const elapsed = performance.now() - started
  return {
    elapsed,
    perMember: members.map((m, i) => {
      const out: Record<string, number> = {}
      for (const [lb, n] of m.probes) {
        const d = n - (before[i]?.get(lb) ?? 0)
        if (d > 0) out[lb] = d
      }
      return out
    }),
  }
}

void t.test(
  'each member is probed by about one instance, and taken over when it dies',
  async t => {
    const redis = await startRedis()
    t.teardown(() => redis.kill())
    const members = await Promise.all(
      ['m1', 'm2', 'm3', 'm4', 'm5', 'm6'].map(id => startVotingMember(id)),
    )
    t.teardown(() => Promise.all(members.map(m => m.close())))
    const lbs = []
    for (const id of ['lb1', 'lb2', 'lb3']) {
      const o: SharedLbOptions = {
        redisUrl: redis.url,
        instanceId: id,
        health: health(id),
      }
      const lb = await startSharedLb(t.testdir(), members, o)
      t.teardown(() => lb.stop())
      lbs.push(lb)
    }
    for (const lb of lbs) {
      await waitForPool(
        lb,
        (ms, s) =>
          ms.every(m => m.state === 'up') &&
          (s.coordination as { instances: number; probing: number }).instances === 3,
        20_000,
        'all up, 3 instances',
      )
    }
    // Assignments settle within a resync or two: re-measure until each member has one prober.
    const settle = performance.now()
    let window = await probesOver(members, 3_000)
    while (
      window.perMember.some(p => Object.keys(p).length !== 1) &&
      performance.now() - settle < 15_000
    ) {
      window = await probesOver(members, 3_000)
    }
    const expected = window.elapsed / INTERVAL_MS
    t.comment(
      `probes per member over ${Math.round(window.elapsed)}ms: ${JSON.stringify(window.perMember)}`,
    )
    for (const [i, p] of window.perMember.entries()) {
      const total = Object.values(p).reduce((a, b) => a + b, 0)
      t.equal(
        Object.keys(p).length,
        1,
        `m${i + 1} gets its /health probes from one instance (${Object.keys(p).join()})`,
      )
      t.ok(
        total <= expected * 1.5 + 1,
        `m${i + 1}: ${total} probes ≈ one per interval (${expected.toFixed(1)})`,
      )
    }
    const owners = window.perMember.map(p => Object.keys(p)[0])
    t.ok(
      new Set(owners).size >= 2,
      `the members are spread over instances (${owners.join()})`,
    )

    // SIGKILL the owner of m1: another instance takes its /health probes over.
    const victim = owners[0] ?? 'lb1'
    const victimLb = lbs[Number(victim.slice(2)) - 1]
    await victimLb?.stop('SIGKILL')
    const killedAt = performance.now()
    const m1 = members[0]
    if (m1 === undefined) throw new Error('m1')
    const base = new Map(m1.probes)
    let takenBy: string | undefined
    while (takenBy === undefined && performance.now() - killedAt < 10_000) {
      for (const [lb, n] of m1.probes)
        if (lb !== victim && n > (base.get(lb) ?? 0)) takenBy = lb
      await new Promise(r => setTimeout(r, 50))
    }
    const tookMs = Math.round(performance.now() - killedAt)
    t.ok(
      takenBy !== undefined,
      `${takenBy ?? 'nobody'} took m1's probes over after ${tookMs}ms`,
    )
    // TTL 1 s + one resync (1 s) + an interval, plus slack for a loaded machine.
    t.ok(
      tookMs <= 1_000 + 1_000 + INTERVAL_MS + 1_500,
      `takeover within the heartbeat TTL plus a resync (${tookMs}ms)`,
    )
  },
)
