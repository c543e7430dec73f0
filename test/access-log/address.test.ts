// Client addresses in records: as is, truncated to the network, or hashed (issue #22).
import t from 'tap'
import { formatClientAddress, truncateAddress } from '../../src/access-log/address.js'

void t.test('truncation keeps the network', t => {
  const cases = [
    ['192.0.2.77', '192.0.2.0'],
    ['::ffff:192.0.2.77', '192.0.2.0'],
    ['2001:db8:abcd:12::1', '2001:db8:abcd::'],
    ['2001:db8::1', '2001:db8:0::'],
    ['::1', '0:0:0::'],
    ['not-an-ip', 'not-an-ip'],
  ] as const
  t.plan(cases.length)
  for (const [input, want] of cases) t.equal(truncateAddress(input), want, input)
})

void t.test('modes', t => {
  t.equal(formatClientAddress('192.0.2.77', 'full'), '192.0.2.77')
  t.equal(formatClientAddress('192.0.2.77', 'truncate'), '192.0.2.0')
  const h = formatClientAddress('192.0.2.77', 'hash')
  t.match(h, /^[0-9a-f]{16}$/)
  t.equal(formatClientAddress('192.0.2.77', 'hash'), h, 'stable')
  t.not(formatClientAddress('192.0.2.78', 'hash'), h)
  t.equal(formatClientAddress(null, 'hash'), null, 'unknown stays null')
  t.end()
})
