// Chooses the Toxiproxy the chaos suite drives: TOXIPROXY_URL if set; else a
// `toxiproxy-server` found on PATH, started on a free port; else the project's stand-in
// (chaos/toxiproxy/main.js) as a child process, so its relaying does not share the
// load generator's event loop.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

/** Which server the suite talks to. */
export type ToxiproxyKind = 'external' | 'toxiproxy-server' | 'stand-in'

/** A Toxiproxy API the suite may use. */
export interface SelectedToxiproxy {
  readonly url: string
  readonly kind: ToxiproxyKind
  /** The server's /version body. */
  readonly version: string
  /** Stops it if the suite started it. */
  close(): Promise<void>
}

async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const a = server.address()
  const port = a !== null && typeof a === 'object' ? a.port : 0
  server.close()
  await once(server, 'close')
  return port
}

async function version(url: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const res = await fetch(`${url}/version`, { signal: AbortSignal.timeout(2_000) })
      return (await res.text()).trim()
    } catch (err) {
      if (Date.now() > deadline) {
        throw new Error(
          `Toxiproxy at ${url} did not answer /version within ${timeoutMs} ms`,
          {
            cause: err,
          },
        )
      }
      // Retry: a server we just spawned may not listen yet.
      await new Promise(resolve => setTimeout(resolve, 100))
    }
  }
}

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
    await exited
    clearTimeout(timer)
  }
}

/** Picks and (if needed) starts the Toxiproxy server; `env` defaults to process.env. */
export async function selectToxiproxy(
  env: NodeJS.ProcessEnv = process.env,
): Promise<SelectedToxiproxy> {
  const external = env.TOXIPROXY_URL
  if (external !== undefined && external !== '') {
    const url = external.replace(/\/+$/, '')
    return {
      url,
      kind: 'external',
      version: await version(url, 5_000),
      close: () => Promise.resolve(),
    }
  }
  const onPath = spawnSync('sh', ['-c', 'command -v toxiproxy-server'], {
    encoding: 'utf8',
  })
  if (onPath.status === 0 && onPath.stdout.trim() !== '') {
    const port = await freePort()
    const child = spawn(
      onPath.stdout.trim(),
      ['-host', '127.0.0.1', '-port', String(port)],
      {
        stdio: 'ignore',
      },
    )
    const url = `http://127.0.0.1:${port}`
    return {
      url,
      kind: 'toxiproxy-server',
      version: await version(url, 10_000),
      close: stopper(child),
    }
  }
  const main = fileURLToPath(new URL('./main.js', import.meta.url))
  const child = spawn(process.execPath, [main, '--host', '127.0.0.1', '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const lines = createInterface({ input: child.stdout })
  const [line] = (await once(lines, 'line', { signal: AbortSignal.timeout(10_000) })) as [
    string,
  ]
  const url = /(http:\/\/\S+)/.exec(line)?.[1]
  if (url === undefined) throw new Error(`stand-in printed no address: ${line}`)
  return {
    url,
    kind: 'stand-in',
    version: await version(url, 5_000),
    close: stopper(child),
  }
}
