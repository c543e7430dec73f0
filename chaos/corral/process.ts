// Runs corral the way operators do: the built CLI (`node dist/src/cli/main.js lb --config
// FILE`, or `sidecar --config FILE`), reading its JSON log lines.
import { spawn, type ChildProcess } from 'node:child_process'
import { EventEmitter, once } from 'node:events'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
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

/** What to run: a load balancer (the default) or a sidecar. */
export interface CorralProcessOptions {
  readonly command?: 'lb' | 'sidecar'
  /** Log messages that count as started instead of the command's default (any of them). */
  readonly readyMessages?: readonly string[]
}

/** The log line after which each command counts as started. */
const READY_MSG = {
  lb: 'corral ready',
  sidecar: 'member registered in the shared pool',
} as const

/** Pids whose parent is `pid` (from /proc; empty where there is no /proc). */
function childPids(pid: number): number[] {
  const out: number[] = []
  let entries: string[]
  try {
    entries = readdirSync('/proc')
  } catch {
    return out
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue
    try {
      // Fields after the command (which may contain spaces) start after the last ')'.
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === pid) out.push(Number(e))
    } catch {
      // gone meanwhile
    }
  }
  return out
}

/** A running corral LB (or sidecar). */
export class CorralProcess extends EventEmitter {
  readonly logs: LogLine[] = []
  readonly changes: StateChange[] = []
  ports: Readonly<Record<string, number>> = {}
  adminPort = 0
  private child: ChildProcess | undefined
  private stderr = ''

  readonly #command: 'lb' | 'sidecar'
  readonly #ready: readonly string[]

  constructor(
    readonly name: string,
    private readonly dir: string,
    options: CorralProcessOptions = {},
  ) {
    super()
    this.#command = options.command ?? 'lb'
    this.#ready = options.readyMessages ?? [READY_MSG[this.#command]]
  }

  /**
   * Writes the config and starts the process (again, after it exited: logs and changes
   * accumulate); resolves on its ready line ('corral ready', or a sidecar's registration).
   */
  async start(yaml: string, timeoutMs = 60_000): Promise<void> {
    const configPath = join(this.dir, `${this.name}.yaml`)
    writeFileSync(configPath, yaml)
    this.stderr = ''
    const child = spawn(
      process.execPath,
      [CLI, this.#command, '--config', configPath, '--log-level', 'info'],
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
      this.emit('log')
      if (typeof l.msg === 'string' && this.#ready.includes(l.msg)) ready(l)
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
    if (this.#command === 'lb') {
      this.ports = ports
      this.adminPort = typeof line.adminPort === 'number' ? line.adminPort : 0
    }
  }

  /** Resolves with the first log line from index `from` on that matches; rejects on timeout. */
  async waitForLog(
    match: (line: LogLine) => boolean,
    timeoutMs: number,
    from = 0,
  ): Promise<LogLine> {
    const signal = AbortSignal.timeout(timeoutMs)
    for (;;) {
      const found = this.logs.slice(from).find(match)
      if (found !== undefined) return found
      try {
        await once(this, 'log', { signal })
      } catch (err) {
        throw new Error(`${this.name}: no matching log line within ${timeoutMs} ms`, {
          cause: err,
        })
      }
    }
  }

  /**
   * Sends `signal` and resolves with the exit code (null: ended by a signal) once the
   * process exited; SIGKILLs it and rejects if it has not exited within timeoutMs.
   */
  async signalAndWait(signal: NodeJS.Signals, timeoutMs: number): Promise<number | null> {
    const child = this.child
    if (child === undefined) throw new Error(`${this.name} was never started`)
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
    const exited = once(child, 'exit') as Promise<[number | null, string | null]>
    child.kill(signal)
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    const [code, by] = await exited
    clearTimeout(timer)
    if (by === 'SIGKILL' && signal !== 'SIGKILL')
      throw new Error(`${this.name} did not exit within ${timeoutMs} ms of ${signal}`)
    return code
  }

  /** Whether the process was started and has not exited (a crash shows here). */
  get running(): boolean {
    const c = this.child
    return c?.exitCode === null && c.signalCode === null
  }

  /** What the current process wrote to stderr (an uncaught error's stack lands here). */
  get stderrText(): string {
    return this.stderr
  }

  /** Sends a signal without waiting (SIGHUP: reload). */
  signal(signal: NodeJS.Signals): void {
    this.child?.kill(signal)
  }

  /** The primary's process id (its workers are its children). */
  get pid(): number | undefined {
    return this.child?.pid
  }

  /**
   * SIGKILLs the primary (a crash) and resolves once it and its data-path workers (which
   * exit when their IPC channel closes) are gone, so its ports can be bound again.
   */
  async crash(timeoutMs = 10_000): Promise<void> {
    const pid = this.pid
    const workers = pid === undefined ? [] : childPids(pid)
    await this.signalAndWait('SIGKILL', timeoutMs)
    const until = performance.now() + timeoutMs
    const alive = (p: number): boolean => {
      try {
        process.kill(p, 0)
        return true
      } catch {
        return false
      }
    }
    while (workers.some(alive)) {
      if (performance.now() > until)
        throw new Error(`${this.name}: workers ${workers.join(',')} outlived the primary`)
      await new Promise(r => setTimeout(r, 20))
    }
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
