import t from 'tap'
import {
  failuresTolerated,
  hasQuorum,
  quorumShortfall,
  quorumSize,
  quorumStatus,
} from '../../src/pool/quorum.js'

interface Case {
  readonly name: string
  readonly size: number
  readonly live: number
  readonly tolerated: number
  readonly shortfall: number
  readonly quorum: boolean
}

const cases: readonly Case[] = [
  {
    name: 'empty pool has no quorum',
    size: 0,
    live: 0,
    tolerated: 0,
    shortfall: 1,
    quorum: false,
  },
  {
    name: '1 of 1 live: no margin',
    size: 1,
    live: 1,
    tolerated: 0,
    shortfall: 0,
    quorum: true,
  },
  {
    name: '0 of 1 live: lost',
    size: 1,
    live: 0,
    tolerated: 0,
    shortfall: 1,
    quorum: false,
  },
  {
    name: '2 of 2 live: no margin',
    size: 2,
    live: 2,
    tolerated: 0,
    shortfall: 0,
    quorum: true,
  },
  {
    name: '1 of 2 live: lost (half is no majority)',
    size: 2,
    live: 1,
    tolerated: 0,
    shortfall: 1,
    quorum: false,
  },
  {
    name: '3 of 3 live: one to spare',
    size: 3,
    live: 3,
    tolerated: 1,
    shortfall: 0,
    quorum: true,
  },
  {
    name: '2 of 3 live: no margin',
    size: 3,
    live: 2,
    tolerated: 0,
    shortfall: 0,
    quorum: true,
  },
  {
    name: '1 of 3 live: lost, 1 short',
    size: 3,
    live: 1,
    tolerated: 0,
    shortfall: 1,
    quorum: false,
  },
  {
    name: '0 of 3 live: 2 short',
    size: 3,
    live: 0,
    tolerated: 0,
    shortfall: 2,
    quorum: false,
  },
  {
    name: '4 of 4 live: one to spare, like 3',
    size: 4,
    live: 4,
    tolerated: 1,
    shortfall: 0,
    quorum: true,
  },
  {
    name: '3 of 4 live: no margin',
    size: 4,
    live: 3,
    tolerated: 0,
    shortfall: 0,
    quorum: true,
  },
  {
    name: '2 of 4 live: lost (half is no majority)',
    size: 4,
    live: 2,
    tolerated: 0,
    shortfall: 1,
    quorum: false,
  },
  {
    name: '5 of 5 live: two to spare',
    size: 5,
    live: 5,
    tolerated: 2,
    shortfall: 0,
    quorum: true,
  },
  {
    name: '4 of 5 live: one to spare',
    size: 5,
    live: 4,
    tolerated: 1,
    shortfall: 0,
    quorum: true,
  },
  {
    name: '3 of 5 live: no margin',
    size: 5,
    live: 3,
    tolerated: 0,
    shortfall: 0,
    quorum: true,
  },
  {
    name: '2 of 5 live: 1 short',
    size: 5,
    live: 2,
    tolerated: 0,
    shortfall: 1,
    quorum: false,
  },
  {
    name: '6 of 6 live: two to spare, like 5',
    size: 6,
    live: 6,
    tolerated: 2,
    shortfall: 0,
    quorum: true,
  },
  {
    name: '3 of 6 live: 1 short',
    size: 6,
    live: 3,
    tolerated: 0,
    shortfall: 1,
    quorum: false,
  },
  {
    name: '7 of 7 live: three to spare',
    size: 7,
    live: 7,
    tolerated: 3,
    shortfall: 0,
    quorum: true,
  },
  {
    name: '5 of 7 live: one to spare',
    size: 7,
    live: 5,
    tolerated: 1,
    shortfall: 0,
    quorum: true,
  },
  {
    name: '4 of 7 live: no margin',
    size: 7,
    live: 4,
    tolerated: 0,
    shortfall: 0,
    quorum: true,
  },
  {
    name: '3 of 7 live: 1 short',
    size: 7,
    live: 3,
    tolerated: 0,
    shortfall: 1,
    quorum: false,
  },
  {
    name: '0 of 7 live: 4 short',
    size: 7,
    live: 0,
    tolerated: 0,
    shortfall: 4,
    quorum: false,
  },
]

void t.test(
  'failuresTolerated, quorumShortfall and hasQuorum per size and live count',
  t => {
    t.plan(cases.length)
    for (const c of cases) {
      t.strictSame(
        {
          tolerated: failuresTolerated(c.size, c.live),
          shortfall: quorumShortfall(c.size, c.live),
          quorum: hasQuorum(c.size, c.live),
        },
        { tolerated: c.tolerated, shortfall: c.shortfall, quorum: c.quorum },
        c.name,
      )
    }
  },
)

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

void t.test(
  'the margin is never negative; a shortfall means exactly that quorum is lost',
  t => {
    let checked = 0
    for (let n = 0; n <= 9; n++) {
      for (let live = 0; live <= n; live++) {
        const tolerated = failuresTolerated(n, live)
        const shortfall = quorumShortfall(n, live)
        if (tolerated < 0) t.fail(`n=${n} live=${live}: negative margin ${tolerated}`)
        if (shortfall > 0 === hasQuorum(n, live))
          t.fail(`n=${n} live=${live}: shortfall and quorum disagree`)
        // live - quorumSize, split into its positive and negative parts.
        if (tolerated - shortfall !== live - quorumSize(n))
          t.fail(`n=${n} live=${live}: margin and shortfall do not add up`)
        checked++
      }
    }
    t.equal(checked, 55, 'every (size, live) pair for sizes 0-9 was checked')
    t.end()
  },
)

void t.test('quorumStatus judges live members, whatever routable says', t => {
  t.strictSame(
    quorumStatus({ size: 3, live: 2, routable: 1 }),
    {
      size: 3,
      live: 2,
      routable: 1,
      quorumSize: 2,
      quorum: true,
      failuresTolerated: 0,
      quorumShortfall: 0,
    },
    'drain + one failure on 3: quorum held',
  )
  t.strictSame(
    quorumStatus({ size: 3, live: 1, routable: 1 }),
    {
      size: 3,
      live: 1,
      routable: 1,
      quorumSize: 2,
      quorum: false,
      failuresTolerated: 0,
      quorumShortfall: 1,
    },
    'two failures on 3: lost, 1 short',
  )
  t.end()
})

void t.test('impossible counts are caller bugs and throw', t => {
  const bad: readonly (readonly [string, number, number])[] = [
    ['negative size', -1, 0],
    ['fractional size', 2.5, 1],
    ['more live than members', 3, 4],
    ['negative live', 3, -1],
    ['NaN live', 3, NaN],
  ]
  t.plan(bad.length * 3 + 2)
  for (const [name, size, live] of bad) {
    t.throws(
      () => failuresTolerated(size, live),
      RangeError,
      `failuresTolerated: ${name}`,
    )
    t.throws(() => quorumShortfall(size, live), RangeError, `quorumShortfall: ${name}`)
    t.throws(() => hasQuorum(size, live), RangeError, `hasQuorum: ${name}`)
  }
  t.throws(() => quorumSize(-2), RangeError, 'quorumSize: negative size')
  t.throws(
    () => quorumStatus({ size: 3, live: 3, routable: 4 }),
    RangeError,
    'quorumStatus: more routable than members',
  )
})
