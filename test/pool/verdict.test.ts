// effectiveHealth: every rule of the shared verdict, under both policies.
import t from 'tap'
import type { Health } from '../../src/pool/types.js'
import {
  effectiveHealth,
  type Authority,
  type EffectiveHealth,
  type SharedFacts,
  type VerdictPolicy,
} from '../../src/pool/verdict.js'

const UP: EffectiveHealth = { health: 'up', reason: '2 consecutive successes' }
const DOWN: EffectiveHealth = {
  health: 'down',
  reason: '3 consecutive failures: refused',
}

const sidecar = (health: Health): Authority => ({
  kind: 'sidecar',
  source: 'sc-1',
  health,
  reason: 'disk full',
})
const prober = (health: Health): Authority => ({
  kind: 'prober',
  source: 'lb2',
  health,
  reason: 'status 503',
})
const facts = (peers: Health[], authorities: Authority[] = []): SharedFacts => ({
  peers,
  authorities,
})

interface Row {
  name: string
  own: EffectiveHealth
  facts: SharedFacts | undefined
  policy: VerdictPolicy
  want: EffectiveHealth
}

void t.test('each rule of effectiveHealth', t => {
  const cases: Row[] = [
    // Rule 4: no facts (standalone or store unreachable): the own verdict stands alone.
    {
      name: 'no facts, own up, local',
      own: UP,
      facts: undefined,
      policy: 'local',
      want: UP,
    },
    {
      name: 'no facts, own up, quorum',
      own: UP,
      facts: undefined,
      policy: 'quorum',
      want: UP,
    },
    {
      name: 'no facts, own down',
      own: DOWN,
      facts: undefined,
      policy: 'quorum',
      want: DOWN,
    },
    // Rule 1: own down wins over everything.
    {
      name: 'own down while every peer and authority says up (quorum)',
      own: DOWN,
      facts: facts(['up', 'up'], [sidecar('up'), prober('up')]),
      policy: 'quorum',
      want: DOWN,
    },
    {
      name: 'own down while every peer says up (local)',
      own: DOWN,
      facts: facts(['up', 'up']),
      policy: 'local',
      want: DOWN,
    },
    // Rule 2: authorities.
    {
      name: 'sidecar down counts under local',
      own: UP,
      facts: facts([], [sidecar('down')]),
      policy: 'local',
      want: { health: 'down', reason: 'sidecar sc-1 reports it down: disk full' },
    },
    {
      name: 'sidecar down counts under quorum',
      own: UP,
      facts: facts(['up'], [sidecar('down')]),
      policy: 'quorum',
      want: { health: 'down', reason: 'sidecar sc-1 reports it down: disk full' },
    },
    {
      name: 'prober down is ignored under local',
      own: UP,
      facts: facts(['down'], [prober('down')]),
      policy: 'local',
      want: UP,
    },
    {
      name: 'prober down counts under quorum',
      own: UP,
      facts: facts(['up'], [prober('down')]),
      policy: 'quorum',
      want: { health: 'down', reason: 'prober lb2 reports it down: status 503' },
    },
    {
      name: 'authorities up leave own up',
      own: UP,
      facts: facts([], [sidecar('up'), prober('up')]),
      policy: 'quorum',
      want: UP,
    },
    {
      name: 'the first down authority names the reason',
      own: UP,
      facts: facts([], [prober('down'), sidecar('down')]),
      policy: 'quorum',
      want: { health: 'down', reason: 'prober lb2 reports it down: status 503' },
    },
    // Rule 3: quorum majority (this instance counts, and sees it up).
    {
      name: 'local ignores a unanimous down from peers',
      own: UP,
      facts: facts(['down', 'down', 'down', 'down']),
      policy: 'local',
      want: UP,
    },
  ]
  t.plan(cases.length)
  for (const c of cases) {
    t.strictSame(effectiveHealth(c.own, c.facts, c.policy), c.want, c.name)
  }
})

void t.test('quorum needs a strict majority of live instances, this one included', t => {
  // [instances, peers down] → down?
  const cases: { name: string; peers: Health[]; want: EffectiveHealth }[] = [
    { name: '1 instance: alone, own up stands', peers: [], want: UP },
    { name: '2 instances, 1 down: 1 of 2 is no majority', peers: ['down'], want: UP },
    { name: '3 instances, 1 down: no majority', peers: ['down', 'up'], want: UP },
    {
      name: '3 instances, 2 down: majority',
      peers: ['down', 'down'],
      want: { health: 'down', reason: '2 of 3 live instances see it down (quorum)' },
    },
    {
      name: '4 instances, 2 down: a tie is no majority',
      peers: ['down', 'down', 'up'],
      want: UP,
    },
    {
      name: '4 instances, 3 down: majority',
      peers: ['down', 'down', 'down'],
      want: { health: 'down', reason: '3 of 4 live instances see it down (quorum)' },
    },
    {
      name: '5 instances, 2 down: no majority',
      peers: ['down', 'down', 'up', 'up'],
      want: UP,
    },
    {
      name: '5 instances, 3 down: majority',
      peers: ['down', 'up', 'down', 'down'],
      want: { health: 'down', reason: '3 of 5 live instances see it down (quorum)' },
    },
    {
      name: '5 instances, 4 down: majority',
      peers: ['down', 'down', 'down', 'down'],
      want: { health: 'down', reason: '4 of 5 live instances see it down (quorum)' },
    },
  ]
  t.plan(cases.length)
  for (const c of cases) {
    t.strictSame(effectiveHealth(UP, facts(c.peers), 'quorum'), c.want, c.name)
  }
})
