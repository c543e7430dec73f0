// Runs the iperf3 client and parses its -J report.

import type { RunContext } from '../context.js'
import { runCommand } from '../procs.js'

/** Receiver-side totals of one iperf3 run. */
export interface IperfResult {
  readonly bitsPerSecond: number
  /** Bytes the receiver got (the proxy relayed them: the per-GB figures divide by it). */
  readonly bytes: number
}

/** Receiver-side throughput and bytes of one iperf3 run, from its -J report. */
export function parseIperfJson(stdout: string): IperfResult {
  const doc: unknown = JSON.parse(stdout)
  const error = field(doc, ['error'])
  if (typeof error === 'string') throw new Error(`iperf3: ${error}`)
  const bps = field(doc, ['end', 'sum_received', 'bits_per_second'])
  const bytes = field(doc, ['end', 'sum_received', 'bytes'])
  if (typeof bps !== 'number' || typeof bytes !== 'number')
    throw new Error('iperf3 -J output has no end.sum_received')
  return { bitsPerSecond: bps, bytes }
}

function field(doc: unknown, path: readonly string[]): unknown {
  let at: unknown = doc
  for (const key of path) {
    if (typeof at !== 'object' || at === null) return undefined
    const value: unknown = Reflect.get(at, key)
    at = value
  }
  return at
}

/** Which way the bytes go: client → server (`up`) or server → client (`down`, -R). */
export type IperfDirection = 'up' | 'down'

/** One iperf3 client run. */
export interface IperfLoad {
  readonly port: number
  readonly streams: number
  /** Default `up`. */
  readonly direction?: IperfDirection
  /** Seconds to send for (-t), or bytes to send (-n, e.g. "256M") for a quick smoke run. */
  readonly amount: { readonly seconds: number } | { readonly bytes: string }
  readonly record: boolean
}

/** Runs `iperf3 -c` (on the load core) and returns the receiver's totals. */
export async function runIperf(
  ctx: RunContext,
  iperf3: string,
  load: IperfLoad,
): Promise<IperfResult> {
  const args = ['-c', '127.0.0.1', '-p', String(load.port)]
  const seconds = 'seconds' in load.amount ? load.amount.seconds : 10
  if ('seconds' in load.amount) args.push('-t', String(load.amount.seconds))
  else args.push('-n', load.amount.bytes)
  args.push('-P', String(load.streams), '-J', '--connect-timeout', '3000')
  // -R: the server sends; end.sum_received is still the receiving end (here the client).
  if (load.direction === 'down') args.push('-R')
  const result = await runCommand(iperf3, args, {
    name: 'iperf3-client',
    cpus: ctx.env.pin.load,
    logDir: ctx.env.logDir,
    timeoutMs: (seconds + 20) * 1000,
  })
  if (load.record) ctx.record(result.argv)
  // iperf3 -J prints a JSON error object and exits 1 on failure: parse it for the message.
  return parseIperfJson(result.stdout)
}
