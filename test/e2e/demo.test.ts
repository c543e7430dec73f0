// `npm run demo` works: three replicas behind corral, answering in turn; Ctrl-C stops it.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { httpRequest } from '../helpers/http-client.js'

const DEMO = fileURLToPath(new URL('../../src/demo/demo.js', import.meta.url))

void t.test('the demo serves through corral and stops on SIGINT', async t => {
  const proc = spawn(process.execPath, [DEMO], {
    env: { ...process.env, DEMO_PORT: '0', DEMO_ADMIN_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  t.teardown(() => proc.kill('SIGKILL'))
  let out = ''
  const upCount = (): number => (out.match(/"to":"up"/g) ?? []).length
  const waitFor = (done: () => boolean): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`demo output so far:\n${out}`))
      }, 10_000)
      const check = (): void => {
        if (done()) {
          clearTimeout(timer)
          proc.stdout.off('data', check)
          resolve()
        }
      }
      proc.stdout.on('data', check)
      check()
    })
  proc.stdout.on('data', (c: Buffer) => {
    out += c.toString()
  })
  await waitFor(() => /load balancer on 127\.0\.0\.1:\d+/.test(out) && upCount() >= 3)
  const port = Number(/load balancer on 127\.0\.0\.1:(\d+)/.exec(out)?.[1])
  const answers = await Promise.all([0, 1, 2].map(() => httpRequest(port)))
  t.same(
    answers.map(a => a.body.trim()).sort(),
    ['hello from replica-1', 'hello from replica-2', 'hello from replica-3'],
    'three requests, three replicas',
  )
  t.match(out, /curl -X POST http:\/\/127\.0\.0\.1:\d+\/fail/, 'prints what to try')
  proc.kill('SIGINT')
  const [code] = (await once(proc, 'exit', { signal: AbortSignal.timeout(10_000) })) as [
    number,
  ]
  t.equal(code, 0)
  t.match(out, /demo stopped/)
})
