import t from 'tap'
import { formatDurationMs, parseDurationMs } from '../../src/config/duration.js'

void t.test('parseDurationMs reads each unit and rejects anything else', t => {
  const cases: { name: string; text: string; expectMs: number | undefined }[] = [
    { name: 'milliseconds', text: '250ms', expectMs: 250 },
    { name: 'seconds', text: '2s', expectMs: 2_000 },
    { name: 'fractional minutes', text: '1.5m', expectMs: 90_000 },
    { name: 'hours', text: '1h', expectMs: 3_600_000 },
    { name: 'zero', text: '0s', expectMs: 0 },
    { name: 'surrounding spaces', text: ' 3s ', expectMs: 3_000 },
    { name: 'a fraction of a ms rounds down below .5', text: '1.4ms', expectMs: 1 },
    { name: 'a fraction of a ms rounds up from .5', text: '1.6ms', expectMs: 2 },
    { name: 'no unit', text: '250', expectMs: undefined },
    { name: 'unknown unit', text: '2d', expectMs: undefined },
    { name: 'negative', text: '-1s', expectMs: undefined },
    { name: 'space before the unit', text: '2 s', expectMs: undefined },
    { name: 'compound', text: '1m30s', expectMs: undefined },
    { name: 'leading dot', text: '.5s', expectMs: undefined },
    { name: 'upper-case unit', text: '2S', expectMs: undefined },
    { name: 'empty', text: '', expectMs: undefined },
  ]
  t.plan(cases.length)
  for (const c of cases) t.equal(parseDurationMs(c.text), c.expectMs, c.name)
})

void t.test('formatDurationMs picks the largest exact unit', t => {
  const cases: { name: string; ms: number; expectText: string }[] = [
    { name: 'zero', ms: 0, expectText: '0ms' },
    { name: 'not whole seconds', ms: 1_500, expectText: '1500ms' },
    { name: 'whole seconds', ms: 2_000, expectText: '2s' },
    { name: 'whole minutes', ms: 300_000, expectText: '5m' },
    { name: 'not whole minutes', ms: 90_000, expectText: '90s' },
    { name: 'whole hours', ms: 7_200_000, expectText: '2h' },
  ]
  t.plan(cases.length)
  for (const c of cases) t.equal(formatDurationMs(c.ms), c.expectText, c.name)
})

void t.test('formatDurationMs output parses back to the same value', t => {
  const values = [0, 1, 999, 1_000, 61_000, 60_000, 3_600_000, 5_400_000]
  t.plan(values.length)
  for (const ms of values) t.equal(parseDurationMs(formatDurationMs(ms)), ms, `${ms}ms`)
})
