// What a chaos scenario is and what it reports: named checks, each a budget and what was
// measured, plus the helpers most scenarios share (topology + load, windows of attempts).
import type { HealthTiming } from './corral/config.js'
import type { ChaosCert } from './tls-cert.js'
import { LoadGenerator, type Attempt, type LoadOptions } from './load.js'
import { Topology, type TopologyOptions } from './topology.js'

/** One budget and what was measured against it. */
export interface Check {
  readonly name: string
  readonly budget: string
  readonly measured: string
  readonly pass: boolean
}

/** Passed in by the runner. */
export interface ScenarioContext {
  /** A fresh directory for configs and logs. */
  readonly dir: string
  readonly cert: ChaosCert
  readonly toxiproxyUrl: string
  /** Longer phases and more load. */
  readonly soak: boolean
  /** Progress line for the console. */
  log(message: string): void
  /** Attaches data (failed attempts, samples) to the scenario's entry in the JSON report. */
  attach(key: string, data: unknown): void
}

/** A scenario, numbered as in issue #12. */
export interface Scenario {
  readonly number: number
  readonly name: string
  readonly title: string
  run(ctx: ScenarioContext): Promise<Check[]>
}

/** A check from a boolean, with budget and measurement as text. */
export function check(
  name: string,
  budget: string,
  measured: string,
  pass: boolean,
): Check {
  return { name, budget, measured, pass }
}

/** Default load for scenarios: modest, since every connection costs CPU on 2 cores. */
export function loadOptions(
  ctx: ScenarioContext,
  overrides: Partial<LoadOptions> = {},
): LoadOptions {
  return {
    ratePerSec: ctx.soak ? 40 : 20,
    requestTimeoutMs: 4_000,
    maxAttempts: ctx.soak ? 100_000 : 5_000,
    maxDurationMs: ctx.soak ? 600_000 : 90_000,
    ca: ctx.cert.cert,
    ...overrides,
  }
}

/** Starts the standard topology and load on every LB; the caller closes both. */
export async function startWithLoad(
  ctx: ScenarioContext,
  topology: Partial<TopologyOptions> = {},
  load: Partial<LoadOptions> = {},
): Promise<{ topo: Topology; load: LoadGenerator }> {
  const topo = await Topology.start({
    dir: ctx.dir,
    cert: ctx.cert,
    toxiproxyUrl: ctx.toxiproxyUrl,
    ...topology,
  })
  const gen = new LoadGenerator(
    topo.lbs.map(lb => ({
      lb: lb.name,
      httpPort: lb.ports.http ?? 0,
      httpsPort: lb.ports.https ?? 0,
    })),
    loadOptions(ctx, load),
  )
  gen.start()
  return { topo, load: gen }
}

/** Attempts started in [fromMs, toMs) (epoch ms), optionally for one LB. */
export function between(
  attempts: readonly Attempt[],
  fromMs: number,
  toMs: number,
  lb?: string,
): Attempt[] {
  return attempts.filter(
    a => a.atMs >= fromMs && a.atMs < toMs && (lb === undefined || a.lb === lb),
  )
}

/** "3 of 120 failed (ECONNRESET 2, timeout 1)". */
export function describeFailures(attempts: readonly Attempt[]): string {
  const failed = attempts.filter(a => !a.ok)
  const by: Record<string, number> = {}
  for (const a of failed) by[a.cause ?? 'unknown'] = (by[a.cause ?? 'unknown'] ?? 0) + 1
  const detail = Object.entries(by)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')
  return `${failed.length} of ${attempts.length} failed${detail === '' ? '' : ` (${detail})`}`
}

/** Resolves after ms: scenario phases are timed (load runs meanwhile), not synchronisation. */
export function hold(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}

/** Milliseconds with no decimals. */
export function ms(n: number): string {
  return `${Math.round(n)} ms`
}

/**
 * Scheduling slack added to every timing budget: the 10 ms probe tick, the log line, and
 * event-loop delay on a shared 2-core machine (stated in the table, never hidden).
 */
export const SLACK_MS = 1_000

/**
 * Most time from a fault to eviction: `fall` probes, each up to interval × (1 + jitter)
 * apart, the last one failing by its timeout, plus SLACK_MS.
 */
export function evictionBudgetMs(h: HealthTiming): number {
  return h.fall * h.intervalMs * (1 + h.jitter) + h.timeoutMs + SLACK_MS
}

/**
 * Most time from a fault that makes probes time out to eviction. corral never overlaps a
 * member's probes (src/health/checker.ts schedules the next one after the last result),
 * so each failing probe costs interval × (1 + jitter) + timeout: issue #12's
 * "fall × interval + timeout" holds only for probes that fail fast.
 */
export function evictionByTimeoutBudgetMs(h: HealthTiming): number {
  return h.fall * (h.intervalMs * (1 + h.jitter) + h.timeoutMs) + SLACK_MS
}

/** The formula behind evictionByTimeoutBudgetMs, for the table. */
export function evictionByTimeoutFormula(h: HealthTiming): string {
  return `fall×(interval×(1+jitter)+timeout)+${SLACK_MS} = ${ms(evictionByTimeoutBudgetMs(h))}`
}

/** Attempts that had finished before `t` (epoch ms): those a fault at t cannot have hit. */
export function finishedBefore(attempts: readonly Attempt[], t: number): Attempt[] {
  return attempts.filter(a => a.atMs + a.latencyMs < t)
}

/** Attempts started before `t` and still running at t: in flight when a fault began. */
export function inFlightAt(attempts: readonly Attempt[], t: number): Attempt[] {
  return attempts.filter(a => a.atMs < t && a.atMs + a.latencyMs >= t)
}

/** Most time from recovery to readmission: `rise` passing probes (same terms as above). */
export function readmitBudgetMs(h: HealthTiming): number {
  return h.rise * h.intervalMs * (1 + h.jitter) + h.timeoutMs + SLACK_MS
}

/** The formula behind evictionBudgetMs, for the table. */
export function evictionFormula(h: HealthTiming): string {
  return `fall×interval×(1+jitter)+timeout+${SLACK_MS} = ${ms(evictionBudgetMs(h))}`
}

/** The formula behind readmitBudgetMs, for the table. */
export function readmitFormula(h: HealthTiming): string {
  return `rise×interval×(1+jitter)+timeout+${SLACK_MS} = ${ms(readmitBudgetMs(h))}`
}
