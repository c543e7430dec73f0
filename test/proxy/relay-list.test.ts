// RelayList: O(1) add/remove by slot, safe removal while sweeping.
import t from 'tap'
import { RelayList } from '../../src/proxy/relay-list.js'
import { sweepPeriodMs } from '../../src/proxy/data-plane.js'

interface Item {
  readonly id: number
  slot: number
}

const item = (id: number): Item => ({ id, slot: -1 })
const ids = (list: RelayList<Item>): number[] =>
  list
    .snapshot()
    .map(i => i.id)
    .sort((a, b) => a - b)

void t.test('add and remove keep every other entry and their slots right', t => {
  const list = new RelayList<Item>()
  const items = [1, 2, 3, 4, 5].map(item)
  for (const i of items) list.add(i)
  list.add(items[0] ?? item(0)) // already listed: ignored
  t.equal(list.size, 5)
  list.remove(items[1] ?? item(0))
  t.same(ids(list), [1, 3, 4, 5])
  t.equal(items[1]?.slot, -1, 'a removed entry has no slot')
  list.remove(items[1] ?? item(0)) // not listed: ignored
  list.remove(item(99)) // never listed: ignored
  t.equal(list.size, 4)
  for (const [slot, i] of list.snapshot().entries())
    t.equal(i.slot, slot, `slot of ${i.id}`)
  list.remove(items[4] ?? item(0)) // the last one
  t.same(ids(list), [1, 3, 4])
  t.end()
})

void t.test('forEachRemovable visits each entry once while they remove themselves', t => {
  const list = new RelayList<Item>()
  for (let i = 0; i < 10; i++) list.add(item(i))
  const seen: number[] = []
  list.forEachRemovable(i => {
    seen.push(i.id)
    if (i.id % 3 === 0) list.remove(i)
  })
  t.same(
    [...seen].sort((a, b) => a - b),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  )
  t.same(ids(list), [1, 2, 4, 5, 7, 8])
  t.end()
})

void t.test(
  'timeouts are swept at an eighth of the shorter one, within 10 ms..1 s',
  t => {
    t.equal(sweepPeriodMs({ connectTimeoutMs: 2_000, idleTimeoutMs: 600_000 }), 250)
    t.equal(sweepPeriodMs({ connectTimeoutMs: 30_000, idleTimeoutMs: 600_000 }), 1_000)
    t.equal(sweepPeriodMs({ connectTimeoutMs: 40, idleTimeoutMs: 50 }), 10)
    t.equal(sweepPeriodMs({ connectTimeoutMs: 2_000, idleTimeoutMs: 250 }), 31)
    t.end()
  },
)
