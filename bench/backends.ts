// Starts the members proxies relay to: backend-server.js (HTTP, hold, tag servers) and
// iperf3 -s, pinned to the load core.

import { join } from 'node:path'
import type { ServerSpec } from './backend-server.js'
import type { RunContext } from './context.js'
import { freePort } from './ports.js'
import { Child } from './procs.js'

/** Request and held-connection counters, one entry per server in start order. */
export interface BackendStats {
  readonly requests: readonly number[]
  readonly held: readonly number[]
}

function isNumberArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.every(n => typeof n === 'number')
}

/** A running backend-server child. */
export class Backends {
  private constructor(
    private readonly child: Child,
    /** Ports in the order the servers were given. */
    readonly ports: readonly number[],
  ) {}

  /** Starts one child hosting `servers`; registered with the run's scope. */
  static async start(ctx: RunContext, servers: readonly ServerSpec[]): Promise<Backends> {
    const child = ctx.scope.add(
      new Child(
        process.execPath,
        [join(ctx.env.benchDir, 'backend-server.js'), JSON.stringify(servers)],
        {
          name: 'backends',
          cpus: ctx.env.pin.load,
          logDir: ctx.env.logDir,
          nofile: ctx.env.raiseNofile,
        },
      ),
    )
    ctx.record(child.argv)
    const ports = await child.waitForLine(
      line => {
        const msg = parseJson(line)
        return isRecord(msg) && msg.ready === true && isNumberArray(msg.ports)
          ? msg.ports
          : undefined
      },
      10_000,
      'backend servers to listen',
    )
    return new Backends(child, ports)
  }

  /** The port of the server at `index`. */
  port(index: number): number {
    const port = this.ports[index]
    if (port === undefined) throw new Error(`no backend server #${index}`)
    return port
  }

  /** Current counters. */
  async stats(): Promise<BackendStats> {
    this.child.send('stats')
    return this.child.waitForLine(
      line => {
        const msg = parseJson(line)
        if (!isRecord(msg) || !isRecord(msg.stats)) return undefined
        const { requests, held } = msg.stats
        return isNumberArray(requests) && isNumberArray(held)
          ? { requests, held }
          : undefined
      },
      5_000,
      'backend stats',
    )
  }

  /** Stops the child. */
  async stop(): Promise<void> {
    await this.child.stop()
  }
}

/** An `iperf3 -s` on a free port. */
export interface IperfServer {
  readonly port: number
  stop(): Promise<void>
}

/** Starts iperf3 -s and waits for "Server listening". */
export async function startIperfServer(
  ctx: RunContext,
  iperf3: string,
): Promise<IperfServer> {
  const port = await freePort()
  const child = ctx.scope.add(
    new Child(iperf3, ['-s', '-p', String(port), '--forceflush'], {
      name: 'iperf3-server',
      cpus: ctx.env.pin.load,
      logDir: ctx.env.logDir,
    }),
  )
  ctx.record(child.argv)
  await child.waitForLine(
    line => (line.includes('Server listening') ? true : undefined),
    10_000,
    'iperf3 -s to listen',
  )
  return { port, stop: () => child.stop() }
}

function parseJson(line: string): unknown {
  try {
    return JSON.parse(line)
  } catch {
    // Not a protocol line (a child may print other things): ignore it.
    return undefined
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
