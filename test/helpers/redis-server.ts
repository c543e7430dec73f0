// Starts real redis-server processes for tests: each on a free 127.0.0.1 port, no
// persistence, killable and restartable on the same port. Never the shared one on 6379.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// Killed with this test process, however it ends (see corral-process.ts).
const children = new Set<ChildProcess>()
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL')
})

/** A redis-server (or sentinel) child process on a fixed port it can be restarted on. */
export interface RedisProcess {
  readonly port: number
  readonly url: string
  /** Current child; replaced by restart(). */
  readonly proc: ChildProcess
  /** SIGKILLs it and waits for the exit. */
  kill(): Promise<void>
  /** Starts it again on the same port (after kill). */
  restart(): Promise<void>
  /** SIGSTOP/SIGCONT: a hung server that keeps its connections open. */
  pause(): void
  resume(): void
}

/** An OS-assigned free port on 127.0.0.1 (closed again before returning). */
export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  server.close()
  await once(server, 'close')
  return port
}

async function waitForReady(proc: ChildProcess, pattern: RegExp, timeoutMs: number) {
  let seen = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup()
      reject(new Error(`redis did not start within ${timeoutMs}ms: ${seen.slice(-500)}`))
    }, timeoutMs)
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString()
      if (pattern.test(seen)) {
        cleanup()
        resolve()
      }
    }
    const onExit = (code: number | null): void => {
      cleanup()
      reject(new Error(`redis exited (${code}) before ready: ${seen.slice(-500)}`))
    }
    const cleanup = (): void => {
      clearTimeout(timer)
      proc.stdout?.off('data', onData)
      proc.off('exit', onExit)
    }
    proc.stdout?.on('data', onData)
    proc.once('exit', onExit)
  })
}

/** Options of startRedis. */
export interface RedisOptions {
  /** Extra redis.conf lines (e.g. "replicaof 127.0.0.1 6390"). */
  readonly conf?: readonly string[]
  /** Run as a sentinel (redis-server FILE --sentinel). */
  readonly sentinel?: boolean
  readonly port?: number
}

/** Starts redis-server on a free port; the caller kills it (t.teardown(r.kill)). */
export async function startRedis(options: RedisOptions = {}): Promise<RedisProcess> {
  const port = options.port ?? (await freePort())
  const dir = mkdtempSync(join(tmpdir(), 'corral-redis-'))
  const confPath = join(dir, 'redis.conf')
  const lines = [
    `port ${port}`,
    'bind 127.0.0.1',
    `dir ${dir}`,
    'save ""',
    'appendonly no',
    'protected-mode no',
    'loglevel notice',
    ...(options.conf ?? []),
  ]
  writeFileSync(confPath, lines.join('\n') + '\n')
  const ready =
    options.sentinel === true ? /Sentinel ID is/ : /Ready to accept connections/
  let proc: ChildProcess
  let stopped = false
  const launch = async (): Promise<void> => {
    proc = spawn(
      'redis-server',
      options.sentinel === true ? [confPath, '--sentinel'] : [confPath],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    children.add(proc)
    const child = proc
    proc.once('exit', () => children.delete(child))
    await waitForReady(proc, ready, 10_000)
    stopped = false
  }
  await launch()
  const kill = async (): Promise<void> => {
    if (stopped || proc.exitCode !== null || proc.signalCode !== null) return
    stopped = true
    const exited = once(proc, 'exit')
    proc.kill('SIGCONT')
    proc.kill('SIGKILL')
    await exited
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    get proc() {
      return proc
    },
    kill,
    restart: async () => {
      await kill()
      await launch()
    },
    pause: () => proc.kill('SIGSTOP'),
    resume: () => proc.kill('SIGCONT'),
  }
}
