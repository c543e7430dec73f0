// Exchanges with the stand-in for proxies and populate, one subtest per class of
// issue #25. Each expectation names the Toxiproxy v2.12.0 line (or the Go
// library behaviour) it mirrors; exact bodies are compared byte for byte.
import t from 'tap'
import { json, portOf, roundTrip, startFixture } from './toxiproxy-http.js'

/** The error body http.Error writes for an ApiError (api.go:521-540). */
const apiError = (status: number, message: string): string =>
  `${JSON.stringify({ error: message, status })}\n`

void t.test(
  'listen: the address Go actually bound, and Differs on resolved text',
  async t => {
    const f = await startFixture(t)
    const up = f.upstream
    const create = async (
      name: string,
      listen: string,
      enabled = true,
    ): Promise<string> => {
      const r = await f.send(
        'POST',
        '/proxies',
        JSON.stringify({ name, listen, upstream: up, enabled }),
      )
      t.equal(r.status, 201, `${name}: created`)
      return String(json(r).listen)
    }
    // proxy.go:118 listener.Addr().String(); Go listens on a dual-stack [::] socket for
    // any unspecified address (net/ipsock_posix.go favoriteAddrFamily).
    t.match(
      await create('v4any', '0.0.0.0:0'),
      /^\[::\]:\d+$/,
      '0.0.0.0:0 comes back as [::]:N',
    )
    t.match(await create('v6any', '[::]:0'), /^\[::\]:\d+$/, '[::]:0 is [::]:N')
    const empty = await create('hostless', ':0')
    t.match(empty, /^\[::\]:\d+$/, ':0 is [::]:N')
    t.equal(
      await roundTrip(portOf(empty)),
      'ping',
      'the dual-stack socket takes IPv4 clients',
    )
    t.match(
      await create('mapped', '[::ffff:127.0.0.1]:0'),
      /^127\.0\.0\.1:\d+$/,
      'an IPv4-mapped address binds IPv4',
    )
    // proxy.go:233-244: a proxy never started keeps listen as given.
    t.equal(
      await create('cold', '0.0.0.0:0', false),
      '0.0.0.0:0',
      'disabled: listen verbatim',
    )

    // proxy.go:139-150 Differs: ResolveTCPAddr("localhost:N").String() is "127.0.0.1:N",
    // equal to the bound address, so no restart: an open connection survives.
    const bound = await create('stay', '127.0.0.1:0')
    const port = portOf(bound)
    const upd = await f.send(
      'POST',
      '/proxies/stay',
      JSON.stringify({ listen: `localhost:${String(port)}` }),
    )
    t.equal(
      json(upd).listen,
      bound,
      'localhost:N equals the bound 127.0.0.1:N: listen unchanged',
    )
    t.equal(await roundTrip(port), 'ping', 'still serving on the same port')

    // ":N" resolves to ":N", which is not "[::]:N": Differs says restart, same port again.
    const anyPort = portOf(empty)
    const re = await f.send(
      'PATCH',
      '/proxies/hostless',
      JSON.stringify({ listen: `:${String(anyPort)}` }),
    )
    t.equal(json(re).listen, `[::]:${String(anyPort)}`, 'restarted on the same port')

    // proxy.go:84-87: a listen that does not resolve fails Update before anything changes;
    // the error is not an ApiError, so 500 with Go's net error text (api.go:521-526).
    const bad = await f.send(
      'POST',
      '/proxies/stay',
      '{"listen":"bogus","upstream":"other:1"}',
    )
    t.equal(bad.status, 500)
    t.equal(bad.text, apiError(500, 'address bogus: missing port in address'))
    const after = json(await f.send('GET', '/proxies/stay'))
    t.strictSame(
      [after.listen, after.upstream, after.enabled],
      [bound, up, true],
      'nothing applied',
    )
    const badPort = await f.send('POST', '/proxies/stay', '{"listen":"127.0.0.1:70000"}')
    t.equal(
      badPort.text,
      apiError(500, 'address 70000: invalid port'),
      'LookupPort names the port',
    )

    // net.Listen's OpError prints the resolved address, not the text sent.
    const busy = await f.send(
      'POST',
      '/proxies',
      JSON.stringify({
        name: 'clash',
        listen: `localhost:${String(f.busyPort)}`,
        upstream: up,
      }),
    )
    t.equal(
      busy.text,
      apiError(
        500,
        `listen tcp 127.0.0.1:${String(f.busyPort)}: bind: address already in use`,
      ),
    )
  },
)

void t.test('request bodies: Go encoding/json rules for proxies', async t => {
  const f = await startFixture(t)
  const up = f.upstream
  // api.go:206-207: Decode(&input) of null leaves input{Enabled: true} as it was.
  const nul = await f.send('POST', '/proxies', 'null')
  t.equal(nul.text, apiError(400, 'missing required field: name'), 'null: no fields set')
  // json.Decoder.Decode reads one value; what follows is never read.
  const tail = await f.send(
    'POST',
    '/proxies',
    `{"name":"tail","upstream":"${up}","listen":"127.0.0.1:0"} trailing {garbage`,
  )
  t.equal(tail.status, 201, 'trailing garbage is ignored')
  // decode.go object(): exact key, else a case-insensitive one (K and ſ fold to k and s);
  // members apply in body order, so the last duplicate wins.
  const cased = await f.send(
    'POST',
    '/proxies',
    `{"NAME":"a","Name":"cased","LISTEN":"127.0.0.1:0","up\u017ftream":"${up}","ENABLED":false,"enabled":true}`,
  )
  const c = json(cased)
  t.strictSame(
    [c.name, c.upstream, c.enabled],
    ['cased', up, true],
    'case-insensitive, last wins',
  )
  // Proxy.Logger (proxy.go:34) is a JSON field too: an object is fine, a number is not.
  const logObj = await f.send(
    'POST',
    '/proxies',
    `{"name":"lg","upstream":"${up}","listen":"127.0.0.1:0","logger":{"level":1}}`,
  )
  t.equal(logObj.status, 201, 'a Logger object is accepted')
  const logNum = await f.send(
    'POST',
    '/proxies',
    `{"name":"lg2","upstream":"${up}","Logger":5}`,
  )
  t.equal(
    logNum.text,
    apiError(
      400,
      'bad request body: json: cannot unmarshal number into Go struct field Proxy.Logger of type zerolog.Logger',
    ),
  )
  // decode.go saveError: the first type error is reported, body order decides which.
  const twoBad = await f.send('POST', '/proxies', '{"upstream":5,"name":true}')
  t.equal(
    twoBad.text,
    apiError(
      400,
      'bad request body: json: cannot unmarshal number into Go struct field Proxy.upstream of type string',
    ),
  )
  const syntax = await f.send('POST', '/proxies', '{"name":"x",}')
  t.equal(
    syntax.text,
    apiError(
      400,
      "bad request body: invalid character '}' looking for beginning of object key string",
    ),
  )

  // api.go:310-313: update decodes into a copy; a type error applies none of it.
  const partial = await f.send(
    'POST',
    '/proxies/cased',
    '{"upstream":"elsewhere:1","enabled":"no"}',
  )
  t.equal(partial.status, 400)
  t.equal(
    json(await f.send('GET', '/proxies/cased')).upstream,
    up,
    'upstream not applied',
  )
  const same = await f.send('PATCH', '/proxies/cased', 'null')
  t.equal(same.status, 200, 'null update: 200, nothing changed')
  t.equal(json(same).enabled, true)
})

void t.test('partial updates: fields not sent keep their values', async t => {
  const f = await startFixture(t)
  const created = json(
    await f.send(
      'POST',
      '/proxies',
      `{"name":"p","listen":"127.0.0.1:0","upstream":"${f.upstream}"}`,
    ),
  )
  // api.go:310: input starts as the proxy's listen, upstream and enabled.
  const off = json(await f.send('PATCH', '/proxies/p', '{"enabled":false}'))
  t.strictSame(
    [off.listen, off.upstream, off.enabled],
    [created.listen, f.upstream, false],
  )
  const moved = json(await f.send('PATCH', '/proxies/p', '{"upstream":"127.0.0.1:1"}'))
  t.strictSame(
    [moved.listen, moved.upstream, moved.enabled],
    [created.listen, '127.0.0.1:1', false],
    'still disabled',
  )
})

void t.test('populate: null, existing proxies and what "unchanged" ignores', async t => {
  const f = await startFixture(t)
  const up = f.upstream
  // proxy_collection.go:83 + api.go:553-557: null decodes to an empty list, a nil slice.
  const nul = await f.send('POST', '/populate', 'null')
  t.strictSame([nul.status, nul.text], [201, '{"proxies":null}'])
  // A null entry is a zero entry: the name check (proxy_collection.go:91-92) rejects it.
  const nullEntry = await f.send('POST', '/populate', '[null]')
  t.equal(
    nullEntry.text,
    '{"error":"missing required field: name at proxy 1","status":400,"proxies":null}',
  )
  const wrong = await f.send(
    'POST',
    '/populate',
    `[{"name":"w","upstream":"${up}","enabled":"yes"}]`,
  )
  t.equal(
    wrong.text,
    `{"error":"bad request body: json: cannot unmarshal string into Go struct field .enabled of type bool","status":400,"proxies":null}`,
    'the entry struct is anonymous: "Go struct field .enabled"',
  )
  const num = await f.send('POST', '/populate', '[1]')
  t.equal(
    json(num).error,
    'bad request body: json: cannot unmarshal number into Go value of type struct { toxiproxy.Proxy; Enabled *bool "json:\\"enabled\\"" }',
  )

  const first = json(
    await f.send(
      'POST',
      '/populate',
      `[{"name":"keep","listen":"127.0.0.1:0","upstream":"${up}","enabled":null}]`,
    ),
  )
  t.match(
    first,
    { proxies: [{ name: 'keep', enabled: true }] },
    'enabled null is nil: defaults to true (proxy_collection.go:97-99)',
  )
  const keep = json(await f.send('GET', '/proxies/keep'))
  const port = portOf(String(keep.listen))
  await f.send(
    'POST',
    '/proxies/keep/toxics',
    '{"type":"latency","attributes":{"latency":1}}',
  )
  // proxy_collection.go:50-58 AddOrReplace: Differs compares resolved listen and upstream
  // only, so "localhost:N" is the same proxy and enabled:false is ignored.
  const again = await f.send(
    'POST',
    '/populate',
    `[{"name":"keep","listen":"localhost:${String(port)}","upstream":"${up}","enabled":false}]`,
  )
  t.match(json(again), {
    proxies: [
      {
        name: 'keep',
        listen: keep.listen,
        enabled: true,
        toxics: [{ name: 'latency_downstream' }],
      },
    ],
  })
  // A different upstream replaces it: toxics gone, new port for :0.
  const replaced = json(
    await f.send(
      'POST',
      '/populate',
      `[{"name":"keep","listen":"127.0.0.1:${String(port)}","upstream":"127.0.0.1:1"}]`,
    ),
  )
  t.match(replaced, { proxies: [{ name: 'keep', upstream: '127.0.0.1:1', toxics: [] }] })
  // Differs fails on an unresolvable listen: 500, the proxies applied so far listed.
  const bad = await f.send(
    'POST',
    '/populate',
    `[{"name":"n1","listen":"127.0.0.1:0","upstream":"${up}"},{"name":"keep","listen":"bogus","upstream":"${up}"}]`,
  )
  t.equal(bad.status, 500)
  t.match(json(bad), {
    error: 'address bogus: missing port in address',
    status: 500,
    proxies: [{ name: 'n1' }],
  })
})
