// Runs wrk and parses its --latency report.

import type { RunContext } from '../context.js'
import { runCommand } from '../procs.js'

/** What one wrk run reported. */
export interface WrkResult {
  readonly requests: number
  readonly rps: number
  readonly p50Ms: number
  readonly p99Ms: number
  /** connect + read + write + timeout socket errors. */
  readonly socketErrors: number
  readonly non2xx: number
}

const UNIT_MS: Readonly<Record<string, number>> = {
  us: 0.001,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
}

/** "868.00us" / "1.02ms" / "2.00s" → milliseconds. */
export function parseWrkTime(text: string): number | undefined {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text.trim())
  if (m?.[1] === undefined || m[2] === undefined) return undefined
  const unit = UNIT_MS[m[2]]
  return unit === undefined ? undefined : Number(m[1]) * unit
}

/** Parses wrk's stdout (run with --latency); throws naming what is missing. */
export function parseWrk(stdout: string): WrkResult {
  const percentile = (p: string) => {
    const m = new RegExp(`^\\s+${p}%\\s+(\\S+)\\s*$`, 'm').exec(stdout)
    const ms = m?.[1] === undefined ? undefined : parseWrkTime(m[1])
    if (ms === undefined)
      throw new Error(`wrk output has no ${p}% latency (run with --latency)`)
    return ms
  }
  const requests = /^\s+(\d+) requests in /m.exec(stdout)?.[1]
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(stdout)?.[1]
  if (requests === undefined || rps === undefined) {
    throw new Error(`unexpected wrk output: ${stdout.slice(0, 300)}`)
  }
  const errors =
    /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout)
  const socketErrors =
    errors === null ? 0 : errors.slice(1, 5).reduce((sum, n) => sum + Number(n), 0)
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0)
  return {
    requests: Number(requests),
    rps: Number(rps),
    p50Ms: percentile('50'),
    p99Ms: percentile('99'),
    socketErrors,
    non2xx,
  }
}

/** One wrk load. */
export interface WrkLoad {
  readonly port: number
  readonly connections: number
  readonly durationS: number
  /** Send `Connection: close`: a new TCP connection per request. */
  readonly close: boolean
  /** Keep the command line for the report. */
  readonly record: boolean
}

/** Runs wrk (one thread, on the load core) and parses the result. */
export async function runWrk(
  ctx: RunContext,
  wrk: string,
  load: WrkLoad,
): Promise<WrkResult> {
  const args = ['-t1', `-c${load.connections}`, `-d${load.durationS}s`, '--latency']
  if (load.close) args.push('-H', 'Connection: close')
  args.push(`http://127.0.0.1:${load.port}/`)
  const result = await runCommand(wrk, args, {
    name: 'wrk',
    cpus: ctx.env.pin.load,
    logDir: ctx.env.logDir,
    timeoutMs: (load.durationS + 20) * 1000,
  })
  if (load.record) ctx.record(result.argv)
  if (result.code !== 0) throw new Error(`wrk exited with ${result.code}`)
  return parseWrk(result.stdout)
}
