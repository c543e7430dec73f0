// The probe scheduler (src/health/schedule.ts): jittered intervals on clock ticks, the
// interval per hint, and the one timer per member.
import t from 'tap'
import { monotonicClock } from '../../src/clock.js'
import type { HealthConfig } from '../../src/config/types.js'
import {
  clearProbeTimer,
  intervalMs,
  jitteredDelayMs,
  nextDelayMs,
  onTickDelayMs,
  scheduleProbe,
  type IntervalHint,
  type ProbeTimer,
} from '../../src/health/schedule.js'

void t.test('jitteredDelayMs spreads the interval over ±jitter', t => {
  const cases: readonly {
    name: string
    args: [number, number, number]
    expected: number
  }[] = [
    { name: 'lowest draw', args: [1000, 0.1, 0], expected: 900 },
    { name: 'middle draw', args: [1000, 0.1, 0.5], expected: 1000 },
    { name: 'upper draw', args: [1000, 0.1, 0.75], expected: 1050 },
    { name: 'no jitter', args: [1000, 0, 0.9], expected: 1000 },
    { name: 'largest jitter', args: [2000, 0.5, 0], expected: 1000 },
  ]
  t.plan(cases.length)
  for (const { name, args, expected } of cases) {
    const [intervalMs, jitter, draw] = args
    t.equal(
      jitteredDelayMs(intervalMs, jitter, () => draw),
      expected,
      name,
    )
  }
})

void t.test('probes land on 10 ms ticks, never earlier than asked', t => {
  t.equal(onTickDelayMs(1_000, 1_000), 1_000, 'already on a tick')
  t.equal(onTickDelayMs(1_003.5, 996), 996.5, 'stretched to the next tick (2000)')
  t.equal(onTickDelayMs(1_003.5, 1_006.5), 1_006.5, 'exactly on 2010')
  t.equal(onTickDelayMs(5, 0), 5, 'due now: the next tick')
  t.equal(onTickDelayMs(7, 25, 50), 43, 'another tick size')
  for (let i = 0; i < 100; i++) {
    const now = i * 3.7
    const asked = i * 13.1
    const got = onTickDelayMs(now, asked)
    const offTick = (now + got) % 10
    if (
      got < asked - 1e-9 ||
      got >= asked + 10 ||
      Math.min(offTick, 10 - offTick) > 1e-6
    ) {
      t.fail(`now ${now}, asked ${asked}: got ${got}`)
    }
  }
  t.end()
})

const HEALTH: HealthConfig = {
  port: 'http',
  scheme: 'http',
  path: '/health',
  intervalMs: 2_000,
  fastIntervalMs: 500,
  downIntervalMs: 10_000,
  jitter: 0.1,
  timeoutMs: 1_000,
  rise: 2,
  fall: 3,
  expectStatus: [[200, 299]],
  maxBodyBytes: 4096,
  headers: {},
  tls: { insecure: false },
  initialState: 'down',
  onMarkedDown: 'keep-connections',
  proxyProtocol: 'inherit',
  proxyProtocolSource: 'local',
}

void t.test('each hint has its own interval (HAProxy inter, fastinter, downinter)', t => {
  const cases: readonly { hint: IntervalHint; expected: number }[] = [
    { hint: 'steady', expected: 2_000 },
    { hint: 'pending', expected: 500 },
    { hint: 'down', expected: 10_000 },
  ]
  t.plan(cases.length * 2)
  for (const { hint, expected } of cases) {
    t.equal(intervalMs(HEALTH, hint), expected, hint)
    t.equal(
      nextDelayMs(HEALTH, hint, () => 0),
      expected * 0.9,
      `${hint}, lowest draw`,
    )
  }
})

void t.test('a scheduled probe fires once, on a tick, with its slot cleared', async t => {
  const slot: ProbeTimer = { timer: undefined, dueAt: undefined }
  let seenInFire: ProbeTimer | undefined
  const fired = new Promise<number>((resolve, reject) => {
    const guard = setTimeout(() => {
      reject(new Error('the probe did not fire within 2 s'))
    }, 2_000)
    scheduleProbe(slot, monotonicClock, 20, () => {
      clearTimeout(guard)
      seenInFire = { ...slot }
      resolve(monotonicClock.now())
    })
  })
  const dueAt = slot.dueAt
  t.not(slot.timer, undefined, 'a timer is pending')
  t.ok(
    dueAt !== undefined && Math.abs(dueAt - Math.round(dueAt / 10) * 10) < 1e-6,
    'due on a 10 ms tick',
  )
  const at = await fired
  t.ok(dueAt !== undefined && at >= dueAt - 1, 'not earlier than due')
  t.strictSame(seenInFire, { timer: undefined, dueAt: undefined }, 'cleared before fire')
})

void t.test('clearing or rescheduling cancels the pending probe', async t => {
  const slot: ProbeTimer = { timer: undefined, dueAt: undefined }
  let stale = 0
  scheduleProbe(slot, monotonicClock, 10, () => stale++)
  clearProbeTimer(slot)
  t.strictSame(slot, { timer: undefined, dueAt: undefined }, 'cleared')
  scheduleProbe(slot, monotonicClock, 10, () => stale++)
  // The replacement fires; the two cancelled ones never do.
  await new Promise<void>((resolve, reject) => {
    const guard = setTimeout(() => {
      reject(new Error('the replacement did not fire within 2 s'))
    }, 2_000)
    scheduleProbe(slot, monotonicClock, 30, () => {
      clearTimeout(guard)
      resolve()
    })
  })
  t.equal(stale, 0, 'cancelled probes never fired')
})
