// factsFor: owner selection, when a tcp probe is enough, sidecar authority, live peers only.
import t from 'tap'
import type {
  InstanceRecord,
  Observation,
  SidecarRecord,
} from '../../src/coordination/codec.js'
import { factsFor, type MemberFacts } from '../../src/coordination/facts.js'
import { ownerOf } from '../../src/coordination/rendezvous.js'
import type { SharedSnapshot } from '../../src/coordination/store.js'
import type { Health } from '../../src/pool/types.js'

type Snap = Pick<SharedSnapshot, 'instances' | 'observations' | 'sidecars'>

const instance = (id: string): InstanceRecord => ({
  v: 1,
  id,
  host: 'h',
  pid: 1,
  version: '0.1.0',
  startedAt: 0,
  appliedVersion: 1,
  loads: {},
  routable: [],
  fenced: false,
})
const obs = (health: Health, probe: 'http' | 'tcp' = 'http'): Observation => ({
  v: 1,
  health,
  probe,
  reason: `${probe} ${health}`,
  at: 1,
})
const sidecarRec = (health: Health): SidecarRecord => ({
  v: 1,
  id: 'sc-m',
  health,
  reason: 'self check',
  at: 1,
  ttlMs: 5_000,
})

/** A snapshot with these live instances and observations (instance → member → obs). */
function snap(
  live: string[],
  observations: Record<string, Record<string, Observation>> = {},
  sidecars: Record<string, SidecarRecord> = {},
): Snap {
  return {
    instances: new Map(live.map(id => [id, instance(id)])),
    observations: new Map(
      Object.entries(observations).map(([id, o]) => [id, new Map(Object.entries(o))]),
    ),
    sidecars: new Map(Object.entries(sidecars)),
  }
}

// Members whose owner among lb1/lb2 is known, so rows can say who probes what.
const INSTANCES = ['lb1', 'lb2']
const mine = Array.from({ length: 50 }, (_, i) => `m${i}`).find(
  m => ownerOf(m, INSTANCES) === 'lb1',
)
const theirs = Array.from({ length: 50 }, (_, i) => `m${i}`).find(
  m => ownerOf(m, INSTANCES) === 'lb2',
)
if (mine === undefined || theirs === undefined)
  throw new Error('no member for each owner')

interface Row {
  name: string
  snapshot: Snap
  member: string
  probes: 'shared' | 'all'
  want: MemberFacts
}

void t.test('facts and probe kind per member, seen from lb1', t => {
  const cases: Row[] = [
    {
      name: 'alone: own member, full probe, no peers',
      snapshot: snap([]),
      member: theirs,
      probes: 'shared',
      want: { facts: { peers: [], authorities: [] }, probe: 'http', owner: 'lb1' },
    },
    {
      name: 'self is counted live even if its own heartbeat is missing',
      snapshot: snap(['lb2']),
      member: mine,
      probes: 'shared',
      want: { facts: { peers: [], authorities: [] }, probe: 'http', owner: 'lb1' },
    },
    {
      name: 'owned by self: full probe, peer verdicts listed',
      snapshot: snap(['lb1', 'lb2'], { lb2: { [mine]: obs('down', 'tcp') } }),
      member: mine,
      probes: 'shared',
      want: { facts: { peers: ['down'], authorities: [] }, probe: 'http', owner: 'lb1' },
    },
    {
      name: 'owner has not published yet: probe fully too, no prober authority',
      snapshot: snap(['lb1', 'lb2']),
      member: theirs,
      probes: 'shared',
      want: { facts: { peers: [], authorities: [] }, probe: 'http', owner: 'lb2' },
    },
    {
      name: 'owner published only a tcp verdict: still probe fully',
      snapshot: snap(['lb1', 'lb2'], { lb2: { [theirs]: obs('up', 'tcp') } }),
      member: theirs,
      probes: 'shared',
      want: { facts: { peers: ['up'], authorities: [] }, probe: 'http', owner: 'lb2' },
    },
    {
      name: 'owner published an http verdict: tcp only, owner is the prober authority',
      snapshot: snap(['lb1', 'lb2'], { lb2: { [theirs]: obs('down') } }),
      member: theirs,
      probes: 'shared',
      want: {
        facts: {
          peers: ['down'],
          authorities: [
            { kind: 'prober', source: 'lb2', health: 'down', reason: 'http down' },
          ],
        },
        probe: 'tcp',
        owner: 'lb2',
      },
    },
    {
      name: 'probes "all": every instance probes fully, no prober authority',
      snapshot: snap(['lb1', 'lb2'], { lb2: { [theirs]: obs('down') } }),
      member: theirs,
      probes: 'all',
      want: { facts: { peers: ['down'], authorities: [] }, probe: 'http', owner: 'lb2' },
    },
    {
      name: 'a sidecar is an authority whoever probes',
      snapshot: snap(['lb1'], {}, { [mine]: sidecarRec('down') }),
      member: mine,
      probes: 'shared',
      want: {
        facts: {
          peers: [],
          authorities: [
            { kind: 'sidecar', source: 'sc-m', health: 'down', reason: 'self check' },
          ],
        },
        probe: 'http',
        owner: 'lb1',
      },
    },
    {
      name: 'sidecar first, then the prober',
      snapshot: snap(
        ['lb1', 'lb2'],
        { lb2: { [theirs]: obs('up') } },
        { [theirs]: sidecarRec('up') },
      ),
      member: theirs,
      probes: 'shared',
      want: {
        facts: {
          peers: ['up'],
          authorities: [
            { kind: 'sidecar', source: 'sc-m', health: 'up', reason: 'self check' },
            { kind: 'prober', source: 'lb2', health: 'up', reason: 'http up' },
          ],
        },
        probe: 'tcp',
        owner: 'lb2',
      },
    },
    {
      name: 'observations of instances that are not live are ignored',
      snapshot: snap(['lb1'], { lb9: { [mine]: obs('down') } }),
      member: mine,
      probes: 'shared',
      want: { facts: { peers: [], authorities: [] }, probe: 'http', owner: 'lb1' },
    },
    {
      name: "self's own published observation is not a peer",
      snapshot: snap(['lb1'], { lb1: { [mine]: obs('down') } }),
      member: mine,
      probes: 'shared',
      want: { facts: { peers: [], authorities: [] }, probe: 'http', owner: 'lb1' },
    },
  ]
  t.plan(cases.length)
  for (const c of cases) {
    t.strictSame(
      factsFor(c.snapshot, 'lb1', [c.member], c.probes).get(c.member),
      c.want,
      c.name,
    )
  }
})

void t.test('peers come from live instances only, in id order', t => {
  t.plan(1)
  const s = snap(['lb3', 'lb1', 'lb2'], {
    lb3: { m: obs('down') },
    lb2: { m: obs('up') },
    gone: { m: obs('down') },
  })
  t.strictSame(factsFor(s, 'lb1', ['m'], 'all').get('m')?.facts.peers, ['up', 'down'])
})

void t.test('every member asked for gets an entry', t => {
  t.plan(1)
  const out = factsFor(snap(['lb1', 'lb2']), 'lb1', ['a', 'b', 'c'], 'shared')
  t.strictSame([...out.keys()], ['a', 'b', 'c'])
})
