// The stand-in's pure pieces, table-driven: Go-style JSON reading and writing, struct
// decoding, addresses, request paths and the slicer's cut points. Each row names the Go
// source it mirrors (Go 1.19 standard library, as the golden recording's server was built).
import t from 'tap'
import {
  canonicalIp,
  formatTcpAddr,
  lookupPort,
  resolveTcpAddr,
  splitHostPort,
} from '../../chaos/toxiproxy/address.js'
import { Float32, formatFloat32, goJson, GoMap } from '../../chaos/toxiproxy/go-encode.js'
import { decodeBody } from '../../chaos/toxiproxy/go-json.js'
import { slicePieces } from '../../chaos/toxiproxy/toxic.js'
import {
  cleanRedirect,
  muxCleanPath,
  parseRequestPath,
} from '../../chaos/toxiproxy/url-path.js'

void t.test('goJson escapes as encoding/json (encode.go, encodeState.string)', t => {
  const cases = [
    {
      name: 'HTML characters',
      in: { name: 'a<b>&c' },
      want: '{"name":"a\\u003cb\\u003e\\u0026c"}',
    },
    {
      name: 'control characters',
      in: '\b\f\n\r\t\u0001',
      want: '"\\u0008\\u000c\\n\\r\\t\\u0001"',
    },
    { name: 'line separators', in: '\u2028\u2029', want: '"\\u2028\\u2029"' },
    { name: 'non-ASCII stays raw', in: 'é☃', want: '"é☃"' },
    { name: 'int64 beyond 2^53', in: 9007199254740993n, want: '9007199254740993' },
    { name: 'float32', in: new Float32(0.1), want: '0.1' },
    {
      name: 'map keys sorted by bytes',
      in: new GoMap(
        new Map([
          ['b', 1],
          ['10', 2],
          ['a', 3],
          ['\u{1f600}', 4],
          ['\uffff', 5],
        ]),
      ),
      want: '{"10":2,"a":3,"b":1,"\uffff":5,"\u{1f600}":4}',
    },
  ]
  t.plan(cases.length)
  for (const c of cases) t.equal(goJson(c.in), c.want, c.name)
})

void t.test(
  'formatFloat32 is strconv.FormatFloat(f, fmt, -1, 32) as floatEncoder picks fmt',
  t => {
    const cases = [
      { in: 1, want: '1' },
      { in: 0.5, want: '0.5' },
      { in: 0.1, want: '0.1' },
      { in: 1 / 3, want: '0.33333334' },
      { in: 0.123456789, want: '0.12345679' },
      { in: 2.5, want: '2.5' },
      { in: 16777217, want: '16777216' },
      { in: 1e20, want: '100000000000000000000' },
      { in: 1e21, want: '1e+21' },
      { in: 1e-6, want: '0.000001' },
      { in: 1e-7, want: '1e-7' },
      { in: 1.5e-10, want: '1.5e-10' },
      { in: -0.25, want: '-0.25' },
      { in: -0, want: '-0' },
      { in: 3.4028234663852886e38, want: '3.4028235e+38' },
      { in: 1.401298464324817e-45, want: '1e-45' },
      // Ties between two shortest forms round half to even, as Go's Ryu does.
      { in: 1629713.75, want: '1629713.8' },
      { in: 143965.375, want: '143965.38' },
      { in: 378099.875, want: '378099.88' },
    ]
    t.plan(cases.length)
    for (const c of cases) t.equal(formatFloat32(c.in), c.want, String(c.in))
  },
)

void t.test(
  'decodeBody reads one value as json.Decoder.Decode (stream.go, scanner.go)',
  t => {
    const cases = [
      { name: 'empty', body: '', want: 'EOF' },
      { name: 'blank', body: '  \n', want: 'EOF' },
      { name: 'truncated', body: '{"name": "bad", ', want: 'unexpected EOF' },
      { name: 'truncated literal', body: 'nul', want: 'unexpected EOF' },
      {
        name: 'garbage',
        body: 'not json',
        want: "invalid character 'o' in literal null (expecting 'u')",
      },
      {
        name: 'bad start',
        body: 'xyz',
        want: "invalid character 'x' looking for beginning of value",
      },
      {
        name: 'bad key',
        body: '{1:2}',
        want: "invalid character '1' looking for beginning of object key string",
      },
      {
        name: 'missing colon',
        body: '{"a" 1}',
        want: "invalid character '1' after object key",
      },
      {
        name: 'missing comma',
        body: '{"a":1 "b":2}',
        want: `invalid character '"' after object key:value pair`,
      },
      { name: 'array', body: '[1 2]', want: "invalid character '2' after array element" },
      {
        name: 'trailing comma',
        body: '[1,]',
        want: "invalid character ']' looking for beginning of value",
      },
      { name: 'minus', body: '[-a]', want: "invalid character 'a' in numeric literal" },
      {
        name: 'decimal point',
        body: '[1.e5]',
        want: "invalid character 'e' after decimal point in numeric literal",
      },
      {
        name: 'exponent',
        body: '[1e+]',
        want: "invalid character ']' in exponent of numeric literal",
      },
      {
        name: 'control in string',
        body: '"a\nb"',
        want: "invalid character '\\n' in string literal",
      },
      {
        name: 'bad escape',
        body: '"\\x"',
        want: "invalid character 'x' in string escape code",
      },
      {
        name: 'bad \\u',
        body: '"\\u12g4"',
        want: "invalid character 'g' in \\u hexadecimal character escape",
      },
      {
        name: 'single quote',
        body: "{'a':1}",
        want: "invalid character '\\'' looking for beginning of object key string",
      },
      {
        name: 'non-ASCII byte',
        body: '\u00ff',
        want: "invalid character 'Ã' looking for beginning of value",
      },
      { name: 'trailing data is never read', body: '{"a":1} xyz', want: 'ok' },
      {
        name: 'nested 10000 deep',
        body: '['.repeat(10_000) + ']'.repeat(10_000),
        want: 'ok',
      },
      {
        name: 'nested 10001 deep',
        body: '['.repeat(10_001) + ']'.repeat(10_001),
        want: "invalid character '[' exceeded max depth",
      },
      { name: 'a literal then garbage', body: 'nullx', want: 'ok' },
    ]
    t.plan(cases.length)
    for (const c of cases) {
      const d = decodeBody(c.body)
      t.equal(d.ok ? 'ok' : d.message, c.want, c.name)
    }
  },
)

void t.test(
  'decodeBody keeps members in order, duplicates too, and numbers as written',
  t => {
    const d = decodeBody('{"a":1.50,"A":"\\ud83d\\ude00\\ud800x","a":null}')
    t.strictSame(d, {
      ok: true,
      value: {
        kind: 'object',
        members: [
          ['a', { kind: 'number', text: '1.50' }],
          ['A', { kind: 'string', value: '\u{1f600}\ufffdx' }],
          ['a', { kind: 'null' }],
        ],
      },
    })
    const bad = decodeBody(Buffer.from([0x22, 0xe2, 0x82, 0x41, 0xff, 0x22]))
    t.strictSame(
      bad,
      { ok: true, value: { kind: 'string', value: '\ufffd\ufffdA\ufffd' } },
      'invalid UTF-8: one U+FFFD per bad byte (utf8.DecodeRune)',
    )
    t.end()
  },
)

void t.test('splitHostPort, lookupPort and canonicalIp follow Go net', t => {
  const split = [
    { in: '127.0.0.1:0', want: { host: '127.0.0.1', port: '0' } },
    { in: '[::1]:80', want: { host: '::1', port: '80' } },
    { in: ':8080', want: { host: '', port: '8080' } },
    { in: 'bogus', want: { error: 'address bogus: missing port in address' } },
    { in: 'a:b:c', want: { error: 'address a:b:c: too many colons in address' } },
    { in: '[::1]', want: { error: 'address [::1]: missing port in address' } },
    { in: '[::1:80', want: { error: "address [::1:80: missing ']' in address" } },
  ]
  const ports = [
    { in: '', want: { port: 0 } },
    { in: '80', want: { port: 80 } },
    { in: '+80', want: { port: 80 } },
    { in: '70000', want: { error: 'address 70000: invalid port' } },
    { in: '-1', want: { error: 'address -1: invalid port' } },
    { in: 'nosuchservice', want: { error: 'address tcp/nosuchservice: unknown port' } },
    { in: 'HTTPS', want: { port: 443 } },
  ]
  const ips = [
    { in: '127.0.0.1', want: '127.0.0.1' },
    { in: '127.000.0.1', want: undefined },
    { in: '::FFFF:127.0.0.1', want: '127.0.0.1' },
    { in: '0:0:0:0:0:0:0:1', want: '::1' },
    { in: 'localhost', want: undefined },
  ]
  t.plan(split.length + ports.length + ips.length)
  for (const c of split) t.strictSame(splitHostPort(c.in), c.want, `split ${c.in}`)
  for (const c of ports) t.strictSame(lookupPort(c.in), c.want, `port ${c.in}`)
  for (const c of ips) t.equal(canonicalIp(c.in), c.want, `ip ${c.in}`)
})

void t.test(
  'resolveTcpAddr(...).String() is what Proxy.Differs compares (proxy.go:140-145)',
  async t => {
    const cases = [
      { in: '', want: ':0' },
      { in: ':8080', want: ':8080' },
      { in: '0.0.0.0:0', want: '0.0.0.0:0' },
      { in: '[::]:5', want: '[::]:5' },
      { in: 'localhost:1', want: '127.0.0.1:1' },
      { in: '[::ffff:127.0.0.1]:5', want: '127.0.0.1:5' },
      { in: '127.0.0.1:https', want: '127.0.0.1:443' },
      { in: 'bogus', want: 'address bogus: missing port in address' },
    ]
    t.plan(cases.length)
    for (const c of cases) {
      const r = await resolveTcpAddr(c.in)
      t.equal('error' in r ? r.error : formatTcpAddr(r), c.want, JSON.stringify(c.in))
    }
  },
)

void t.test('request paths: decoded, then cleaned as gorilla/mux cleanPath does', t => {
  const cases = [
    { in: '/proxies', clean: '/proxies', redirect: undefined },
    { in: '/proxies/', clean: '/proxies/', redirect: undefined },
    { in: '//proxies', clean: '/proxies', redirect: '/proxies' },
    { in: '/./proxies?x=1', clean: '/proxies', redirect: '/proxies?x=1' },
    { in: '/proxies/a/../b', clean: '/proxies/b', redirect: '/proxies/b' },
    { in: '/proxies/%2e%2e', clean: '/', redirect: '/' },
    { in: '/a//b%20c(d)?', clean: '/a/b c(d)', redirect: '/a/b%20c%28d%29?' },
  ]
  t.plan(cases.length * 2 + 2)
  for (const c of cases) {
    const p = parseRequestPath(c.in)
    t.equal(p === undefined ? undefined : muxCleanPath(p.path), c.clean, `clean ${c.in}`)
    t.equal(
      p === undefined ? undefined : cleanRedirect(p),
      c.redirect,
      `redirect ${c.in}`,
    )
  }
  t.equal(parseRequestPath('/proxies/%zz'), undefined, 'a bad escape is a 400')
  t.equal(
    parseRequestPath('/proxies/%ff')?.path,
    '/proxies/\ud800',
    'bad UTF-8 names nothing',
  )
})

void t.test('slicePieces halves until a piece fits average + variation', t => {
  const pieces = slicePieces(100, 10, 0, () => 0.5)
  t.equal(pieces.length, 16, '100 bytes at average 10: 16 pieces (as measured on 2.12.0)')
  t.ok(pieces.every(p => p >= 6 && p <= 7))
  t.equal(
    pieces.reduce((a, b) => a + b, 0),
    100,
  )
  t.strictSame(
    slicePieces(5, 0, 0, () => 0.5),
    [1, 1, 1, 1, 1],
    'average 0 means 1-byte pieces',
  )
  const varied = slicePieces(10_000, 100, 50, Math.random)
  t.equal(
    varied.reduce((a, b) => a + b, 0),
    10_000,
    'variation never loses or adds bytes',
  )
  t.end()
})
