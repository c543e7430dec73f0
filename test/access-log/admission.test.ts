// Which records are written: errors always, normal ones sampled and skipped when empty,
// then the per-process lines-per-second cap (issue #22).
import t from 'tap'
import {
  admit,
  newBucket,
  type AdmissionOptions,
} from '../../src/access-log/admission.js'

const ALL: AdmissionOptions = { sample: 1, skipEmpty: true, maxLinesPerSecond: 0 }

void t.test('sampling drops normal records only', t => {
  const o = { ...ALL, sample: 0.25 }
  const b = newBucket(o, 0)
  t.equal(admit(o, b, { error: false, bytes: 10 }, 0, 0.1), 'write')
  t.equal(admit(o, b, { error: false, bytes: 10 }, 0, 0.3), 'sampled')
  t.equal(admit({ ...o, sample: 0 }, b, { error: true, bytes: 10 }, 0, 0.99), 'write')
  t.equal(admit({ ...o, sample: 0 }, b, { error: false, bytes: 10 }, 0, 0), 'sampled')
  t.end()
})

void t.test('empty normal connections are skipped unless skipEmpty is off', t => {
  const b = newBucket(ALL, 0)
  t.equal(admit(ALL, b, { error: false, bytes: 0 }, 0, 0), 'empty')
  t.equal(
    admit(ALL, b, { error: true, bytes: 0 }, 0, 0),
    'write',
    'an empty error is kept',
  )
  t.equal(
    admit({ ...ALL, skipEmpty: false }, b, { error: false, bytes: 0 }, 0, 0),
    'write',
  )
  t.end()
})

void t.test('the cap allows a second of lines, then refills with time', t => {
  const o = { ...ALL, maxLinesPerSecond: 2 }
  const b = newBucket(o, 1000)
  const r = { error: true, bytes: 1 }
  t.strictSame(
    [admit(o, b, r, 1000, 0), admit(o, b, r, 1000, 0), admit(o, b, r, 1000, 0)],
    ['write', 'write', 'rate'],
  )
  t.equal(admit(o, b, r, 1400, 0), 'rate', '0.8 of a token after 400 ms')
  t.equal(admit(o, b, r, 1500, 0), 'write', 'a whole token after 500 ms')
  t.end()
})
