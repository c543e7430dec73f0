// A member address whose TCP handshake never completes, for connect-timeout tests.
//
// Loopback has no packet loss, so a "blackhole" is made from a full accept queue:
// 1. A child process listens on 127.0.0.1:0 with backlog 1, prints its port, then blocks
//    its event loop forever, so it never accepts anything.
// 2. Linux queues backlog + 1 handshaken connections (the queue is full when it holds
//    more than `backlog`); we make exactly that many and keep them open.
// 3. From then on the kernel drops every SYN to that port (LISTENOVERFLOWS): a connect
//    stays in SYN-SENT, retransmitting, until the caller's timeout fires. Nothing is
//    refused or reset, so the only way out is the timeout under test.
// A child process, because a Node server in this process would accept at once.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { connect } from 'node:net'
import type { Socket } from 'node:net'
import type { Teardown } from './tcp-member.js'

const BACKLOG = 1

const LISTENER_SCRIPT = `
const net = require('node:net')
const fs = require('node:fs')
const server = net.createServer()
server.listen({ host: '127.0.0.1', port: 0, backlog: ${BACKLOG} }, () => {
  fs.writeSync(1, server.address().port + '\\n')
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0)
})
`

/** Returns a 127.0.0.1 port whose handshakes never complete; cleaned up in teardown. */
export async function startBlackhole(t: Teardown, signal: AbortSignal): Promise<number> {
  const child = spawn(process.execPath, ['-e', LISTENER_SCRIPT], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  t.teardown(() => child.kill('SIGKILL'))
  let out = ''
  child.stdout.setEncoding('utf8')
  while (!out.includes('\n')) {
    const args: unknown[] = await once(child.stdout, 'data', { signal })
    out += String(args[0])
  }
  const port = Number(out.trim())
  const fillers: Socket[] = []
  t.teardown(() => {
    for (const s of fillers) s.destroy()
  })
  for (let i = 0; i <= BACKLOG; i++) {
    const s = connect({ host: '127.0.0.1', port })
    s.on('error', () => undefined)
    fillers.push(s)
    await once(s, 'connect', { signal })
  }
  return port
}
