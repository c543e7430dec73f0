import t from 'tap'
import { SLOW_START_MIN_FACTOR, slowStartWeight } from '../../src/pool/slow-start.js'

void t.test(
  'slowStartWeight ramps a readmitted member linearly to its full weight',
  t => {
    const cases: {
      name: string
      weight: number
      upSince: number | undefined
      now: number
      slowStartMs: number
      expect: number
    }[] = [
      {
        name: 'never readmitted',
        weight: 4,
        upSince: undefined,
        now: 5,
        slowStartMs: 10_000,
        expect: 4,
      },
      {
        name: 'slow start off',
        weight: 4,
        upSince: 1_000,
        now: 1_000,
        slowStartMs: 0,
        expect: 4,
      },
      {
        name: 'at readmission: the minimum share',
        weight: 4,
        upSince: 1_000,
        now: 1_000,
        slowStartMs: 10_000,
        expect: 0.2,
      },
      {
        name: '1 ms in: still the minimum',
        weight: 1,
        upSince: 1_000,
        now: 1_001,
        slowStartMs: 10_000,
        expect: 0.05,
      },
      {
        name: 'at 5%: the ramp meets the minimum',
        weight: 2,
        upSince: 0,
        now: 500,
        slowStartMs: 10_000,
        expect: 0.1,
      },
      {
        name: 'a quarter of the way',
        weight: 10,
        upSince: 0,
        now: 2_500,
        slowStartMs: 10_000,
        expect: 2.5,
      },
      {
        name: 'halfway',
        weight: 4,
        upSince: 1_000,
        now: 6_000,
        slowStartMs: 10_000,
        expect: 2,
      },
      {
        name: 'at slowStartMs: full weight',
        weight: 4,
        upSince: 1_000,
        now: 11_000,
        slowStartMs: 10_000,
        expect: 4,
      },
      {
        name: 'long after',
        weight: 4,
        upSince: 1_000,
        now: 1e9,
        slowStartMs: 10_000,
        expect: 4,
      },
      {
        name: 'now before upSince (clock skew): the minimum',
        weight: 4,
        upSince: 1_000,
        now: 900,
        slowStartMs: 10_000,
        expect: 0.2,
      },
    ]
    t.plan(cases.length + 1)
    t.equal(SLOW_START_MIN_FACTOR, 0.05)
    for (const c of cases) {
      t.strictSame(
        slowStartWeight(c.weight, c.upSince, c.now, c.slowStartMs),
        c.expect,
        c.name,
      )
    }
  },
)
