// Command-line flags of bench/run.ts. Pure: argv in, options or an error message out.

import { parseArgs } from 'node:util'
import {
  BULK_ROUNDS,
  DEFAULT_ROUNDS,
  SMOKE_WORKLOAD_IDS,
  SYSTEM_NAMES,
  WORKLOAD_IDS,
  isSystemName,
  isWorkloadId,
  type SystemName,
  type WorkloadId,
} from './catalog.js'

/** Parsed flags. */
export interface Options {
  /** One quick round with tiny durations, output to a temp dir (CI). */
  readonly smoke: boolean
  /** Rounds for every workload; undefined = each workload's own default (roundsFor). */
  readonly rounds: number | undefined
  /** Seconds per throughput measurement (iperf3 -t, wrk -d). */
  readonly durationS: number
  readonly only: readonly WorkloadId[]
  readonly systems: readonly SystemName[]
  /** Results directory; undefined = a temp dir in smoke mode, else bench/results. */
  readonly out: string | undefined
  /** Run corral under --cpu-prof. */
  readonly profile: boolean
  /** Re-render docs from this results JSON instead of running. */
  readonly reportFrom: string | undefined
  readonly help: boolean
}

/** Usage text for --help. */
export const USAGE = `Usage: node dist/bench/run.js [flags]

  --smoke                 1 round, tiny durations, every code path once (so
                          ${smokeSkipped().join(', ')} only with --only); writes to a temp dir
  --rounds N              rounds of alternating systems (default ${DEFAULT_ROUNDS}; bulk-1 and
                          bulk-8 ${BULK_ROUNDS}; smoke 1)
  --duration S            seconds per throughput measurement (default 10, smoke 1)
  --only a,b              workloads: ${WORKLOAD_IDS.join(', ')}
  --systems a,b           systems: ${SYSTEM_NAMES.join(', ')}
  --out DIR               results directory (default bench/results); with --out the
                          markdown and SVG go there too instead of docs/
  --profile               run corral with --cpu-prof into DIR/profiles
  --report-from FILE      rewrite docs/benchmarks.{md,svg} from a results JSON (no run)
  --help
`

/** Workloads --smoke leaves out unless --only names them. */
function smokeSkipped(): WorkloadId[] {
  return WORKLOAD_IDS.filter(id => !SMOKE_WORKLOAD_IDS.includes(id))
}

/** Parses argv (without node and script); throws an Error with a user-facing message. */
export function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      smoke: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      duration: { type: 'string' },
      only: { type: 'string' },
      systems: { type: 'string' },
      out: { type: 'string' },
      profile: { type: 'boolean', default: false },
      'report-from': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  })
  const smoke = values.smoke
  return {
    smoke,
    rounds:
      values.rounds === undefined && !smoke
        ? undefined
        : positiveInt('--rounds', values.rounds, 1, 100),
    durationS: positiveInt('--duration', values.duration, smoke ? 1 : 10, 600),
    only:
      smoke && values.only === undefined
        ? SMOKE_WORKLOAD_IDS
        : list('--only', values.only, WORKLOAD_IDS, isWorkloadId),
    systems: list('--systems', values.systems, SYSTEM_NAMES, isSystemName),
    out: values.out,
    profile: values.profile,
    reportFrom: values['report-from'],
    help: values.help,
  }
}

function positiveInt(
  flag: string,
  text: string | undefined,
  fallback: number,
  max: number,
) {
  if (text === undefined) return fallback
  const n = Number(text)
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new Error(`${flag}: expected an integer 1-${max}, got "${text}"`)
  }
  return n
}

function list<T extends string>(
  flag: string,
  text: string | undefined,
  all: readonly T[],
  guard: (s: string) => s is T,
): readonly T[] {
  if (text === undefined) return all
  const items = text
    .split(',')
    .map(s => s.trim())
    .filter(s => s !== '')
  const chosen: T[] = []
  for (const item of items) {
    if (!guard(item))
      throw new Error(`${flag}: unknown "${item}" (expected ${all.join(', ')})`)
    chosen.push(item)
  }
  if (chosen.length === 0)
    throw new Error(`${flag}: expected at least one of ${all.join(', ')}`)
  // Run order is the catalogue's, whatever order the flag listed.
  return all.filter(x => chosen.includes(x))
}
