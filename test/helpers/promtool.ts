// Runs `promtool check metrics` (the Prometheus linter for the text exposition format)
// on a scrape, for tests that hold corral's metrics to Prometheus' naming rules.
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'

/** What one `promtool check metrics` run printed and how it exited. */
export interface PromtoolRun {
  /** Exit code: 0 clean, 3 lint findings, 1 unparsable input; null if killed. */
  readonly code: number | null
  /** stdout and stderr together: one finding per line. */
  readonly output: string
}

/**
 * Findings promtool reports for prom-client's default metrics: three gauges named
 * `*_total`. Their names are fixed upstream and renaming them would break stock Node.js
 * dashboards, so tests allow exactly these lines and nothing else.
 */
export const KNOWN_PROM_CLIENT_FINDINGS: ReadonlySet<string> = new Set(
  [
    'nodejs_active_handles_total',
    'nodejs_active_requests_total',
    'nodejs_active_resources_total',
  ].map(name => `${name} non-counter metrics should not have "_total" suffix`),
)

/** A tap `skip` value: false when promtool runs, else a message saying how to get it. */
export const promtoolMissing: false | string =
  spawnSync('promtool', ['--version']).error === undefined
    ? false
    : 'promtool is not on PATH: install the Debian package "prometheus" to run this check'

/** Runs `promtool check metrics` with `text` on stdin; rejects after timeoutMs. */
export async function promtoolCheckMetrics(
  text: string,
  timeoutMs = 30_000,
): Promise<PromtoolRun> {
  const proc = spawn('promtool', ['check', 'metrics'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    signal: AbortSignal.timeout(timeoutMs),
  })
  let output = ''
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
  const closed = once(proc, 'close')
  proc.stdin.end(text)
  const [code] = (await closed) as [number | null]
  return { code, output }
}

/**
 * The families of an exposition whose names start with `prefix`, each from its `# HELP`
 * line to the line before the next family, as exposition text ending in a newline.
 */
export function familiesWithPrefix(text: string, prefix: string): string {
  const kept: string[] = []
  let keep = false
  for (const line of text.split('\n')) {
    const help = /^# HELP (\S+)/.exec(line)
    if (help !== null) keep = help[1]?.startsWith(prefix) ?? false
    if (keep && line !== '') kept.push(line)
  }
  return kept.length === 0 ? '' : `${kept.join('\n')}\n`
}

/** The lines of a promtool run that are not in `allowed` (blank lines dropped). */
export function unexpectedFindings(
  run: PromtoolRun,
  allowed: ReadonlySet<string> = KNOWN_PROM_CLIENT_FINDINGS,
): string[] {
  return run.output
    .split('\n')
    .map(line => line.trim())
    .filter(line => line !== '' && !allowed.has(line))
}
