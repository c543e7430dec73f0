// Exchanges with the stand-in at the HTTP layer, one subtest per class of issue #25:
// request-head limits, gorilla/mux path cleaning and methods Node's parser refuses. Each
// expectation names the Go behaviour it mirrors.
import t from 'tap'
import { json, rawExchange, startFixture } from './toxiproxy-http.js'

void t.test(
  'limits: a 20,000-character proxy name works in bodies and paths',
  async t => {
    const f = await startFixture(t)
    const name = 'n'.repeat(20_000)
    const created = await f.send(
      'POST',
      '/proxies',
      JSON.stringify({ name, listen: '127.0.0.1:0', upstream: f.upstream }),
    )
    t.equal(created.status, 201)
    // net/http reads up to MaxHeaderBytes (1 MiB) + 4096 of request head (server.go).
    const got = await f.send('GET', `/proxies/${name}`)
    t.equal(got.status, 200, 'no 431 for a 20,000-byte path')
    t.equal(json(got).name, name)
    t.equal((await f.send('DELETE', `/proxies/${name}`)).status, 204)
    const huge = await f.send('GET', `/proxies/${'x'.repeat(1_100_000)}`)
    t.strictSame(
      [huge.status, huge.text],
      [431, '431 Request Header Fields Too Large'],
      "over Go's limit: Go's 431",
    )
  },
)

void t.test('paths: gorilla/mux cleans them with a 301 before routing', async t => {
  const f = await startFixture(t)
  // api.go:92 mux.NewRouter(): SkipClean is false, so Router.ServeHTTP redirects any
  // path that cleanPath changes; the redirect comes before middleware (no request id).
  const cases = [
    { path: '//proxies', location: '/proxies' },
    { path: '/proxies/../reset', location: '/reset' },
    { path: '/proxies/%2e?x=1', location: '/proxies?x=1' },
    { path: '/./version?', location: '/version?' },
  ]
  for (const c of cases) {
    const r = await f.send('POST', c.path, '', { 'user-agent': 'Mozilla/5.0' })
    t.strictSame(
      [
        r.status,
        r.headers.location,
        r.text,
        r.headers['content-type'],
        r.headers['x-toxiproxy-request-id'],
      ],
      [301, c.location, '', undefined, undefined],
      c.path,
    )
  }
  t.equal(
    (await f.send('GET', '/proxies/')).status,
    404,
    'a trailing slash is kept, so it is a 404',
  )
  const badEscape = await f.send('GET', '/proxies/%zz')
  t.strictSame(
    [badEscape.status, badEscape.text],
    [400, '400 Bad Request'],
    "net/http's own 400",
  )
  const query = await f.send('GET', '/proxies?x=1')
  t.strictSame([query.status, query.text], [200, '{}'], 'a query does not change routing')
})

void t.test(
  'methods Node cannot parse are routed as net/http and mux route them',
  async t => {
    const f = await startFixture(t)
    // net/http accepts any token as a method; mux then finds the path with no such method
    // (405, empty), no path (404) or an unclean one (301). Node's parser refuses them.
    const head = async (line: string): Promise<string> => {
      const text = await rawExchange(
        f.port,
        `${line}\r\nHost: x\r\nConnection: close\r\n\r\n`,
      )
      return text.replace(/\r\nDate: [^\r]*/, '')
    }
    t.match(
      await head('get /proxies HTTP/1.1'),
      /^HTTP\/1\.1 405 Method Not Allowed\r\n(.*\r\n)*\r\n$/,
      'lowercase get: 405',
    )
    t.match(
      await head('FOO /nothing HTTP/1.1'),
      /^HTTP\/1\.1 404 Not Found\r\n(.*\r\n)*\r\n404 page not found\n$/,
    )
    t.match(
      await head('FOO //proxies HTTP/1.1'),
      /^HTTP\/1\.1 301 Moved Permanently\r\n(.*\r\n)*Location: \/proxies\r\n/,
    )
    t.match(
      await head('CONNECT /proxies HTTP/1.1'),
      /^HTTP\/1\.1 405 /,
      'CONNECT is routed too',
    )
    t.match(
      await head('GET /proxies HTTP/1.1'),
      /^HTTP\/1\.1 200 OK\r\n(.*\r\n)*\r\n\{\}$/,
      'a known method still reaches the handler',
    )

    // An absolute-form target routes on its path (net/http ParseRequestURI); the redirect
    // keeps scheme and host (url.URL.String()).
    t.match(
      await head('GET http://x/proxies HTTP/1.1'),
      /^HTTP\/1\.1 200 OK\r\n(.*\r\n)*\r\n\{\}$/,
      'absolute form',
    )
    t.match(
      await head('GET http://x//proxies?a HTTP/1.1'),
      /^HTTP\/1\.1 301 Moved Permanently\r\n(.*\r\n)*Location: http:\/\/x\/proxies\?a\r\n/,
    )
  },
)
