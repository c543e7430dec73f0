// What a workload run gets from the harness: the environment and a cleanup scope.

import type { SystemName, WorkloadId } from './catalog.js'
import type { Pinning, Tools } from './machine.js'

/** How to start corral: `node <entry> lb --config … --log-level warn`. */
export interface CorralLauncher {
  /** The CLI's JS entry file (dist/src/cli/main.js). */
  readonly entry: string
}

/** Fixed for a whole run. */
export interface Env {
  /** Directory holding the compiled harness (dist/bench). */
  readonly benchDir: string
  /** Config files written for proxies. */
  readonly workDir: string
  /** stderr logs of child processes. */
  readonly logDir: string
  readonly tools: Tools
  readonly pin: Pinning
  readonly corral: CorralLauncher | undefined
  /** Where `--profile` makes corral write CPU profiles; undefined without --profile. */
  readonly profileDir: string | undefined
  /** The harness's own soft RLIMIT_NOFILE. */
  readonly openFilesSoft: number
  /** Hard RLIMIT_NOFILE: the most descriptors any child can have. */
  readonly openFilesHard: number
  /**
   * Open-files limit children start with (via prlimit) when the harness's soft limit is
   * lower than the hard one; undefined = children inherit the soft limit.
   */
  readonly raiseNofile: number | undefined
}

/** Something to stop when a workload run ends, however it ends. */
export interface Stoppable {
  readonly name: string
  stop(): Promise<void>
}

/** Collects things to stop and stops them in reverse order. */
export class Scope {
  private readonly things: Stoppable[] = []

  /** Registers a thing to stop; returns it for chaining. */
  add<T extends Stoppable>(thing: T): T {
    this.things.push(thing)
    return thing
  }

  /**
   * Stops everything (last registered first), each bounded to 10 s, never throwing.
   * Returns how long each stop took, in ms, by name.
   */
  async close(): Promise<{ name: string; ms: number }[]> {
    const took: { name: string; ms: number }[] = []
    while (this.things.length > 0) {
      const thing = this.things.pop()
      if (thing === undefined) break
      const t0 = Date.now()
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        thing.stop().catch((err: unknown) => {
          process.stderr.write(`stopping ${thing.name} failed: ${String(err)}\n`)
        }),
        new Promise<void>(resolve => {
          timer = setTimeout(resolve, 10_000)
        }),
      ])
      clearTimeout(timer)
      took.push({ name: thing.name, ms: Date.now() - t0 })
    }
    return took
  }
}

/** One (workload, system, round) run. */
export interface RunContext {
  readonly env: Env
  readonly smoke: boolean
  /** Seconds per throughput measurement (iperf3 -t, wrk -d). */
  readonly durationS: number
  readonly round: number
  readonly workload: WorkloadId
  readonly system: SystemName
  readonly scope: Scope
  /** Aborted when the run's time is up; loops check it. */
  readonly signal: AbortSignal
  /** Keeps a command line for the report (round 1 only). */
  record(argv: readonly string[]): void
  /** Keeps a generated config file's text for the results JSON (round 1 only). */
  attach(file: string, text: string): void
  /** Adds a caveat to the report (deduplicated). */
  note(text: string): void
}
