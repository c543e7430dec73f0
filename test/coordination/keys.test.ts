// poolKeys: every key and channel derives from the prefix, and prefixes never collide.
import t from 'tap'
import { poolKeys } from '../../src/coordination/keys.js'

void t.test('every key of a prefix', t => {
  const k = poolKeys('corral:dtr')
  const cases: { name: string; got: string; want: string }[] = [
    { name: 'members', got: k.members, want: 'corral:dtr:members' },
    { name: 'version', got: k.version, want: 'corral:dtr:version' },
    { name: 'seeded', got: k.seeded, want: 'corral:dtr:seeded' },
    { name: 'instances', got: k.instances, want: 'corral:dtr:instances' },
    { name: 'instance', got: k.instance('lb1'), want: 'corral:dtr:instance:lb1' },
    { name: 'observations', got: k.observations('lb1'), want: 'corral:dtr:obs:lb1' },
    { name: 'verdicts', got: k.verdicts, want: 'corral:dtr:verdicts' },
    { name: 'sidecars', got: k.sidecars, want: 'corral:dtr:sidecars' },
    { name: 'drains', got: k.drains, want: 'corral:dtr:drains' },
    { name: 'events', got: k.events, want: 'corral:dtr:events' },
  ]
  t.plan(cases.length)
  for (const c of cases) t.strictSame(c.got, c.want, c.name)
})

void t.test('two prefixes share no key', t => {
  t.plan(1)
  const all = (p: string): string[] => {
    const k = poolKeys(p)
    return [
      k.members,
      k.version,
      k.seeded,
      k.instances,
      k.instance('x'),
      k.observations('x'),
      k.verdicts,
      k.sidecars,
      k.drains,
      k.events,
    ]
  }
  const a = new Set(all('a'))
  t.strictSame(
    all('b').filter(key => a.has(key)),
    [],
    'no key of prefix b is a key of prefix a',
  )
})
