// What a relay carries: every byte, both ways at once, half-closes in either order,
// resets, and TLS end to end (the proxy never terminates it).
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import {
  TLSSocket,
  createServer as createTlsServer,
  connect as tlsConnect,
} from 'node:tls'
import t from 'tap'
import { receiveHashed, sendRandom, sha256Of } from '../helpers/byte-stream.js'
import { startProxy } from '../helpers/proxy-harness.js'
import {
  closed,
  openClient,
  readToEnd,
  roundTrip,
  untilPeerCloses,
} from '../helpers/tcp-client.js'
import { manual, startTcpMember } from '../helpers/tcp-member.js'
import { makeSelfSignedCert } from '../helpers/tls-cert.js'
import { upMember } from '../helpers/views.js'

const MiB = 1024 * 1024

void t.test('64 MiB each way at once arrive byte for byte and are counted', async t => {
  const signal = AbortSignal.timeout(20_000)
  const member = await startTcpMember(t, manual)
  const proxy = await startProxy(t, [upMember('a', member.port)])
  const client = await openClient(t, proxy.port, signal)
  const upstream = await member.takeSocket(signal)

  const size = 64 * MiB
  const clientGot = receiveHashed(client, signal)
  const memberGot = receiveHashed(upstream, signal)
  const clientSent = sendRandom(client, size, signal)
  const memberSent = sendRandom(upstream, size, signal)

  const toMember = await memberGot
  t.equal(toMember.bytes, size, 'member received every byte')
  t.equal(toMember.sha256, await clientSent.sha256, 'client → member intact')
  const toClient = await clientGot
  t.equal(toClient.bytes, size, 'client received every byte')
  t.equal(toClient.sha256, await memberSent.sha256, 'member → client intact')

  await proxy.waitForIdle(signal)
  const stats = proxy.statsOf('a')
  t.equal(stats.bytesToMember, size, 'bytes to member counted')
  t.equal(stats.bytesToClient, size, 'bytes to client counted')
  t.equal(stats.outcomes.ok, 1, 'one ok connection')
  t.equal(stats.active, 0, 'no active connection left')
})

void t.test('bytes written before the member leg is up are delivered intact', async t => {
  const signal = AbortSignal.timeout(5_000)
  const member = await startTcpMember(t)
  const proxy = await startProxy(t, [upMember('a', member.port)])
  // roundTrip writes and half-closes right after connect, before the proxy has connected.
  for (const size of [1, 1_000, 200_000, 4 * MiB]) {
    const payload = randomBytes(size)
    const reply = await roundTrip(proxy.port, payload, signal)
    t.equal(reply.length, size, `${size} bytes echoed`)
    t.equal(sha256Of(reply), sha256Of(payload), `${size} bytes intact`)
  }
})

void t.test(
  'client half-close: the member sees end and its later answer still arrives',
  async t => {
    const signal = AbortSignal.timeout(5_000)
    const member = await startTcpMember(t, manual)
    const proxy = await startProxy(t, [upMember('a', member.port)])
    const client = await openClient(t, proxy.port, signal)
    const upstream = await member.takeSocket(signal)

    const request = readToEnd(upstream, signal)
    client.end('question')
    t.equal((await request).toString(), 'question', 'member saw the bytes, then end')
    t.notOk(upstream.destroyed, 'member leg still open after the client FIN')

    const answer = readToEnd(client, signal)
    upstream.write('answer, ')
    upstream.end('after the FIN')
    t.equal(
      (await answer).toString(),
      'answer, after the FIN',
      'answer reached the client',
    )

    await closed(client, signal)
    await closed(upstream, signal)
    await proxy.waitForIdle(signal)
    t.equal(proxy.statsOf('a').active, 0, 'relay finished')
  },
)

void t.test('member half-close: the client sees end and can still send', async t => {
  const signal = AbortSignal.timeout(5_000)
  const member = await startTcpMember(t, manual)
  const proxy = await startProxy(t, [upMember('a', member.port)])
  const client = await openClient(t, proxy.port, signal)
  const upstream = await member.takeSocket(signal)

  const greeting = readToEnd(client, signal)
  upstream.end('greeting')
  t.equal((await greeting).toString(), 'greeting', 'client saw the bytes, then end')

  const upload = readToEnd(upstream, signal)
  const payload = randomBytes(MiB)
  client.end(payload)
  t.equal(sha256Of(await upload), sha256Of(payload), 'upload after the FIN intact')

  await closed(client, signal)
  await closed(upstream, signal)
  await proxy.waitForIdle(signal)
})

void t.test('a client reset tears down the member leg', async t => {
  const signal = AbortSignal.timeout(5_000)
  const member = await startTcpMember(t, manual)
  const proxy = await startProxy(t, [upMember('a', member.port)])
  const client = await openClient(t, proxy.port, signal)
  const upstream = await member.takeSocket(signal)
  client.write('x')
  await once(upstream, 'readable', { signal })
  t.equal(String(upstream.read()), 'x', 'relay established')
  client.resetAndDestroy()
  await untilPeerCloses(upstream, signal)
  await proxy.waitForIdle(signal)
  t.equal(proxy.dataPlane.localLoad('a'), 0, 'load released')
  t.equal(proxy.failures.length, 0, 'a client reset is not a member failure')
})

void t.test('a member reset tears down the client leg', async t => {
  const signal = AbortSignal.timeout(5_000)
  const member = await startTcpMember(t, manual)
  const proxy = await startProxy(t, [upMember('a', member.port)])
  const client = await openClient(t, proxy.port, signal)
  const upstream = await member.takeSocket(signal)
  // Accepted is not yet connected for the proxy (both ends run in this process): wait
  // for a byte to cross, else the reset would be a connect failure.
  client.write('x')
  await once(upstream, 'readable', { signal })
  t.equal(String(upstream.read()), 'x', 'relay established')
  upstream.resetAndDestroy()
  await untilPeerCloses(client, signal)
  await proxy.waitForIdle(signal)
  t.equal(proxy.dataPlane.localLoad('a'), 0, 'load released')
  t.match(
    proxy.statsOf('a').outcomes,
    { ok: 1, failed: 0 },
    'the connection had succeeded',
  )
  t.strictSame(proxy.failures, [], 'no passive failure')
})

void t.test(
  'TLS passes through: SNI reaches the member, the client verifies it',
  async t => {
    const signal = AbortSignal.timeout(10_000)
    const name = 'member.corral.test'
    const cert = makeSelfSignedCert(t.testdir(), { cn: name, san: [name] })
    const server = createTlsServer({ key: cert.key, cert: cert.cert }, socket => {
      socket.on('error', () => undefined)
      socket.pipe(socket)
    })
    server.listen({ host: '127.0.0.1', port: 0 })
    await once(server, 'listening', { signal })
    t.teardown(() => {
      server.close()
    })
    const address = server.address()
    if (address === null || typeof address === 'string') throw new Error('expected TCP')
    const proxy = await startProxy(t, [upMember('a', address.port)])

    // TLS 1.3: the client may finish its handshake before the member has read its Finished.
    const accepted = once(server, 'secureConnection', { signal })
    const client = tlsConnect({
      host: '127.0.0.1',
      port: proxy.port,
      servername: name,
      ca: cert.ca,
    })
    t.teardown(() => client.destroy())
    await once(client, 'secureConnect', { signal })
    t.equal(client.authorized, true, `verified: ${String(client.authorizationError)}`)
    const peer = client.getPeerCertificate()
    t.equal(peer.subject.CN, name, 'certificate CN')
    t.equal(peer.subjectaltname, `DNS:${name}`, 'certificate SAN')
    const acceptedArgs: unknown[] = await accepted
    const memberSide = acceptedArgs[0]
    t.ok(memberSide instanceof TLSSocket, 'member completed the handshake')
    if (memberSide instanceof TLSSocket)
      t.equal(memberSide.servername, name, 'member saw SNI')

    const payload = randomBytes(2 * MiB)
    const reply = readToEnd(client, signal)
    client.end(payload)
    t.equal(sha256Of(await reply), sha256Of(payload), 'echo through TLS intact')
    await proxy.waitForIdle(signal)
    t.equal(proxy.statsOf('a').outcomes.ok, 1, 'one ok connection')
  },
)
