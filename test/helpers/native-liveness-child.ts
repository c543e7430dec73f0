// Child process for the liveness test (native-relay.test.ts): accepts one connection,
// connects it to the member on argv[2], hands both to the native relay thread and keeps
// nothing else alive. It must stay up while the relay runs and exit once it closes.
import { once } from 'node:events'
import { connect, createServer } from 'node:net'
import { sharedNativeEngine } from '../../src/proxy/native-engine.js'
import { loadNativeAddon } from '../../src/proxy/native-loader.js'
import { socketFd } from '../../src/proxy/native-relay.js'

const loaded = loadNativeAddon()
if ('error' in loaded) throw new Error(loaded.error)
const engine = sharedNativeEngine(loaded.addon)
const memberPort = Number(process.argv[2])
const server = createServer({ pauseOnConnect: true, allowHalfOpen: true }, client => {
  server.close()
  const upstream = connect({ host: '127.0.0.1', port: memberPort, allowHalfOpen: true })
  upstream.pause()
  void once(upstream, 'connect').then(() => {
    const a = socketFd(client)
    const b = socketFd(upstream)
    if (a === undefined || b === undefined) throw new Error('no fd')
    const slot = engine.adopt(a, b, 0, {
      nativeClosed: reason => {
        process.stdout.write(`closed ${reason}\n`)
      },
    })
    if (typeof slot !== 'number') throw new Error(slot)
    client.destroy()
    upstream.destroy()
    process.stdout.write('handed over\n')
  })
})
server.listen(0, '127.0.0.1', () => {
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no address')
  process.stdout.write(`port ${address.port}\n`)
})
