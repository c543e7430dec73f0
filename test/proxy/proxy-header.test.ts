// PROXY protocol header bytes, checked byte for byte against HAProxy's
// doc/proxy-protocol.txt (sections 2.1 and 2.2) for every shape corral sends.
import t from 'tap'
import {
  addressBytes,
  PROXY_V2_LOCAL,
  proxyHeader,
  proxyHeaderV1,
  proxyHeaderV2,
  type ProxyEndpoints,
} from '../../src/proxy/proxy-header.js'

const SIG = '0d0a0d0a000d0a515549540a'

const v4: ProxyEndpoints = {
  sourceAddress: '127.0.0.5',
  sourcePort: 51234,
  destinationAddress: '127.0.0.1',
  destinationPort: 443,
}

const v6: ProxyEndpoints = {
  sourceAddress: '2001:db8::5',
  sourcePort: 40000,
  destinationAddress: '::1',
  destinationPort: 8443,
}

void t.test('v1 lines', t => {
  const cases: { name: string; e: ProxyEndpoints; line: string }[] = [
    { name: 'TCP4', e: v4, line: 'PROXY TCP4 127.0.0.5 127.0.0.1 51234 443\r\n' },
    { name: 'TCP6', e: v6, line: 'PROXY TCP6 2001:db8::5 ::1 40000 8443\r\n' },
    {
      name: 'IPv4-mapped IPv6 normalised to TCP4',
      e: {
        sourceAddress: '::ffff:10.1.2.3',
        sourcePort: 1,
        destinationAddress: '::FFFF:10.0.0.1',
        destinationPort: 80,
      },
      line: 'PROXY TCP4 10.1.2.3 10.0.0.1 1 80\r\n',
    },
    {
      name: 'mixed families: the IPv4 end mapped into IPv6',
      e: {
        sourceAddress: '10.1.2.3',
        sourcePort: 2,
        destinationAddress: 'fe80::1%eth0',
        destinationPort: 80,
      },
      line: 'PROXY TCP6 ::ffff:a01:203 fe80::1 2 80\r\n',
    },
    {
      name: 'IPv6 printed in RFC 5952 form',
      e: {
        sourceAddress: '2001:0DB8:0:0:1:0:0:1',
        sourcePort: 65535,
        destinationAddress: '0:0:0:0:0:0:0:0',
        destinationPort: 0,
      },
      line: 'PROXY TCP6 2001:db8::1:0:0:1 :: 65535 0\r\n',
    },
  ]
  t.plan(cases.length)
  for (const c of cases) t.equal(proxyHeaderV1(c.e)?.toString('latin1'), c.line, c.name)
})

void t.test('v2 PROXY over IPv4, no TLV', t => {
  const h = proxyHeaderV2(v4)
  t.equal(
    h?.toString('hex'),
    SIG + '21' + '11' + '000c' + '7f000005' + '7f000001' + 'c822' + '01bb',
  )
  t.end()
})

void t.test('v2 PROXY over IPv6', t => {
  const h = proxyHeaderV2(v6)
  t.equal(
    h?.toString('hex'),
    SIG +
      '21' +
      '21' +
      '0024' +
      '20010db8000000000000000000000005' +
      '00000000000000000000000000000001' +
      '9c40' +
      '20fb',
  )
  t.end()
})

void t.test('v2 with AUTHORITY and UNIQUE_ID TLVs, counted in the length', t => {
  const h = proxyHeaderV2(v4, { authority: 'reg.example.com', uniqueId: '4242-7' })
  const authority = Buffer.from('reg.example.com').toString('hex')
  const id = Buffer.from('4242-7').toString('hex')
  t.equal(
    h?.toString('hex'),
    SIG +
      '2111' +
      (12 + 3 + 15 + 3 + 6).toString(16).padStart(4, '0') +
      '7f0000057f000001c82201bb' +
      '02000f' +
      authority +
      '050006' +
      id,
  )
  t.end()
})

void t.test('TLVs left out when empty, null or too long', t => {
  const plain = proxyHeaderV2(v4)?.toString('hex')
  t.equal(proxyHeaderV2(v4, { authority: '', uniqueId: null })?.toString('hex'), plain)
  t.equal(proxyHeaderV2(v4, { uniqueId: 'x'.repeat(129) })?.toString('hex'), plain)
  t.equal(proxyHeaderV2(v4, { authority: 'a'.repeat(254) })?.toString('hex'), plain)
  t.equal(proxyHeaderV2(v4, { uniqueId: 'x'.repeat(128) })?.length, 28 + 3 + 128)
  t.end()
})

void t.test('the LOCAL header is exactly 16 bytes: LOCAL, UNSPEC, length 0', t => {
  t.equal(PROXY_V2_LOCAL.toString('hex'), SIG + '20' + '00' + '0000')
  t.end()
})

void t.test('no header for what is not an IP address or a port', t => {
  const bad: { name: string; e: ProxyEndpoints }[] = [
    { name: 'empty source', e: { ...v4, sourceAddress: '' } },
    { name: 'hostname', e: { ...v4, destinationAddress: 'example.com' } },
    { name: 'octet > 255', e: { ...v4, sourceAddress: '1.2.3.256' } },
    { name: 'two "::"', e: { ...v4, sourceAddress: '1::2::3' } },
    { name: 'nine groups', e: { ...v4, sourceAddress: '1:2:3:4:5:6:7:8:9' } },
    { name: 'seven groups', e: { ...v4, sourceAddress: '1:2:3:4:5:6:7' } },
    { name: 'port out of range', e: { ...v4, sourcePort: 70000 } },
    { name: 'port not an integer', e: { ...v4, destinationPort: Number.NaN } },
  ]
  t.plan(bad.length * 2)
  for (const b of bad) {
    t.equal(proxyHeaderV1(b.e), undefined, `v1: ${b.name}`)
    t.equal(proxyHeaderV2(b.e), undefined, `v2: ${b.name}`)
  }
})

void t.test('addressBytes normalises IPv4-mapped IPv6 to 4 bytes', t => {
  t.strictSame(Array.from(addressBytes('::ffff:1.2.3.4') ?? []), [1, 2, 3, 4])
  t.strictSame(Array.from(addressBytes('::ffff:0102:0304') ?? []), [1, 2, 3, 4])
  t.equal(addressBytes('::1')?.length, 16)
  t.equal(addressBytes('64:ff9b::1.2.3.4')?.length, 16, 'NAT64 is not IPv4-mapped')
  t.end()
})

void t.test('proxyHeader picks the version; off writes nothing', t => {
  t.equal(proxyHeader('off', v4), undefined)
  t.equal(
    proxyHeader('v1', v4)?.toString('latin1'),
    proxyHeaderV1(v4)?.toString('latin1'),
  )
  t.equal(
    proxyHeader('v2', v4, { authority: 'a' })?.toString('hex'),
    proxyHeaderV2(v4, { authority: 'a' })?.toString('hex'),
  )
  t.end()
})
