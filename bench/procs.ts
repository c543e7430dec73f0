// Child processes of the harness: spawned in their own process group, optionally pinned
// with taskset, always killed: on stop(), on timeout, and when the harness exits.

import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

/** How to start a child. */
export interface SpawnOptions {
  /** Label used in log file names and errors. */
  readonly name: string
  /** taskset CPU list (e.g. "0"); undefined = no pinning. */
  readonly cpus?: string | undefined
  /** Open-files soft limit to apply with prlimit; undefined = inherit. */
  readonly nofile?: number | undefined
  /** Directory for the child's stderr log. */
  readonly logDir: string
  readonly env?: Readonly<Record<string, string>>
  /** Collect stdout as one text (runCommand) instead of splitting it into lines. */
  readonly collectStdout?: boolean
}

/** Most stdout bytes a collecting child keeps. */
const MAX_STDOUT_BYTES = 16 * 1024 * 1024

const live = new Set<Child>()

/** Sends SIGKILL to every live child's process group. Safe to call from 'exit'. */
export function killAllChildren(): void {
  for (const c of live) c.kill('SIGKILL')
  live.clear()
}

/** The argv that wraps a command in prlimit and taskset as requested. */
export function wrapCommand(
  command: string,
  args: readonly string[],
  options: Pick<SpawnOptions, 'cpus' | 'nofile'>,
): string[] {
  const argv: string[] = []
  if (options.nofile !== undefined)
    argv.push('prlimit', `--nofile=${options.nofile}`, '--')
  if (options.cpus !== undefined) argv.push('taskset', '-c', options.cpus)
  argv.push(command, ...args)
  return argv
}

/** Quotes an argv for display as a shell command. */
export function shellQuote(argv: readonly string[]): string {
  return argv
    .map(a => (/^[A-Za-z0-9_./:=,@%+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(' ')
}

/**
 * An argv as the report shows it: paths inside `repoRoot` relative to it and this Node
 * binary as `node`, so a committed report names no directory of the machine it ran on.
 */
export function displayArgv(
  argv: readonly string[],
  repoRoot: string,
  nodePath: string = process.execPath,
): string[] {
  return argv.map(a => (a === nodePath ? 'node' : withoutRoot(a, repoRoot)))
}

/** `text` with every `repoRoot/` removed: paths inside the repository become relative. */
export function withoutRoot(text: string, repoRoot: string): string {
  const prefix = repoRoot.endsWith('/') ? repoRoot : `${repoRoot}/`
  return text.split(prefix).join('')
}

/** A spawned child with line-oriented stdout and a stderr log file. */
export class Child {
  readonly proc: ChildProcess
  /** The label given at spawn. */
  readonly name: string
  readonly argv: readonly string[]
  readonly logPath: string
  /** Resolves with the exit code (or signal name) once the child has exited. */
  readonly exited: Promise<number | string>
  private readonly lines: string[] = []
  private readonly chunks: Buffer[] = []
  private stdoutBytes = 0
  private readonly waiters = new Set<() => void>()
  private exitValue: number | string | undefined

  constructor(command: string, args: readonly string[], options: SpawnOptions) {
    this.name = options.name
    this.argv = wrapCommand(command, args, options)
    this.logPath = join(options.logDir, `${options.name}-${Date.now()}.log`)
    const errFd = openSync(this.logPath, 'a')
    const [file = command, ...rest] = this.argv
    try {
      this.proc = spawn(file, rest, {
        stdio: ['pipe', 'pipe', errFd],
        detached: true,
        env: { ...process.env, ...options.env },
      })
    } finally {
      closeSync(errFd)
    }
    live.add(this)
    this.exited = new Promise(resolve => {
      // A collecting child is done once its stdout is drained too ('close' follows 'exit').
      const event = options.collectStdout === true ? 'close' : 'exit'
      this.proc.once(event, (code: number | null, signal: NodeJS.Signals | null) => {
        live.delete(this)
        this.exitValue = code ?? signal ?? 'unknown'
        resolve(this.exitValue)
        this.wake()
      })
      this.proc.once('error', err => {
        live.delete(this)
        this.exitValue = `spawn error: ${err.message}`
        resolve(this.exitValue)
        this.wake()
      })
    })
    if (options.collectStdout === true) {
      this.proc.stdout?.on('data', (chunk: Buffer) => {
        this.stdoutBytes += chunk.length
        if (this.stdoutBytes <= MAX_STDOUT_BYTES) this.chunks.push(chunk)
      })
    } else if (this.proc.stdout !== null) {
      const rl = createInterface({ input: this.proc.stdout })
      rl.on('line', line => {
        this.lines.push(line)
        // Bounded: children print a handful of status lines, but never keep more.
        if (this.lines.length > 1000) this.lines.splice(0, 500)
        this.wake()
      })
    }
  }

  /** The process id (of the final command: prlimit and taskset exec it). */
  get pid(): number | undefined {
    return this.proc.pid
  }

  /** Everything a collecting child printed so far. */
  stdoutText(): string {
    return Buffer.concat(this.chunks).toString('utf8')
  }

  /** Whether the child has exited. */
  get hasExited(): boolean {
    return this.exitValue !== undefined
  }

  /** Writes one line to the child's stdin. */
  send(line: string): void {
    this.proc.stdin?.write(line + '\n')
  }

  /** Waits for a stdout line accepted by `parse`, consuming lines up to it. */
  async waitForLine<T>(
    parse: (line: string) => T | undefined,
    timeoutMs: number,
    what: string,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      while (this.lines.length > 0) {
        const line = this.lines.shift() ?? ''
        const value = parse(line)
        if (value !== undefined) return value
      }
      if (this.exitValue !== undefined) {
        throw new Error(
          `${this.argv.join(' ')} exited (${this.exitValue}) before ${what}; see ${this.logPath}`,
        )
      }
      const left = deadline - Date.now()
      if (left <= 0)
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
      await new Promise<void>(resolve => {
        const timer = setTimeout(done, left)
        const waiters = this.waiters
        function done(): void {
          clearTimeout(timer)
          waiters.delete(done)
          resolve()
        }
        waiters.add(done)
      })
    }
  }

  /** Signals the child's whole process group (workers included). */
  kill(signal: NodeJS.Signals): void {
    const pid = this.proc.pid
    if (pid === undefined || this.exitValue !== undefined) return
    try {
      process.kill(-pid, signal)
    } catch {
      // The group is already gone: nothing left to signal.
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the child has exited. */
  async stop(graceMs = 3_000): Promise<void> {
    if (this.exitValue !== undefined) return
    this.kill('SIGTERM')
    if (await exitsWithin(this.exited, graceMs)) return
    this.kill('SIGKILL')
    await exitsWithin(this.exited, 2_000)
  }

  private wake(): void {
    for (const w of [...this.waiters]) w()
  }
}

async function exitsWithin(exited: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<false>(resolve => {
    timer = setTimeout(() => {
      resolve(false)
    }, ms)
  })
  try {
    return await Promise.race([exited.then(() => true), timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Output of a command run to completion. */
export interface CommandResult {
  readonly code: number | string
  readonly stdout: string
  readonly argv: readonly string[]
}

/** Runs a command to completion with a hard timeout, collecting its stdout. */
export async function runCommand(
  command: string,
  args: readonly string[],
  options: SpawnOptions & { readonly timeoutMs: number },
): Promise<CommandResult> {
  const child = new Child(command, args, { ...options, collectStdout: true })
  child.proc.stdin?.end()
  const timer = setTimeout(() => {
    child.kill('SIGKILL')
  }, options.timeoutMs)
  try {
    const code = await child.exited
    const stdout = child.stdoutText()
    if (code === 'SIGKILL') {
      throw new Error(`${shellQuote(child.argv)} timed out after ${options.timeoutMs} ms`)
    }
    return { code, stdout, argv: child.argv }
  } finally {
    clearTimeout(timer)
  }
}
