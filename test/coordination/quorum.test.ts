// The quorum policy across three instances: a member one instance alone sees down leaves
// only that instance's rotation; once a majority sees it down it leaves every rotation.
// Every instance probes every member here (probes: all), each with its own x-lb header.
import t from 'tap'
import { startRedis } from '../helpers/redis-server.js'
import { holdsFor, startSharedLb, waitForPool } from '../helpers/shared-pool.js'
import { startVotingMember } from '../helpers/voting-member.js'

const health = (lb: string): string =>
  `{ interval: 300ms, timeout: 1s, rise: 1, fall: 2, jitter: 0, headers: { x-lb: ${lb} } }`

void t.test(
  'a member is evicted everywhere once a majority sees it down, not before',
  async t => {
    const redis = await startRedis()
    t.teardown(() => redis.kill())
    const members = await Promise.all(['m1', 'm2', 'm3'].map(id => startVotingMember(id)))
    t.teardown(() => Promise.all(members.map(m => m.close())))
    const [m1] = members
    if (m1 === undefined) throw new Error('members')
    const ids = ['lb1', 'lb2', 'lb3']
    const lbs = []
    for (const id of ids) {
      const lb = await startSharedLb(t.testdir(), members, {
        redisUrl: redis.url,
        instanceId: id,
        coordination: 'policy: quorum, probes: all',
        health: health(id),
      })
      t.teardown(() => lb.stop())
      lbs.push(lb)
    }
    const [lb1, lb2, lb3] = lbs
    if (lb1 === undefined || lb2 === undefined || lb3 === undefined)
      throw new Error('lbs')
    const state =
      (id: string, want: string) => (ms: readonly { id: string; state: string }[]) =>
        ms.some(m => m.id === id && m.state === want)
    for (const lb of lbs) {
      await waitForPool(
        lb,
        (ms, s) =>
          ms.every(m => m.state === 'up') &&
          (s.coordination as { instances: number }).instances === 3,
        15_000,
        'all up, 3 instances',
      )
    }

    m1.failFor.add('lb1')
    await waitForPool(lb1, state('m1', 'down'), 5_000, 'lb1 evicting m1 (own checks)')
    t.pass('the instance that cannot use m1 evicts it')
    // Its peers keep it: 1 of 3 is no majority. Hold for a few resyncs to be sure.
    // Several resyncs (1 s each) long: the peers must keep it all along.
    await Promise.all(
      [lb2, lb3].map(lb => holdsFor(lb, state('m1', 'up'), 3_000, 'peers keep m1')),
    )
    t.pass('one instance alone does not evict it from the others')

    m1.failFor.add('lb2')
    await waitForPool(lb3, state('m1', 'down'), 5_000, 'lb3 evicting m1 by quorum')
    const pool = await waitForPool(
      lb3,
      ms => ms.some(m => m.id === 'm1' && m.ownHealth === 'up'),
      2_000,
      'lb3 still reaches m1 itself',
    )
    t.ok(pool >= 0, 'lb3 evicted m1 by quorum (2 of 3) although its own checks pass')
    // Issue #24: "live" is the verdict the pool acts on, not lb3's own checks.
    await waitForPool(
      lb3,
      (ms, s) =>
        ms.some(m => m.id === 'm1' && m.ownHealth === 'up' && m.health === 'down') &&
        s.live === 2 &&
        s.routable === 2 &&
        s.quorum === true,
      2_000,
      'lb3 counting m1 as not live (effective verdict)',
    )
    t.pass('lb3 counts 2 live members: the shared verdict, not its own check')

    m1.failFor.clear()
    for (const lb of lbs) await waitForPool(lb, state('m1', 'up'), 5_000, 'm1 readmitted')
    t.pass('readmitted everywhere once it passes again')
  },
)

void t.test('policy local: a member stays wherever its own checks pass', async t => {
  const redis = await startRedis()
  t.teardown(() => redis.kill())
  const members = await Promise.all(['m1', 'm2', 'm3'].map(id => startVotingMember(id)))
  t.teardown(() => Promise.all(members.map(m => m.close())))
  const [m1] = members
  if (m1 === undefined) throw new Error('members')
  const lbs = []
  for (const id of ['lb1', 'lb2', 'lb3']) {
    const lb = await startSharedLb(t.testdir(), members, {
      redisUrl: redis.url,
      instanceId: id,
      coordination: 'policy: local',
      health: health(id),
    })
    t.teardown(() => lb.stop())
    lbs.push(lb)
  }
  const [lb1, lb2, lb3] = lbs
  if (lb1 === undefined || lb2 === undefined || lb3 === undefined) throw new Error('lbs')
  for (const lb of lbs) {
    await waitForPool(
      lb,
      (ms, s) =>
        ms.every(m => m.state === 'up') &&
        (s.coordination as { instances: number }).instances === 3,
      15_000,
      'all up',
    )
  }
  m1.failFor.add('lb1')
  m1.failFor.add('lb2')
  for (const lb of [lb1, lb2]) {
    await waitForPool(
      lb,
      ms => ms.some(m => m.id === 'm1' && m.state === 'down'),
      5_000,
      'm1 down where checks fail',
    )
  }
  await holdsFor(
    lb3,
    ms => ms.some(m => m.id === 'm1' && m.state === 'up'),
    3_000,
    'lb3 keeps m1',
  )
  t.pass('lb3 keeps m1 although 2 of 3 see it down')
})
