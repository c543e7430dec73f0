// The pure self-fencing decision: fenced only when this instance alone sees every member
// down while live peers see members up.
import t from 'tap'
import type { Observation } from '../../src/coordination/codec.js'
import { fenceDecision, type OwnView } from '../../src/coordination/fencing.js'
import type { Health } from '../../src/pool/types.js'

const obs = (health: Health): Observation => ({
  v: 1,
  health,
  probe: 'http',
  reason: '',
  at: 0,
})
const own = (...hs: Health[]): OwnView[] =>
  hs.map((health, i) => ({ id: `m${i + 1}`, health }))
const peer = (...hs: Health[]): Map<string, Observation> =>
  new Map(hs.map((h, i) => [`m${i + 1}`, obs(h)]))

const cases: {
  name: string
  own: OwnView[]
  peers: [string, Map<string, Observation>][]
  fenced: boolean
}[] = [
  { name: 'no members: never fenced', own: [], peers: [['lb2', peer()]], fenced: false },
  {
    name: 'a member up here: not fenced',
    own: own('down', 'up'),
    peers: [['lb2', peer('up', 'up')]],
    fenced: false,
  },
  {
    name: 'all down here, the only peer sees them up: fenced',
    own: own('down', 'down'),
    peers: [['lb2', peer('up', 'up')]],
    fenced: true,
  },
  {
    name: 'all down here, the peer sees one up: fenced',
    own: own('down', 'down'),
    peers: [['lb2', peer('down', 'up')]],
    fenced: true,
  },
  {
    name: 'all down here and at a peer: the members are down, not fenced',
    own: own('down', 'down'),
    peers: [
      ['lb2', peer('up', 'up')],
      ['lb3', peer('down', 'down')],
    ],
    fenced: false,
  },
  {
    name: 'all down and no peer: not fenced',
    own: own('down', 'down'),
    peers: [],
    fenced: false,
  },
  {
    name: 'a peer without observations does not count',
    own: own('down'),
    peers: [['lb2', new Map<string, Observation>()]],
    fenced: false,
  },
  {
    name: 'own observations in the map are ignored',
    own: own('down'),
    peers: [['lb1', peer('up')]],
    fenced: false,
  },
]

t.plan(cases.length)
for (const c of cases) {
  const d = fenceDecision(c.own, new Map(c.peers), 'lb1')
  t.equal(d.fenced, c.fenced, `${c.name} (${d.reason})`)
}
