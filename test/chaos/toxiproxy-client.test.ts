// toxiproxy-node-client@4.1.0 drives the stand-in through every method it has, with the
// results client-calls.md recorded against the real server.
import { once } from 'node:events'
import { connect, createServer } from 'node:net'
import t, { type Test } from 'tap'
import { Toxiproxy, type Latency, type Timeout } from 'toxiproxy-node-client'
import { startToxiproxyStandIn } from '../../chaos/toxiproxy/server.js'

async function echoServer(t: Test): Promise<number> {
  const server = createServer(s => {
    s.on('error', () => undefined)
    s.pipe(s)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => {
    server.close()
  })
  const a = server.address()
  return a !== null && typeof a === 'object' ? a.port : 0
}

async function roundTrip(port: number): Promise<string> {
  const socket = connect(port, '127.0.0.1')
  socket.setEncoding('utf8')
  await once(socket, 'connect', { signal: AbortSignal.timeout(5_000) })
  socket.write('ping')
  const [data] = (await once(socket, 'data', { signal: AbortSignal.timeout(5_000) })) as [
    string,
  ]
  socket.destroy()
  return data
}

void t.test('toxiproxy-node-client works end to end against the stand-in', async t => {
  const standIn = await startToxiproxyStandIn()
  t.teardown(() => standIn.close())
  const upstream = `127.0.0.1:${await echoServer(t)}`
  const client = new Toxiproxy(standIn.url)

  t.equal(await client.getVersion(), '{"version": "2.12.0"}\n', 'getVersion: raw text')
  t.strictSame(await client.getAll(), {}, 'getAll: {} with no proxies')

  const proxy = await client.createProxy({ name: 'cl', listen: '127.0.0.1:0', upstream })
  t.match(proxy.listen, /^127\.0\.0\.1:\d+$/, 'createProxy: listen is the bound address')
  t.not(proxy.listen, '127.0.0.1:0')
  const port = Number(proxy.listen.split(':')[1])
  t.equal(await roundTrip(port), 'ping', 'data flows through the proxy')

  await t.rejects(
    client.createProxy({ name: 'cl', listen: '127.0.0.1:0', upstream }),
    { message: 'Request failed with status code 409' },
    'a duplicate name is a 409',
  )
  await t.rejects(client.get('missing'), {
    message: 'Request failed with status code 404',
  })

  const got = await client.get('cl')
  t.equal(got.listen, proxy.listen, 'get returns the proxy')

  const disabled = await proxy.update({ enabled: false, listen: proxy.listen, upstream })
  t.equal(disabled.enabled, false, 'update({enabled:false}) disables')
  t.equal(proxy.enabled, true, 'the old Proxy object is not changed')
  const enabled = await disabled.update({ ...disabled.toJson(), enabled: true })
  t.equal(enabled.enabled, true, 'update({...toJson(), enabled:true}) enables')
  t.equal(enabled.listen, proxy.listen, 're-enabled on the same port')
  t.equal(await roundTrip(port), 'ping', 'data flows again after enabling')

  const latency = await enabled.addToxic<Latency>({
    name: 'lat',
    type: 'latency',
    stream: 'downstream',
    toxicity: 1,
    attributes: { latency: 300, jitter: 0 },
  })
  t.strictSame(latency.toJson(), {
    name: 'lat',
    type: 'latency',
    stream: 'downstream',
    toxicity: 1,
    attributes: { latency: 300, jitter: 0 },
  })
  // The client's types want every field; the server fills in what is left out.
  const defaults = await enabled
    .getToxiproxy()
    .getApi()
    .post<{ name: string; stream: string; toxicity: number }>(
      `${standIn.url}/proxies/cl/toxics`,
      { type: 'timeout', attributes: { timeout: 100 } },
    )
  t.match(defaults.data, {
    name: 'timeout_downstream',
    stream: 'downstream',
    toxicity: 1,
  })

  const fetched = await enabled.getToxic<Latency>('lat')
  t.equal(fetched.attributes.latency, 300, 'getToxic')
  const updated = await fetched.update({
    ...fetched.toJson(),
    toxicity: 0.5,
    attributes: { latency: 100, jitter: 0 },
  })
  t.equal(updated.toxicity, 0.5, 'toxic update: toxicity')
  t.equal(updated.attributes.latency, 100, 'toxic update: attributes')
  await updated.remove()
  await t.rejects(enabled.getToxic('lat'), {
    message: 'Request failed with status code 404',
  })
  const timeout = await enabled.getToxic<Timeout>('timeout_downstream')
  await timeout.remove()

  const populated = await client.populate([
    { name: 'cl_pop', listen: '127.0.0.1:0', upstream },
    { name: 'cl_pop2', listen: '127.0.0.1:0', upstream, enabled: false },
  ])
  t.strictSame(Object.keys(populated).sort(), ['cl_pop', 'cl_pop2'])
  t.equal(
    populated.cl_pop2?.listen,
    '127.0.0.1:0',
    'a disabled populated proxy keeps its listen',
  )
  await t.rejects(
    client.populate([]),
    { name: 'TypeError' },
    'populate([]) fails as with the real server ({"proxies":null})',
  )

  await client.reset()
  const all = await client.getAll()
  t.equal(all.cl_pop2?.enabled, true, 'reset enables every proxy')
  for (const p of Object.values(all)) await p.remove()
  t.strictSame(await client.getAll(), {}, 'remove deletes every proxy')
})
