// The JSON a run writes (bench/results/*.json) and the report is rendered from.

import type { SystemName, WorkloadId } from './catalog.js'

/** One value of one metric for one system in one round. */
export interface Sample {
  readonly workload: WorkloadId
  readonly system: SystemName
  /** 1-based round number. */
  readonly round: number
  readonly metric: string
  readonly value: number
}

/** A workload run that did not produce values, and why. */
export interface Failure {
  readonly workload: WorkloadId
  readonly system: SystemName
  readonly round: number
  readonly message: string
}

/** A command line the harness ran, kept so a reader can repeat it by hand. */
export interface CommandRecord {
  readonly workload: WorkloadId
  readonly system: SystemName
  readonly command: string
}

/** A config file the harness generated for a proxy. */
export interface ConfigRecord {
  readonly workload: WorkloadId
  readonly system: SystemName
  /** File name, e.g. haproxy-keep-alive-r1.cfg. */
  readonly file: string
  readonly text: string
}

/** Whether corral's CLI was there to measure. */
export type CorralSource = 'cli' | 'unavailable'

/** Hardware and software the run happened on. */
export interface MachineInfo {
  readonly cpuModel: string
  readonly cores: number
  readonly memoryGiB: number
  readonly kernel: string
  readonly node: string
  readonly haproxy: string | undefined
  readonly wrk: string | undefined
  readonly iperf3: string | undefined
  readonly openFilesLimit: number | undefined
}

/** CPU use by other processes just before one (workload, system, round) run. */
export interface Background {
  readonly workload: WorkloadId
  readonly system: SystemName
  readonly round: number
  /** Percent of all cores busy while the harness was idle. */
  readonly busyPct: number
}

/** Everything one run produced. */
export interface BenchResult {
  readonly version: 1
  readonly startedAt: string
  readonly finishedAt: string
  readonly mode: 'smoke' | 'full'
  readonly rounds: number
  /** Seconds per throughput measurement (iperf3 -t, wrk -d). */
  readonly durationS: number
  /** The arguments `run.js` was started with. */
  readonly argv: readonly string[]
  readonly machine: MachineInfo
  readonly corral: { readonly source: CorralSource; readonly detail: string }
  /** How processes were placed on cores, file limits and other caveats. */
  readonly notes: readonly string[]
  readonly samples: readonly Sample[]
  readonly failures: readonly Failure[]
  readonly background: readonly Background[]
  readonly commands: readonly CommandRecord[]
  /** Generated proxy configs of round 1. */
  readonly configs: readonly ConfigRecord[]
  /** CPU profiles written by --profile, with their summaries and flame graphs. */
  readonly profiles: readonly ProfileReport[]
  /** This run's ratios against the previous report's (issue #19); absent in older files. */
  readonly regressions?: RegressionCheck
}

/** One ratio that got worse by more than the guard allows since the previous report. */
export interface Regression {
  readonly workload: WorkloadId
  readonly metric: string
  readonly system: SystemName
  /** The system the ratio divides by (the workload's first baseline, usually haproxy). */
  readonly baseline: SystemName
  /** system / baseline medians in the previous report and in this run. */
  readonly previous: number
  readonly current: number
  /** How much worse, as a fraction in the metric's better direction: 0.2 = 20% worse. */
  readonly drop: number
}

/** The regression guard's outcome: what was compared and what dropped. */
export type RegressionCheck =
  | {
      readonly status: 'compared'
      /** startedAt of the report compared against. */
      readonly against: string
      /** Largest drop allowed, as a fraction (0.15). */
      readonly threshold: number
      /** Ratios present in both runs. */
      readonly compared: number
      readonly regressions: readonly Regression[]
    }
  | { readonly status: 'skipped'; readonly reason: string }

/** One CPU profile of a --profile run. Paths are relative to the repository. */
export interface ProfileReport {
  readonly profile: string
  /** The flame graph SVG written beside it; undefined if the profile was unreadable. */
  readonly flameGraph: string | undefined
  /** Share of sampled time not idle (after the startup window). */
  readonly busyPct: number | undefined
  /** Where the time went (markdown); undefined for an idle process. */
  readonly markdown: string | undefined
  /** Why the profile could not be summarised. */
  readonly error?: string
}
