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
  t.match(
    out,
    /data path: (native \(epoll|JS \(.+\)\n {2}for the native path: install)/,
    'says which data path runs and how to get the other',
  )
  proc.kill('SIGINT')
  const [code] = (await once(proc, 'exit', { signal: AbortSignal.timeout(10_000) })) as [
    number,
  ]
  t.equal(code, 0)
  t.match(out, /demo stopped/)
})

void t.test('DEMO_DATA_PATH=js runs the JS path and says how to get native', async t => {
  const proc = spawn(process.execPath, [DEMO], {
    env: { ...process.env, DEMO_PORT: '0', DEMO_ADMIN_PORT: '0', DEMO_DATA_PATH: 'js' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  t.teardown(() => proc.kill('SIGKILL'))
  let out = ''
  proc.stdout.on('data', (c: Buffer) => {
    out += c.toString()
  })
  const exited = once(proc, 'exit', { signal: AbortSignal.timeout(15_000) })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`demo output so far:\n${out}`))
    }, 10_000)
    proc.stdout.on('data', () => {
      if (!out.includes('Ctrl-C stops everything')) return
      clearTimeout(timer)
      resolve()
    })
  })
  t.match(out, /data path: JS \(dataPath: js in the config\)/)
  t.match(out, /for the native path: unset DEMO_DATA_PATH/)
  proc.kill('SIGINT')
  const [code] = (await exited) as [number]
  t.equal(code, 0)
})
