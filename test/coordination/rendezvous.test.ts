// ownerOf: rendezvous hashing is deterministic, stable when an instance leaves, balanced.
import t from 'tap'
import { ownerOf } from '../../src/coordination/rendezvous.js'

const MEMBERS = Array.from({ length: 1_000 }, (_, i) => `member-${i}`)

void t.test('edge cases of the live list', t => {
  const cases: { name: string; instances: string[]; want: string | undefined }[] = [
    { name: 'no live instance: no owner', instances: [], want: undefined },
    { name: 'one live instance owns everything', instances: ['lb1'], want: 'lb1' },
  ]
  t.plan(cases.length)
  for (const c of cases) t.strictSame(ownerOf('m1', c.instances), c.want, c.name)
})

void t.test('the order of the live list does not change any owner', t => {
  const orders = [
    ['lb1', 'lb2', 'lb3'],
    ['lb3', 'lb1', 'lb2'],
    ['lb2', 'lb3', 'lb1'],
  ]
  t.plan(orders.length)
  const reference = MEMBERS.map(m => ownerOf(m, ['lb1', 'lb2', 'lb3']))
  for (const order of orders) {
    t.strictSame(
      MEMBERS.map(m => ownerOf(m, order)),
      reference,
      order.join(','),
    )
  }
})

void t.test('removing one instance moves only the members it owned', t => {
  const all = ['lb1', 'lb2', 'lb3', 'lb4']
  t.plan(all.length)
  for (const gone of all) {
    const rest = all.filter(i => i !== gone)
    const moved: string[] = []
    const wrongly: string[] = []
    for (const m of MEMBERS) {
      const before = ownerOf(m, all)
      const after = ownerOf(m, rest)
      if (before !== after) {
        if (before === gone) moved.push(m)
        else wrongly.push(m)
      }
    }
    const owned = MEMBERS.filter(m => ownerOf(m, all) === gone)
    t.strictSame({ moved, wrongly }, { moved: owned, wrongly: [] }, `${gone} leaves`)
  }
})

void t.test('adding an instance moves members only to the newcomer', t => {
  t.plan(1)
  const before = ['lb1', 'lb2']
  const after = ['lb1', 'lb2', 'lb3']
  const elsewhere = MEMBERS.filter(m => {
    const a = ownerOf(m, before)
    const b = ownerOf(m, after)
    return a !== b && b !== 'lb3'
  })
  t.strictSame(elsewhere, [], 'no member moves between the old instances')
})

void t.test('1,000 members are balanced across 3 instances within ±15%', t => {
  const instances = ['lb-a', 'lb-b', 'lb-c']
  t.plan(instances.length)
  const counts = new Map<string, number>()
  for (const m of MEMBERS) {
    const o = ownerOf(m, instances) ?? 'none'
    counts.set(o, (counts.get(o) ?? 0) + 1)
  }
  const fair = MEMBERS.length / instances.length
  for (const i of instances) {
    const n = counts.get(i) ?? 0
    t.ok(
      Math.abs(n - fair) <= fair * 0.15,
      `${i} owns ${n} (fair share ${fair.toFixed(0)})`,
    )
  }
})
