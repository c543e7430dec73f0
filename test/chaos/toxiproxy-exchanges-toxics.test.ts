// Exchanges with the stand-in for toxics: request bodies, partial updates (and what a
// failed one leaves applied) and number semantics. Each expectation names the Toxiproxy
// v2.12.0 line it mirrors; exact bodies are compared byte for byte.
import t, { type Test } from 'tap'
import { json, startFixture, type Fixture } from './toxiproxy-http.js'

const apiError = (status: number, message: string): string =>
  `${JSON.stringify({ error: message, status })}\n`

async function withProxy(t: Test): Promise<Fixture> {
  const f = await startFixture(t)
  const r = await f.send(
    'POST',
    '/proxies',
    `{"name":"p","listen":"127.0.0.1:0","upstream":"${f.upstream}"}`,
  )
  t.equal(r.status, 201)
  return f
}

void t.test('request bodies: the two decodes of AddToxicJson', async t => {
  const f = await withProxy(t)
  // toxic_collection.go:90-99: null leaves the defaults; type "" is then not registered.
  const nul = await f.send('POST', '/proxies/p/toxics', 'null')
  t.equal(nul.text, apiError(400, 'invalid toxic type'))
  // Trailing data is never read; keys match case-insensitively.
  const cased = await f.send(
    'POST',
    '/proxies/p/toxics',
    '{"Type":"latency","STREAM":"upstream","Attributes":{"LATENCY":5}} junk',
  )
  t.equal(
    cased.text,
    '{"attributes":{"latency":5,"jitter":0},"name":"latency_upstream","type":"latency","stream":"upstream","toxicity":1}',
  )
  // toxic.go:51: the embedded Toxic interface is the "attributes" field; null empties it,
  // and a later object has nothing to decode into.
  const emptied = await f.send(
    'POST',
    '/proxies/p/toxics',
    '{"type":"latency","attributes":null,"attributes":{"latency":1}}',
  )
  t.equal(
    emptied.text,
    apiError(
      400,
      'bad request body: json: cannot unmarshal object into Go struct field ToxicWrapper.attributes of type toxics.Toxic',
    ),
  )
  // toxic_collection.go:119-128: the second decode fills the typed toxic; slicer.go uses int.
  const slicer = await f.send(
    'POST',
    '/proxies/p/toxics',
    '{"type":"slicer","attributes":{"delay":"x"}}',
  )
  t.equal(
    slicer.text,
    apiError(
      400,
      'bad request body: json: cannot unmarshal string into Go struct field SlicerToxic.attributes.delay of type int',
    ),
  )
  const wrapperFirst = await f.send(
    'POST',
    '/proxies/p/toxics',
    '{"attributes":{"latency":"x"},"type":"latency","toxicity":"high"}',
  )
  t.equal(
    wrapperFirst.text,
    apiError(
      400,
      'bad request body: json: cannot unmarshal string into Go struct field ToxicWrapper.toxicity of type float32',
    ),
    'the first decode fails before attributes are typed',
  )
  t.equal(
    (await f.send('GET', '/proxies/p/toxics')).text.match(/"name"/g)?.length,
    1,
    'only the one good toxic',
  )
})

void t.test(
  'partial toxic updates: attributes merge, a failed update keeps what it set',
  async t => {
    const f = await withProxy(t)
    await f.send(
      'POST',
      '/proxies/p/toxics',
      '{"name":"lat","type":"latency","toxicity":0.5,"attributes":{"latency":100,"jitter":10}}',
    )
    const path = '/proxies/p/toxics/lat'
    // toxic_collection.go:143-154: attributes decode into the live toxic, toxicity into a
    // copy that starts at the current value; name, type and stream are not fields there.
    const merged = await f.send(
      'POST',
      path,
      '{"attributes":{"jitter":5},"name":"other","type":"timeout","stream":"upstream"}',
    )
    t.equal(
      merged.text,
      '{"attributes":{"latency":100,"jitter":5},"name":"lat","type":"latency","stream":"downstream","toxicity":0.5}',
    )
    const tox = await f.send('PATCH', path, '{"toxicity":0.25}')
    t.equal(
      tox.text,
      '{"attributes":{"latency":100,"jitter":5},"name":"lat","type":"latency","stream":"downstream","toxicity":0.25}',
    )
    // A type error after a good attribute: 400, but latency 7 is already in the live toxic;
    // toxicity (decoded into the copy) is not applied.
    const failed = await f.send(
      'POST',
      path,
      '{"toxicity":1,"attributes":{"latency":7,"jitter":"x"}}',
    )
    t.equal(
      failed.text,
      apiError(
        400,
        'bad request body: json: cannot unmarshal string into Go struct field LatencyToxic.attributes.jitter of type int64',
      ),
    )
    t.equal(
      (await f.send('GET', path)).text,
      '{"attributes":{"latency":7,"jitter":5},"name":"lat","type":"latency","stream":"downstream","toxicity":0.25}',
    )
    const notObject = await f.send('POST', path, '{"attributes":"slow"}')
    t.equal(
      notObject.text,
      apiError(
        400,
        'bad request body: json: cannot unmarshal string into Go struct field .attributes of type toxics.LatencyToxic',
      ),
      'the update struct is anonymous',
    )
    const nul = await f.send('POST', path, 'null')
    t.equal(nul.status, 200, 'null: nothing changes')
    const arr = await f.send('POST', path, '[]')
    t.equal(
      json(arr).error,
      'bad request body: json: cannot unmarshal array into Go value of type struct { Attributes interface {} "json:\\"attributes\\""; Toxicity float32 "json:\\"toxicity\\"" }',
    )
  },
)

void t.test('numbers: toxicity is a float32, attributes are exact int64', async t => {
  const f = await withProxy(t)
  const toxicity = async (literal: string): Promise<string> => {
    const r = await f.send(
      'POST',
      '/proxies/p/toxics',
      `{"name":"t${literal}","type":"noop","toxicity":${literal}}`,
    )
    return r.status === 200 ? String(/"toxicity":([^}]*)\}$/.exec(r.text)?.[1]) : r.text
  }
  // toxic.go:55 Toxicity float32; encoding/json writes float32 in its shortest form.
  t.equal(await toxicity('0.1'), '0.1')
  t.equal(await toxicity('0.3333333333'), '0.33333334', 'rounded to float32')
  t.equal(await toxicity('2.5'), '2.5', 'no range check')
  t.equal(
    await toxicity('1e-7'),
    '1e-7',
    "exponent form below 1e-6, as Go's floatEncoder",
  )
  t.equal(await toxicity('-0'), '-0')
  t.equal(
    await toxicity('1e39'),
    apiError(
      400,
      'bad request body: json: cannot unmarshal number 1e39 into Go struct field ToxicWrapper.toxicity of type float32',
    ),
    'beyond float32',
  )
  const attr = async (literal: string): Promise<string> => {
    const r = await f.send(
      'POST',
      '/proxies/p/toxics',
      `{"name":"a${literal}","type":"timeout","attributes":{"timeout":${literal}}}`,
    )
    return r.status === 200 ? String(/"timeout":(-?\d+)/.exec(r.text)?.[1]) : r.text
  }
  // timeout.go Timeout int64: ParseInt of the literal, exact to 2^63-1.
  t.equal(await attr('9007199254740993'), '9007199254740993', 'beyond 2^53, exact')
  t.equal(await attr('-1'), '-1', 'negative accepted')
  t.equal(
    await attr('1.0'),
    apiError(
      400,
      'bad request body: json: cannot unmarshal number 1.0 into Go struct field TimeoutToxic.attributes.timeout of type int64',
    ),
  )
  t.equal(
    await attr('9223372036854775808'),
    apiError(
      400,
      'bad request body: json: cannot unmarshal number 9223372036854775808 into Go struct field TimeoutToxic.attributes.timeout of type int64',
    ),
  )
})
