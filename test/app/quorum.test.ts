// QuorumLog: one log line per quorum or routing-capacity crossing, nothing in between.
// Logging is the behaviour here, so pino writes into memory and the lines are parsed.
import t from 'tap'
import { QuorumLog } from '../../src/app/quorum.js'
import { createLogger } from '../../src/log.js'
import type { PoolCounts } from '../../src/pool/types.js'

/** A QuorumLog whose lines land in `lines` as parsed JSON. */
function recording(): { log: QuorumLog; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = []
  const logger = createLogger('info', {
    write: (msg: string) => {
      const line: unknown = JSON.parse(msg)
      if (typeof line === 'object' && line !== null) lines.push({ ...line })
    },
  })
  return { log: new QuorumLog(logger), lines }
}

const c = (live: number, routable: number, size = 3): PoolCounts => ({
  size,
  live,
  routable,
})

void t.test('the first counts are the starting point: nothing is logged', t => {
  const { log, lines } = recording()
  log.update(c(0, 0))
  t.strictSame(lines, [])
  t.end()
})

void t.test('drain, failure, second failure, recovery on 3 members', t => {
  const { log, lines } = recording()
  const steps: readonly [string, PoolCounts][] = [
    ['all up', c(3, 3)],
    ['r3 drained', c(3, 2)],
    ['r2 fails', c(2, 1)],
    ['drained r3 fails', c(1, 1)],
    ['r3 passes again', c(2, 1)],
    ['r2 passes again', c(3, 2)],
  ]
  const seen: string[][] = []
  for (const [, counts] of steps) {
    const before = lines.length
    log.update(counts)
    seen.push(lines.slice(before).map(l => `${String(l.level)} ${String(l.msg)}`))
  }
  t.strictSame(Object.fromEntries(steps.map(([name], i) => [name, seen[i]])), {
    'all up': [],
    'r3 drained': [],
    'r2 fails': ['40 pool routing capacity low'],
    'drained r3 fails': ['40 pool quorum lost'],
    'r3 passes again': ['30 pool quorum held'],
    'r2 passes again': ['30 pool routing capacity restored'],
  })
  t.match(
    lines.find(l => l.msg === 'pool quorum lost'),
    {
      size: 3,
      live: 1,
      routable: 1,
      quorumSize: 2,
      failuresTolerated: 0,
      quorumShortfall: 1,
    },
  )
  t.end()
})

void t.test('an empty pool is not low on capacity, but has no quorum', t => {
  const { log, lines } = recording()
  log.update(c(1, 1, 1))
  log.update(c(0, 0, 0))
  t.strictSame(
    lines.map(l => l.msg),
    ['pool quorum lost'],
  )
  t.end()
})
