import t from 'tap'
import { failuresTolerated, hasQuorum } from '../../src/metrics/quorum.js'

interface Case {
  readonly name: string
  readonly size: number
  readonly up: number
  readonly tolerated: number
  readonly quorum: boolean
}

const cases: readonly Case[] = [
  { name: 'empty pool has no quorum', size: 0, up: 0, tolerated: -1, quorum: false },
  { name: '1 of 1 up: no margin', size: 1, up: 1, tolerated: 0, quorum: true },
  { name: '0 of 1 up: lost', size: 1, up: 0, tolerated: -1, quorum: false },
  { name: '2 of 2 up: no margin', size: 2, up: 2, tolerated: 0, quorum: true },
  {
    name: '1 of 2 up: lost (half is no majority)',
    size: 2,
    up: 1,
    tolerated: -1,
    quorum: false,
  },
  { name: '3 of 3 up: one to spare', size: 3, up: 3, tolerated: 1, quorum: true },
  { name: '2 of 3 up: no margin', size: 3, up: 2, tolerated: 0, quorum: true },
  { name: '1 of 3 up: lost', size: 3, up: 1, tolerated: -1, quorum: false },
  { name: '0 of 3 up: clamped at -1', size: 3, up: 0, tolerated: -1, quorum: false },
  { name: '4 of 4 up: one to spare, like 3', size: 4, up: 4, tolerated: 1, quorum: true },
  { name: '3 of 4 up: no margin', size: 4, up: 3, tolerated: 0, quorum: true },
  {
    name: '2 of 4 up: lost (half is no majority)',
    size: 4,
    up: 2,
    tolerated: -1,
    quorum: false,
  },
  { name: '5 of 5 up: two to spare', size: 5, up: 5, tolerated: 2, quorum: true },
  { name: '4 of 5 up: one to spare', size: 5, up: 4, tolerated: 1, quorum: true },
  { name: '3 of 5 up: no margin', size: 5, up: 3, tolerated: 0, quorum: true },
  { name: '2 of 5 up: lost', size: 5, up: 2, tolerated: -1, quorum: false },
  { name: '6 of 6 up: two to spare, like 5', size: 6, up: 6, tolerated: 2, quorum: true },
  { name: '3 of 6 up: lost', size: 6, up: 3, tolerated: -1, quorum: false },
  { name: '7 of 7 up: three to spare', size: 7, up: 7, tolerated: 3, quorum: true },
  { name: '5 of 7 up: one to spare', size: 7, up: 5, tolerated: 1, quorum: true },
  { name: '4 of 7 up: no margin', size: 7, up: 4, tolerated: 0, quorum: true },
  { name: '3 of 7 up: lost', size: 7, up: 3, tolerated: -1, quorum: false },
  { name: '0 of 7 up: clamped at -1', size: 7, up: 0, tolerated: -1, quorum: false },
]

void t.test('failuresTolerated and hasQuorum per pool size and up count', t => {
  t.plan(cases.length)
  for (const c of cases) {
    t.strictSame(
      { tolerated: failuresTolerated(c.size, c.up), quorum: hasQuorum(c.size, c.up) },
      { tolerated: c.tolerated, quorum: c.quorum },
      c.name,
    )
  }
})

void t.test(
  'an even pool tolerates no more failures than the odd pool one smaller',
  t => {
    const sizes = [2, 4, 6, 8, 10]
    t.plan(sizes.length)
    for (const n of sizes) {
      t.equal(
        failuresTolerated(n, n),
        failuresTolerated(n - 1, n - 1),
        `${n} vs ${n - 1}`,
      )
    }
  },
)

void t.test('a margin of -1 means exactly that quorum is lost', t => {
  let checked = 0
  for (let n = 0; n <= 9; n++) {
    for (let up = 0; up <= n; up++) {
      const lost = failuresTolerated(n, up) === -1
      if (lost === hasQuorum(n, up)) t.fail(`n=${n} up=${up}: margin and quorum disagree`)
      checked++
    }
  }
  t.equal(checked, 55, 'every (size, up) pair for sizes 0-9 was checked')
  t.end()
})

void t.test('impossible counts are caller bugs and throw', t => {
  const bad: readonly (readonly [string, number, number])[] = [
    ['negative size', -1, 0],
    ['fractional size', 2.5, 1],
    ['more up than members', 3, 4],
    ['negative up', 3, -1],
    ['NaN up', 3, NaN],
  ]
  t.plan(bad.length * 2)
  for (const [name, size, up] of bad) {
    t.throws(() => failuresTolerated(size, up), RangeError, `failuresTolerated: ${name}`)
    t.throws(() => hasQuorum(size, up), RangeError, `hasQuorum: ${name}`)
  }
})
