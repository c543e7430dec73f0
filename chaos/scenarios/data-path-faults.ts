// Scenario 5: faults on r1's data path only (its health path stays clean, so active
// checks keep it up). Three phases:
//   refused     r1's data proxies disabled: corral's connect is refused, passive detection
//               logs it and the connection is retried on another member: zero failures.
//   reset_peer  connections through r1 are reset: errors bounded to r1's share, each fast.
//   timeout     connections through r1 stall and are closed after the toxic's timeout:
//               errors bounded to r1's share, none slower than the timeout plus slack.
// After each toxic is removed, no failures.
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

/** Round-robin over 3 members gives r1 a third; allow for uneven spreading. */
const SHARE_BUDGET = 0.5
const STALL_TIMEOUT_MS = 1_000

/** See the file comment. */
export const dataPathFaults: Scenario = {
  number: 5,
  name: 'data-path-faults',
  title: 'connect refused, reset_peer and timeout on the data path',
  async run(ctx) {
    const { topo, load } = await startWithLoad(ctx)
    try {
      const phaseMs = ctx.soak ? 20_000 : 3_000
      const settleMs = 1_000
      await hold(2_000)
      const checks: Check[] = []

      ctx.log("r1's data proxies disabled (connect refused)")
      const passiveBefore = topo.lbs.map(lb => lb.logs.length)
      await topo.setEnabled('r1', ['http', 'https'], false)
      // Counted from when every proxy is down: disabling closes the connections open
      // through them (FIN), which is the toxic's doing, not corral's.
      const refusedAt = Date.now()
      await hold(phaseMs)
      const refusedEnd = Date.now()
      await topo.setEnabled('r1', ['http', 'https'], true)
      const refused = between(load.attempts, refusedAt, refusedEnd)
      const passive = topo.lbs.reduce(
        (n, lb, i) =>
          n +
          lb.logs
            .slice(passiveBefore[i])
            .filter(l => l.msg === 'member connect failed' && l.member === 'r1').length,
        0,
      )
      checks.push(
        check(
          'refused: failed connections (retried elsewhere)',
          '0',
          describeFailures(refused),
          refused.every(a => a.ok),
        ),
        check(
          'refused: passive detection logged it',
          '≥ 1 "member connect failed"',
          String(passive),
          passive >= 1,
        ),
      )
      await hold(settleMs)

      for (const fault of [
        {
          name: 'reset_peer',
          type: 'reset_peer' as const,
          attributes: { timeout: 0 },
          slowest: SLACK_MS,
        },
        {
          name: 'timeout',
          type: 'timeout' as const,
          attributes: { timeout: STALL_TIMEOUT_MS },
          slowest: STALL_TIMEOUT_MS + SLACK_MS,
        },
      ]) {
        ctx.log(`${fault.name} on r1's data path`)
        const at = Date.now()
        await topo.addToxic('r1', ['http', 'https'], {
          name: `fault-${fault.name}`,
          type: fault.type,
          stream: 'downstream',
          attributes: fault.attributes,
        })
        await hold(phaseMs)
        const removedAt = Date.now()
        await topo.removeToxic('r1', ['http', 'https'], `fault-${fault.name}`)
        // Connections opened before the removal may still be finishing: give them time.
        await hold(settleMs + STALL_TIMEOUT_MS)
        const cleanFrom = Date.now()
        await hold(2_000)
        const during = between(load.attempts, at, removedAt)
        const failed = during.filter(a => !a.ok)
        const slowest = Math.max(0, ...failed.map(a => a.latencyMs))
        const clean = between(load.attempts, cleanFrom, Date.now())
        checks.push(
          check(
            `${fault.name}: errors bounded to r1's share`,
            `≤ ${SHARE_BUDGET * 100}% of attempts`,
            describeFailures(during),
            during.length > 0 && failed.length <= SHARE_BUDGET * during.length,
          ),
          check(
            `${fault.name}: each error is prompt`,
            `≤ ${ms(fault.slowest)}`,
            `slowest ${ms(slowest)}`,
            slowest <= fault.slowest,
          ),
          check(
            `${fault.name}: failures after removal`,
            '0',
            describeFailures(clean),
            clean.every(a => a.ok),
          ),
        )
      }
      await load.stop()
      ctx.attach('events', { refusedAt, refusedEnd })
      ctx.attach('failed', load.attempts.filter(a => !a.ok).slice(0, 200))
      return checks
    } finally {
      await load.stop()
      await topo.close()
    }
  },
}
