// Runs the built corral CLI as a child process for end-to-end tests: writes its config,
// parses its JSON log lines, waits for events with bounded timeouts.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { httpRequest } from './http-client.js'

/**
 * Every corral this test process started and has not seen exit. When tap ends a test file
 * (timeout, failure, Ctrl-C) the children must go with it: an orphaned corral would keep
 * probing and load the machine for every later test.
 */
const children = new Set<ChildProcess>()
function killChildren(): void {
  for (const c of children) c.kill('SIGKILL')
}
process.once('exit', killChildren)
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killChildren()
    process.exit(1)
  })
}

/** Path of the compiled CLI entry point. */
export const CLI_PATH = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url))

/** One parsed pino line. */
export type LogLine = Record<string, unknown> & { msg?: string; level?: number }

/** A running `corral lb`. */
export interface CorralProcess {
  readonly proc: ChildProcess
  readonly configPath: string
  /** Listener name → bound port. */
  readonly ports: Readonly<Record<string, number>>
  readonly adminPort: number
  readonly adminUrl: string
  readonly logs: LogLine[]
  /**
   * Resolves with the first log line matching at index ≥ `since` (default 0: past lines
   * count too), or rejects after timeoutMs. Pass `lb.logs.length` to wait for a new one.
   * For a 'member state changed' line it also waits for poolSynced().
   */
  waitForLog(
    match: (line: LogLine) => boolean,
    timeoutMs?: number,
    since?: number,
  ): Promise<LogLine>
  /**
   * Resolves once every process routes with the primary's latest pool (the pool API's
   * summary.poolSynced): with workers, a state change reaches them one IPC hop after
   * the primary logs it or the admin API answers. Bounded; rejects on timeout.
   */
  poolSynced(timeoutMs?: number): Promise<void>
  /** Rewrites the config file (for SIGHUP tests). */
  writeConfig(yaml: string): void
  /** Sends a signal and resolves with the exit code (kills after timeoutMs). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>
  stderr(): string
}

/** Starts `corral lb --config <dir>/corral.yaml` and resolves once it logged 'corral ready'. */
export async function startCorral(
  dir: string,
  yaml: string,
  options: {
    env?: NodeJS.ProcessEnv
    readyTimeoutMs?: number
    args?: readonly string[]
    /** The CLI command; default "lb". */
    command?: string
    /** The log line that means started; default "corral ready". */
    readyMsg?: string
    /** The config file's name in `dir`; default corral.yaml. */
    configName?: string
  } = {},
): Promise<CorralProcess> {
  const configPath = join(dir, options.configName ?? 'corral.yaml')
  writeFileSync(configPath, yaml)
  const proc = spawn(
    process.execPath,
    [
      CLI_PATH,
      options.command ?? 'lb',
      '--config',
      configPath,
      '--log-level',
      'debug',
      ...(options.args ?? []),
    ],
    { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  children.add(proc)
  proc.once('exit', () => children.delete(proc))
  const logs: LogLine[] = []
  const waiters = new Set<{
    match: (l: LogLine) => boolean
    resolve: (l: LogLine) => void
  }>()
  let stderr = ''
  proc.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  createInterface({ input: proc.stdout }).on('line', text => {
    let line: LogLine
    try {
      const parsed: unknown = JSON.parse(text)
      if (parsed === null || typeof parsed !== 'object') return
      line = parsed as LogLine
    } catch {
      return // not a log line (nothing else is printed, but be lenient)
    }
    logs.push(line)
    for (const w of waiters) {
      if (w.match(line)) {
        waiters.delete(w)
        w.resolve(line)
      }
    }
  })
  const exited = once(proc, 'exit')

  const waitForLog = (
    match: (l: LogLine) => boolean,
    timeoutMs = 10_000,
    since = 0,
  ): Promise<LogLine> => {
    const past = logs.slice(since).find(match)
    if (past !== undefined) return Promise.resolve(past)
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (l: LogLine) => {
          clearTimeout(timer)
          resolve(l)
        },
      }
      const timer = setTimeout(() => {
        waiters.delete(waiter)
        reject(
          new Error(
            `timed out after ${timeoutMs}ms waiting for a log line; stderr: ${stderr}; last logs: ${JSON.stringify(logs.slice(-5))}`,
          ),
        )
      }, timeoutMs)
      waiters.add(waiter)
      void exited.then(() => {
        if (waiters.delete(waiter)) {
          clearTimeout(timer)
          reject(new Error(`corral exited before the log line; stderr: ${stderr}`))
        }
      })
    })
  }

  let adminPortSeen = 0
  const poolSynced = async (timeoutMs = 5_000): Promise<void> => {
    const signal = AbortSignal.timeout(timeoutMs)
    for (;;) {
      const res = await httpRequest(adminPortSeen, '/api/v1/pool', { timeoutMs })
      if (res.body.includes('"poolSynced": true')) return
      if (signal.aborted)
        throw new Error(`pool never synced to the workers in ${timeoutMs}ms: ${res.body}`)
      await new Promise(resolve => setTimeout(resolve, 10))
    }
  }
  // A member state change holds for routing only once every process has it.
  const waitForLogSynced = async (
    match: (l: LogLine) => boolean,
    timeoutMs?: number,
    since?: number,
  ): Promise<LogLine> => {
    const line = await waitForLog(match, timeoutMs, since)
    if (line.msg === 'member state changed' && adminPortSeen !== 0) await poolSynced()
    return line
  }

  // A corral that never got ready is killed here: the caller has no handle to stop it.
  const ready = await waitForLog(
    l => l.msg === (options.readyMsg ?? 'corral ready'),
    // Generous: with the default workers the CLI forks a process per core, and the
    // machine running the suite is shared.
    options.readyTimeoutMs ?? 30_000,
  ).catch((err: unknown) => {
    proc.kill('SIGKILL')
    throw err
  })
  const listeners = Array.isArray(ready.listeners)
    ? (ready.listeners as { name: string; port: number }[])
    : []
  const adminPort = typeof ready.adminPort === 'number' ? ready.adminPort : 0
  adminPortSeen = adminPort
  return {
    proc,
    configPath,
    ports: Object.fromEntries(listeners.map(l => [l.name, l.port])),
    adminPort,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    logs,
    waitForLog: waitForLogSynced,
    poolSynced,
    writeConfig: text => {
      writeFileSync(configPath, text)
    },
    stop: async (signal = 'SIGTERM', timeoutMs = 10_000) => {
      if (proc.exitCode !== null) return proc.exitCode
      proc.kill(signal)
      const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs)
      const [code] = (await exited) as [number | null]
      clearTimeout(timer)
      return code
    },
    stderr: () => stderr,
  }
}

/** Runs the CLI to completion (check-config, --help); resolves exit code and output. */
export async function runCorralCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, [CLI_PATH, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
  proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
  const [code] = (await once(proc, 'exit', { signal: AbortSignal.timeout(20_000) })) as [
    number | null,
  ]
  return { code, stdout, stderr }
}
