// bench/profile-summary.ts: cpuprofile validation, time per category/package/function,
// the skipped startup window, folded stacks and the markdown block.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import {
  foldStacks,
  frameLabel,
  frameLocation,
  labelKind,
  packageName,
  parseProfile,
  readProfile,
  renderSummaryMarkdown,
  summarizeProfile,
  type CpuProfile,
} from '../../bench/profile-summary.js'

interface RawNode {
  id: number
  callFrame: {
    functionName: string
    url: string
    lineNumber: number
    columnNumber: number
  }
  children?: number[]
  hitCount?: number
}

function node(
  id: number,
  functionName: string,
  url: string,
  line: number,
  children?: number[],
): RawNode {
  return {
    id,
    callFrame: { functionName, url, lineNumber: line, columnNumber: 0 },
    hitCount: 0,
    ...(children === undefined ? {} : { children }),
  }
}

const SRC = 'file:///app/dist/src'
const NM = 'file:///app/node_modules'

/** A tree with one frame of every kind; line numbers are 0-based as V8 writes them. */
const NODES: RawNode[] = [
  node(1, '(root)', '', -1, [2, 3, 4, 5, 6, 14]),
  node(2, '(program)', '', -1),
  node(3, '(idle)', '', -1),
  node(4, '(garbage collector)', '', -1),
  node(5, 'main', `${SRC}/cli/main.js`, 9, [7, 8, 9]),
  node(6, 'fn', `${NM}/@scope/pkg/index.js`, 0),
  node(7, 'relay', `${SRC}/proxy/relay.js`, 99, [10, 11]),
  node(8, 'hash', `${NM}/prom-client/lib/util.js`, 68, [12]),
  node(9, 'emit', 'node:events', 469, [13]),
  node(10, 'writeBuffer', '', -1),
  node(11, 'RegExp: a;b', '', -1),
  node(12, 'GenericJSToWasmWrapper', '', -1),
  node(13, 'internalConnect', 'node:net', 1037),
  node(14, 'tool', 'file:///app/dist/bench/tool.js', 3),
]

/** [node id, µs since the previous sample]. */
const SAMPLES: [number, number][] = [
  [3, 1000], // idle 1 ms
  [5, 2000], // main: corral 2
  [10, 3000], // writeBuffer: syscall 3
  [3, 4000], // idle 4
  [11, 1000], // regexp, charged to relay: corral 1
  [12, 2500], // wasm wrapper, charged to prom-client: dependencies 2.5
  [13, 5000], // internalConnect: syscall 5
  [4, 1000], // gc 1
  [2, 500], // program 0.5
  [9, 1500], // emit: node 1.5
  [6, 1000], // @scope/pkg: dependencies 1
  [8, 3000], // hash: prom-client 3
  [10, 3000], // writeBuffer: syscall 3
  [14, 500], // tool: other 0.5
]

function raw(samples = SAMPLES, nodes = NODES): Record<string, unknown> {
  const total = samples.reduce((s, [, d]) => s + d, 0)
  return {
    nodes,
    startTime: 1_000_000,
    endTime: 1_000_000 + total,
    samples: samples.map(([id]) => id),
    timeDeltas: samples.map(([, d]) => d),
  }
}

const PROFILE: CpuProfile = parseProfile(raw())

void t.test('time is summed per category, with idle apart', t => {
  const s = summarizeProfile(PROFILE)
  t.equal(s.totalMs, 29)
  t.equal(s.idleMs, 5)
  t.equal(s.busyMs, 24)
  t.equal(s.samples, SAMPLES.length)
  t.equal(s.skippedMs, 0)
  t.strictSame(
    s.categories.map(c => [c.category, c.ms]),
    [
      ['corral', 3],
      ['dependencies', 6.5],
      ['node', 1.5],
      ['syscall', 11],
      ['gc', 1],
      ['program', 0.5],
      ['other', 0.5],
    ],
  )
  t.equal(
    s.categories.reduce((sum, c) => sum + c.pctOfBusy, 0).toFixed(6),
    '100.000000',
    'busy categories add up to 100%',
  )
  t.equal(s.categories.find(c => c.category === 'syscall')?.pctOfBusy, (100 * 11) / 24)
  t.strictSame(
    s.packages.map(p => [p.name, p.ms]),
    [
      ['prom-client', 5.5],
      ['@scope/pkg', 1],
    ],
    'native frames count for the package that called them',
  )
  t.end()
})

void t.test('top functions are leaf frames by self time, idle left out', t => {
  const s = summarizeProfile(PROFILE, { top: 7 })
  t.strictSame(
    s.topFunctions.map(f => [f.name, f.location, f.ms]),
    [
      ['writeBuffer', 'native', 6],
      ['internalConnect', 'node:net:1038', 5],
      ['hash', 'prom-client/lib/util.js:69', 3],
      ['GenericJSToWasmWrapper', 'native', 2.5],
      ['main', 'src/cli/main.js:10', 2],
      ['emit', 'node:events:470', 1.5],
      // Ties (1 ms each) are in name order: '(' sorts before letters.
      ['(garbage collector)', 'v8', 1],
    ],
  )
  t.equal(s.topFunctions[0]?.pctOfBusy, 25)
  t.equal(summarizeProfile(PROFILE).topFunctions.length, 11, 'default top 15, 11 exist')
  t.end()
})

void t.test('skipMs leaves out samples taken before startTime + skipMs', t => {
  // Samples land at 1, 3, 6, 10, 11 … ms.
  const at3 = summarizeProfile(PROFILE, { skipMs: 3 })
  t.equal(at3.idleMs, 4, 'the sample at 1 ms is skipped')
  t.equal(
    at3.categories.find(c => c.category === 'corral')?.ms,
    3,
    'the one at 3 ms stays',
  )
  const s = summarizeProfile(PROFILE, { skipMs: 10.5 })
  t.equal(s.skippedMs, 10.5)
  t.equal(s.samples, SAMPLES.length - 4)
  t.equal(s.idleMs, 0)
  t.equal(s.totalMs, 29 - 10)
  t.strictSame(
    s.categories.map(c => [c.category, c.ms]),
    [
      ['corral', 1],
      ['dependencies', 6.5],
      ['node', 1.5],
      ['syscall', 8],
      ['gc', 1],
      ['program', 0.5],
      ['other', 0.5],
    ],
  )
  const all = summarizeProfile(PROFILE, { skipMs: 60_000 })
  t.equal(all.totalMs, 0)
  t.equal(all.skippedMs, 29, 'capped at the profile length')
  t.equal(
    all.categories.every(c => c.pctOfBusy === 0),
    true,
    'no NaN when nothing is busy',
  )
  t.strictSame(all.topFunctions, [])
  t.end()
})

void t.test('negative time deltas count as zero', t => {
  const p = parseProfile(
    raw([
      [5, 1000],
      [8, -1],
      [5, 2001],
    ]),
  )
  const s = summarizeProfile(p)
  t.equal(s.totalMs.toFixed(6), '3.001000')
  t.equal(s.categories.find(c => c.category === 'dependencies')?.ms, 0)
  t.end()
})

void t.test('folded stacks run root to leaf, without (root) and (idle)', t => {
  t.strictSame(Object.fromEntries(foldStacks(PROFILE)), {
    '(program)': 0.5,
    '(garbage collector)': 1,
    'main [src/cli/main.js:10]': 2,
    'main [src/cli/main.js:10];relay [src/proxy/relay.js:100];writeBuffer [native]': 6,
    'main [src/cli/main.js:10];relay [src/proxy/relay.js:100];RegExp: a,b [native]': 1,
    'main [src/cli/main.js:10];hash [prom-client/lib/util.js:69];GenericJSToWasmWrapper [native]': 2.5,
    'main [src/cli/main.js:10];hash [prom-client/lib/util.js:69]': 3,
    'main [src/cli/main.js:10];emit [node:events:470];internalConnect [node:net:1038]': 5,
    'main [src/cli/main.js:10];emit [node:events:470]': 1.5,
    'fn [@scope/pkg/index.js:1]': 1,
    'tool [file:///app/dist/bench/tool.js:4]': 0.5,
  })
  const late = foldStacks(PROFILE, 25.5)
  t.strictSame(Object.fromEntries(late), {
    'main [src/cli/main.js:10];hash [prom-client/lib/util.js:69]': 3,
    'main [src/cli/main.js:10];relay [src/proxy/relay.js:100];writeBuffer [native]': 3,
    'tool [file:///app/dist/bench/tool.js:4]': 0.5,
  })
  t.end()
})

void t.test('frame labels say where a frame is and map back to its kind', t => {
  const frame = (functionName: string, url: string, lineNumber = 4) => ({
    functionName,
    url,
    lineNumber,
    columnNumber: 0,
  })
  const cases: [ReturnType<typeof frame>, string, string][] = [
    [frame('f', `${SRC}/pool/pool.js`), 'f [src/pool/pool.js:5]', 'corral'],
    [
      frame('', `${NM}/undici/index.js`),
      '(anonymous) [undici/index.js:5]',
      'dependencies',
    ],
    [frame('g', `${NM}/a/node_modules/@s/b/x.js`), 'g [@s/b/x.js:5]', 'dependencies'],
    [frame('emit', 'node:events'), 'emit [node:events:5]', 'node'],
    [frame('internalConnect', 'node:net'), 'internalConnect [node:net:5]', 'syscall'],
    [frame('close', '', -1), 'close [native]', 'syscall'],
    [frame('runMicrotasks', '', -1), 'runMicrotasks [native]', 'native'],
    [frame('w', 'wasm://wasm/00ab', 0), 'w [wasm://wasm/00ab:1]', 'native'],
    [frame('(garbage collector)', '', -1), '(garbage collector)', 'gc'],
    [frame('(program)', '', -1), '(program)', 'program'],
    [frame('x', 'file:///app/bench/x.js'), 'x [file:///app/bench/x.js:5]', 'other'],
  ]
  for (const [f, label, kind] of cases) {
    t.equal(frameLabel(f), label)
    t.equal(labelKind(label), kind, label)
  }
  t.equal(frameLocation(frame('h', `${NM}/undici/lib/a.js`, -1)), 'undici/lib/a.js')
  t.equal(packageName(`${NM}/@scope/pkg/index.js`), '@scope/pkg')
  t.equal(packageName(`${NM}/a/node_modules/b/index.js`), 'b', 'the innermost package')
  t.equal(packageName('node:net'), undefined)
  t.end()
})

void t.test('malformed profiles are rejected with what is wrong', t => {
  const good = raw()
  const without = (key: string): Record<string, unknown> => {
    return Object.fromEntries(Object.entries(good).filter(([k]) => k !== key))
  }
  const cases: [unknown, RegExp][] = [
    [[], /not a JSON object/],
    [without('nodes'), /no nodes array/],
    [without('samples'), /no samples array/],
    [without('timeDeltas'), /no timeDeltas array/],
    [without('startTime'), /no startTime/],
    [
      { ...good, timeDeltas: [1, 2] },
      /samples and timeDeltas differ in length \(14 vs 2\)/,
    ],
    [
      { ...good, samples: [...SAMPLES.map(([id]) => id).slice(1), 99] },
      /samples\[13\].*99/,
    ],
    [{ ...good, timeDeltas: SAMPLES.map(() => 'x') }, /timeDeltas\[0\] is not a number/],
    [{ ...good, nodes: [{ id: 1 }] }, /nodes\[0\]\.callFrame is missing/],
    [{ ...good, nodes: [node(1, 'f', '', -1, [2])] }, /node 1 has unknown child 2/],
    [
      { ...good, nodes: [{ ...node(1, 'f', '', -1), callFrame: { functionName: 'f' } }] },
      /nodes\[0\]\.callFrame\.url is not a string/,
    ],
    [
      { ...good, nodes: [node(1, 'f', '', -1), node(1, 'g', '', -1)] },
      /duplicate node id 1/,
    ],
  ]
  for (const [json, message] of cases) t.throws(() => parseProfile(json), { message })
  t.end()
})

void t.test('readProfile reads a file and names it in errors', t => {
  const dir = t.testdir({
    'good.cpuprofile': JSON.stringify(raw()),
    'bad.cpuprofile': '{"nodes": [',
    'empty.cpuprofile': '{}',
  })
  t.strictSame(readProfile(join(dir, 'good.cpuprofile')), PROFILE)
  t.throws(() => readProfile(join(dir, 'bad.cpuprofile')), {
    message: /bad\.cpuprofile: not JSON/,
  })
  t.throws(() => readProfile(join(dir, 'empty.cpuprofile')), {
    message: /empty\.cpuprofile: cpuprofile: no nodes array/,
  })
  writeFileSync(join(dir, 'array.cpuprofile'), '[1]')
  t.throws(() => readProfile(join(dir, 'array.cpuprofile')), {
    message: /not a JSON object/,
  })
  t.end()
})

void t.test('the markdown block tabulates categories, packages and top functions', t => {
  const md = renderSummaryMarkdown(summarizeProfile(PROFILE, { top: 3, skipMs: 2 }), 'r1')
  const lines = md.split('\n')
  t.equal(lines[0], '#### r1')
  t.match(
    md,
    /Busy 24\.0 ms of 28\.0 ms sampled \(idle 14\.3%, 13 samples, first 2 ms skipped\)\./,
  )
  t.ok(lines.includes('| syscall | 11.0 | 45.8% |'), 'category row')
  t.ok(lines.includes('| ↳ `prom-client` | 5.5 | 22.9% |'), 'package row')
  t.ok(lines.includes('| `writeBuffer` | `native` | 6.0 | 25.0% |'), 'function row')
  t.equal(lines.filter(l => l.startsWith('| `')).length, 3, 'top 3 functions')
  const piped = renderSummaryMarkdown(
    summarizeProfile(parseProfile(raw([[1, 1000]], [node(1, 'a|b', '', -1)]))),
    'x',
  )
  t.match(piped, /\| `a\\\|b` \| `native` \|/, 'a | in a name is escaped')
  t.end()
})
