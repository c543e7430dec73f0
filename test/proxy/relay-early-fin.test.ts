// Regression: a client that connects and sends FIN at once, before the member leg is up,
// must still have its FIN passed on and its relay closed (the 'end' event fires before
// the connect completes; a listener attached at connect time missed it and the relay sat
// half-open until the idle timeout).
import { connect } from 'node:net'
import t from 'tap'
import { startProxy } from '../helpers/proxy-harness.js'
import { echo, startTcpMember } from '../helpers/tcp-member.js'
import { upMember } from '../helpers/views.js'

const CONNECTIONS = 300

void t.test('clients that end immediately leave no relay behind', async t => {
  const member = await startTcpMember(t, echo)
  const proxy = await startProxy(t, [upMember('m1', member.port)], {
    idleTimeoutMs: 600_000,
  })
  let ended = 0
  const deadline = AbortSignal.timeout(10_000)
  const clients = Promise.all(
    Array.from(
      { length: CONNECTIONS },
      () =>
        new Promise<void>((resolve, reject) => {
          const socket = connect({
            host: '127.0.0.1',
            port: proxy.port,
            allowHalfOpen: true,
          })
          socket.on('error', reject)
          socket.on('connect', () => socket.end())
          // The member echoes nothing and ends when it sees our FIN: the proxy passed it on.
          socket.on('end', () => {
            ended++
          })
          socket.on('close', () => {
            resolve()
          })
          socket.resume()
        }),
    ),
  )
  await Promise.race([
    clients,
    new Promise((_resolve, reject) => {
      deadline.addEventListener('abort', () => {
        reject(
          new Error(`only ${ended} of ${CONNECTIONS} clients saw their FIN passed on`),
        )
      })
    }),
  ])
  t.equal(ended, CONNECTIONS, 'every client saw the FIN come back through the proxy')
  await proxy.waitForIdle(AbortSignal.timeout(5_000))
  t.equal(proxy.dataPlane.activeConnections, 0, 'no relay left open')
  t.equal(proxy.dataPlane.localLoad('m1'), 0)
})
