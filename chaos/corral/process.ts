// Runs a corral load balancer the way operators do: the built CLI
// (`node dist/src/cli/main.js lb --config FILE`), reading its JSON log lines.
import { spawn, type ChildProcess } from 'node:child_process'
import { EventEmitter, once } from 'node:events'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url))

/** One parsed pino line. */
export type LogLine = Readonly<Record<string, unknown>>

/** A member state change as logged by corral, with its pino time (epoch ms). */
export interface StateChange {
  readonly member: string
  readonly from: string
  readonly to: string
  readonly reason: string
  readonly timeMs: number
}

/** A running corral LB. */
export class CorralProcess extends EventEmitter {
  readonly logs: LogLine[] = []
  readonly changes: StateChange[] = []
  ports: Readonly<Record<string, number>> = {}
  adminPort = 0
  private child: ChildProcess | undefined
  private stderr = ''

  constructor(
    readonly name: string,
    private readonly dir: string,
  ) {
    super()
  }

  /** Writes the config and starts the LB; resolves on its 'corral ready' line. */
  async start(yaml: string, timeoutMs = 60_000): Promise<void> {
    const configPath = join(this.dir, `${this.name}.yaml`)
    writeFileSync(configPath, yaml)
    const child = spawn(
      process.execPath,
      [CLI, 'lb', '--config', configPath, '--log-level', 'info'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    this.child = child
    child.stderr.on('data', (c: Buffer) => (this.stderr += c.toString()))
    let ready: (line: LogLine) => void = () => undefined
    const readyLine = new Promise<LogLine>(resolve => (ready = resolve))
    createInterface({ input: child.stdout }).on('line', text => {
      let line: unknown
      try {
        line = JSON.parse(text)
      } catch {
        return // not a log line
      }
      if (typeof line !== 'object' || line === null) return
      const l = line as LogLine
      this.logs.push(l)
      if (l.msg === 'corral ready') ready(l)
      if (l.msg === 'member state changed') {
        this.changes.push({
          member: String(l.member),
          from: String(l.from),
          to: String(l.to),
          reason: String(l.reason),
          timeMs: typeof l.time === 'number' ? l.time : Date.now(),
        })
        this.emit('change')
      }
    })
    const signal = AbortSignal.timeout(timeoutMs)
    const exited = once(child, 'exit', { signal }).then(
      () => {
        throw new Error(`${this.name} exited before it was ready: ${this.stderr}`)
      },
      (err: unknown) => {
        throw new Error(
          `${this.name} did not log "corral ready" within ${timeoutMs} ms; stderr: ${this.stderr}`,
          { cause: err },
        )
      },
    )
    const line = await Promise.race([readyLine, exited])
    exited.catch(() => undefined)
    const listeners = Array.isArray(line.listeners) ? (line.listeners as unknown[]) : []
    const ports: Record<string, number> = {}
    for (const l of listeners) {
      if (typeof l === 'object' && l !== null && 'name' in l && 'port' in l) {
        ports[String(l.name)] = Number(l.port)
      }
    }
    this.ports = ports
    this.adminPort = typeof line.adminPort === 'number' ? line.adminPort : 0
  }

  /** The primary's process id (its workers are its children). */
  get pid(): number | undefined {
    return this.child?.pid
  }

  /** The LB's /metrics text. */
  async metrics(): Promise<string> {
    const res = await fetch(`http://127.0.0.1:${this.adminPort}/metrics`, {
      signal: AbortSignal.timeout(5_000),
    })
    return res.text()
  }

  /** The value of an unlabelled (or first matching) sample in /metrics, or undefined. */
  async metric(name: string, labels = ''): Promise<number | undefined> {
    const text = await this.metrics()
    for (const line of text.split('\n')) {
      if (!line.startsWith(name)) continue
      const rest = line.slice(name.length)
      if (!(rest.startsWith(' ') || rest.startsWith('{'))) continue
      if (labels !== '' && !rest.includes(labels)) continue
      const value = Number(line.split(' ').at(-1))
      if (Number.isFinite(value)) return value
    }
    return undefined
  }

  /** Changes of `member` to `to` logged at or after `sinceMs` (epoch ms). */
  changesTo(member: string, to: string, sinceMs: number): StateChange[] {
    return this.changes.filter(
      c => c.member === member && c.to === to && c.timeMs >= sinceMs,
    )
  }

  /** Resolves with the first change of `member` to `to` at or after sinceMs; rejects on timeout. */
  async waitForChange(
    member: string,
    to: string,
    sinceMs: number,
    timeoutMs: number,
  ): Promise<StateChange> {
    const signal = AbortSignal.timeout(timeoutMs)
    for (;;) {
      const found = this.changesTo(member, to, sinceMs)[0]
      if (found !== undefined) return found
      try {
        await once(this, 'change', { signal })
      } catch (err) {
        throw new Error(
          `${this.name}: ${member} did not become ${to} within ${timeoutMs} ms`,
          {
            cause: err,
          },
        )
      }
    }
  }

  /** SIGTERM, then SIGKILL after timeoutMs; resolves when it has exited. */
  async stop(timeoutMs = 5_000): Promise<void> {
    const child = this.child
    if (child?.exitCode !== null || child.signalCode !== null) return
    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    await exited
    clearTimeout(timer)
  }
}
