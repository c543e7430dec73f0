// Runs a chaos replica as a child process: start, SIGKILL, SIGSTOP/SIGCONT, restart on
// the same ports, and switch its /health mode over its control endpoint.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { HealthSetting } from './app.js'

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url))

/** Files and options every replica of a run shares. */
export interface ReplicaOptions {
  readonly certPath: string
  readonly keyPath: string
  readonly backlog?: number
  /** Loopback address to listen on (default 127.0.0.1). */
  readonly host?: string
}

/** A replica child process. */
export class ReplicaProcess {
  httpPort = 0
  tlsPort = 0
  private child: ChildProcess | undefined

  constructor(
    readonly id: string,
    private readonly options: ReplicaOptions,
  ) {}

  /** Starts (or restarts, on the same ports) and resolves once it listens. */
  async start(timeoutMs = 30_000): Promise<void> {
    const child = spawn(
      process.execPath,
      [
        MAIN,
        '--id',
        this.id,
        '--http-port',
        String(this.httpPort),
        '--tls-port',
        String(this.tlsPort),
        '--cert',
        this.options.certPath,
        '--key',
        this.options.keyPath,
        '--backlog',
        String(this.options.backlog ?? 511),
        '--host',
        this.options.host ?? '127.0.0.1',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    this.child = child
    let stderr = ''
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    const lines = createInterface({ input: child.stdout })
    const signal = AbortSignal.timeout(timeoutMs)
    const ready = (once(lines, 'line', { signal }) as Promise<[string]>).catch(
      (err: unknown) => {
        throw new Error(
          `replica ${this.id} printed no ports within ${timeoutMs} ms: ${stderr}`,
          {
            cause: err,
          },
        )
      },
    )
    const exited = once(child, 'exit', { signal }).then(() => {
      throw new Error(`replica ${this.id} exited before it was ready: ${stderr}`)
    })
    const [line] = await Promise.race([ready, exited])
    const parsed: unknown = JSON.parse(line)
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      'httpPort' in parsed &&
      'tlsPort' in parsed
    ) {
      this.httpPort = Number(parsed.httpPort)
      this.tlsPort = Number(parsed.tlsPort)
    }
    exited.catch(() => undefined)
  }

  /** Sends a signal (SIGKILL, SIGSTOP, SIGCONT) to the process. */
  signal(signal: NodeJS.Signals): void {
    this.child?.kill(signal)
  }

  /** SIGKILLs it and resolves once it is gone. */
  async kill(): Promise<void> {
    const child = this.child
    if (child?.exitCode !== null || child.signalCode !== null) return
    const exited = once(child, 'exit', { signal: AbortSignal.timeout(10_000) })
    child.kill('SIGCONT') // a stopped process must run to die promptly
    child.kill('SIGKILL')
    await exited
  }

  /** Sets how /health answers (through the control endpoint on the plain port). */
  async setHealth(
    setting: Partial<HealthSetting> & Pick<HealthSetting, 'mode'>,
  ): Promise<void> {
    const res = await fetch(
      `http://${this.options.host ?? '127.0.0.1'}:${this.httpPort}/control`,
      {
        method: 'POST',
        body: JSON.stringify({ health: setting.mode, ...setting }),
        signal: AbortSignal.timeout(5_000),
      },
    )
    await res.text()
    if (res.status !== 200)
      throw new Error(`replica ${this.id}: control answered ${res.status}`)
  }
}
