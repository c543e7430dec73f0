// The stand-in's pure pieces, table-driven: Go-style JSON, body decoding, address
// splitting and the slicer's cut points.
import t from 'tap'
import { decodeBody, decodeFields, goJson } from '../../chaos/toxiproxy/go-json.js'
import { splitHostPort } from '../../chaos/toxiproxy/proxy.js'
import { slicePieces } from '../../chaos/toxiproxy/toxic.js'

void t.test('goJson escapes <, > and & as Go does', t => {
  t.equal(goJson({ name: 'a<b>&c' }), '{"name":"a\\u003cb\\u003e\\u0026c"}')
  t.end()
})

void t.test('decodeBody reports Go decoder errors by class', t => {
  const cases = [
    { name: 'empty', body: '', want: 'EOF' },
    { name: 'blank', body: '  \n', want: 'EOF' },
    { name: 'truncated', body: '{"name": "bad", ', want: 'unexpected EOF' },
    { name: 'truncated object', body: '{', want: 'unexpected EOF' },
    { name: 'garbage', body: 'not json', want: /^invalid character/ },
    { name: 'trailing data is ignored', body: '{"a":1} xyz', want: 'ok' },
  ]
  t.plan(cases.length)
  for (const c of cases) {
    const d = decodeBody(c.body)
    t.match(d.ok ? 'ok' : d.message, c.want, c.name)
  }
})

void t.test(
  'decodeFields applies well-typed fields and reports the first mistyped one',
  t => {
    const target: Record<string, unknown> = { latency: 1, jitter: 2 }
    const error = decodeFields(
      { latency: 'x', Jitter: 7, other: 1 },
      [
        { key: 'latency', type: 'int64' },
        { key: 'jitter', type: 'int64' },
      ],
      target,
      'LatencyToxic.attributes',
    )
    t.match(
      error,
      /cannot unmarshal string into Go struct field LatencyToxic\.attributes\.latency/,
    )
    t.strictSame(
      target,
      { latency: 1, jitter: 7 },
      'case-insensitive key applied, bad one skipped',
    )
    t.end()
  },
)

void t.test('splitHostPort follows net.SplitHostPort', t => {
  const cases = [
    { in: '127.0.0.1:0', want: { host: '127.0.0.1', port: 0 } },
    { in: '[::1]:80', want: { host: '::1', port: 80 } },
    { in: '', want: { host: '', port: 0 } },
    { in: 'bogus', want: { error: 'address bogus: missing port in address' } },
    { in: 'a:b:c', want: { error: 'address a:b:c: too many colons in address' } },
  ]
  t.plan(cases.length)
  for (const c of cases) t.strictSame(splitHostPort(c.in), c.want, c.in)
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
