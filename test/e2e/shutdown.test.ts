// SIGTERM: stop accepting, let open connections finish up to timeouts.shutdown, exit 0.
// In both modes: with workers, stopping takes an IPC round trip to every worker.
import { once } from 'node:events'
import { connect } from 'node:net'
import t from 'tap'
import { startReplica } from '../../src/demo/replica.js'
import { startCorral } from '../helpers/corral-process.js'
import { WORKER_MODES, lbYaml, modeName, stateChanged } from '../helpers/lb-config.js'
import { openRawHttp } from '../helpers/raw-http.js'

// Tests here run once per workers mode: up to twice the corral starts of a one-mode file,
// on a shared 2-core machine. Above .taprc's 120 s per file, still bounded.
t.setTimeout(240_000)

/** Resolves true when a connection attempt is refused, false when it connects. */
function connectRefused(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port })
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error('connect attempt neither connected nor failed'))
    }, 5_000)
    socket.once('connect', () => {
      clearTimeout(timer)
      socket.destroy()
      resolve(false)
    })
    socket.once('error', (err: Error & { code?: string }) => {
      clearTimeout(timer)
      resolve(err.code === 'ECONNREFUSED')
    })
  })
}

for (const mode of WORKER_MODES) {
  void t.test(
    `${modeName(mode)}: SIGTERM lets an open connection finish, refuses new ones, exits 0`,
    async t => {
      const replica = await startReplica('r1')
      t.teardown(() => replica.kill())
      const lb = await startCorral(
        t.testdir(),
        lbYaml([replica], { extra: 'timeouts: { shutdown: 10s }', workers: mode }),
      )
      t.teardown(() => lb.stop('SIGKILL'))
      await lb.waitForLog(stateChanged('r1', 'up'))
      const port = lb.ports.http ?? 0
      const conn = await openRawHttp(port)
      t.equal((await conn.get()).trim(), 'hello from r1')

      lb.proc.kill('SIGTERM')
      await lb.waitForLog(l => l.msg === 'shutting down: no new connections', 5_000)
      t.ok(await connectRefused(port), 'a new connection is refused')
      t.equal(
        (await conn.get()).trim(),
        'hello from r1',
        'the open connection keeps working',
      )
      t.equal(lb.proc.exitCode, null, 'corral waits for the open connection')
      conn.close()
      const [code] = (await once(lb.proc, 'exit', {
        signal: AbortSignal.timeout(5_000),
      })) as [number]
      t.equal(code, 0, 'exit code 0')
      t.match(lb.logs.at(-1), { msg: 'shutdown complete', forced: 0 })
    },
  )

  void t.test(
    `${modeName(mode)}: connections open at the shutdown deadline are closed`,
    async t => {
      const replica = await startReplica('r1')
      t.teardown(() => replica.kill())
      const lb = await startCorral(
        t.testdir(),
        lbYaml([replica], { extra: 'timeouts: { shutdown: 300ms }', workers: mode }),
      )
      t.teardown(() => lb.stop('SIGKILL'))
      await lb.waitForLog(stateChanged('r1', 'up'))
      const conn = await openRawHttp(lb.ports.http ?? 0)
      await conn.get()
      // A forced close may reach the client as a reset (seen intermittently with
      // workers): either way the connection is closed, which is what is tested.
      const errors: string[] = []
      conn.socket.on('error', (err: Error & { code?: string }) => {
        errors.push(err.code ?? err.message)
      })
      const closed = once(conn.socket, 'close', { signal: AbortSignal.timeout(5_000) })
      lb.proc.kill('SIGTERM')
      const [code] = (await once(lb.proc, 'exit', {
        signal: AbortSignal.timeout(5_000),
      })) as [number]
      await closed
      t.ok(
        errors.every(e => e === 'ECONNRESET'),
        `closed by a FIN or a reset, nothing else (${errors.join(', ') || 'FIN'})`,
      )
      t.equal(code, 0)
      t.ok(
        lb.logs.some(
          l => l.forced === 1 && String(l.msg).includes('shutdown deadline passed'),
        ),
        'the forced close is logged',
      )
    },
  )
}
