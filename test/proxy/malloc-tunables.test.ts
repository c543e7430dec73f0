// The glibc malloc settings data-path workers start with: merged into an operator's
// GLIBC_TUNABLES without overriding what the operator chose.
import t from 'tap'
import {
  DATA_PATH_MALLOC_TUNABLES,
  hasDataPathTunables,
  mergeGlibcTunables,
} from '../../src/proxy/malloc-tunables.js'

const DEFAULTS =
  'glibc.malloc.trim_threshold=1073741824:glibc.malloc.top_pad=268435456:' +
  'glibc.malloc.mmap_threshold=4194304'

void t.test('the operator value wins per tunable; the rest is appended', t => {
  const cases: [name: string, operator: string | undefined, merged: string][] = [
    ['unset', undefined, DEFAULTS],
    ['empty', '', DEFAULTS],
    [
      'other tunables are kept in front',
      'glibc.malloc.arena_max=2',
      `glibc.malloc.arena_max=2:${DEFAULTS}`,
    ],
    [
      'an operator trim threshold replaces ours, in its place',
      'glibc.malloc.perturb=1:glibc.malloc.trim_threshold=131072',
      'glibc.malloc.perturb=1:glibc.malloc.trim_threshold=131072:' +
        'glibc.malloc.top_pad=268435456:glibc.malloc.mmap_threshold=4194304',
    ],
    [
      'all three set by the operator: unchanged',
      'glibc.malloc.mmap_threshold=1:glibc.malloc.top_pad=2:glibc.malloc.trim_threshold=3',
      'glibc.malloc.mmap_threshold=1:glibc.malloc.top_pad=2:glibc.malloc.trim_threshold=3',
    ],
    [
      'empty entries (a stray colon) are dropped',
      'glibc.malloc.arena_max=2::',
      `glibc.malloc.arena_max=2:${DEFAULTS}`,
    ],
  ]
  t.plan(cases.length)
  for (const [name, operator, merged] of cases)
    t.equal(mergeGlibcTunables(operator), merged, name)
})

void t.test('a start with every data-path tunable set is recognised', t => {
  t.equal(hasDataPathTunables(undefined), false)
  t.equal(hasDataPathTunables('glibc.malloc.trim_threshold=1'), false)
  t.equal(hasDataPathTunables(DEFAULTS), true)
  t.equal(hasDataPathTunables(`glibc.malloc.arena_max=2:${DEFAULTS}`), true)
  t.equal(DATA_PATH_MALLOC_TUNABLES.size, 3)
  t.end()
})
