// bench/flamegraph.ts: frame geometry, labels, escaping, tiny frames and colours.
import t from 'tap'
import { renderFlameGraph } from '../../bench/flamegraph.js'

/** Each drawn frame: its tooltip, rect attributes and label (if any). */
interface DrawnFrame {
  title: string
  x: number
  y: number
  width: number
  fill: string
  label: string | undefined
}

function frames(svg: string): DrawnFrame[] {
  const re =
    /<g class="frame"><title>([^<]*)<\/title><rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" [^>]*fill="([^"]+)"\/>(?:<text [^>]*>([^<]*)<\/text>)?<\/g>/g
  return [...svg.matchAll(re)].map(m => ({
    title: m[1] ?? '',
    x: Number(m[2]),
    y: Number(m[3]),
    width: Number(m[4]),
    fill: m[5] ?? '',
    label: m[6],
  }))
}

/** The frame whose label starts with `name` and a space. */
function frameNamed(all: DrawnFrame[], name: string): DrawnFrame {
  const found = all.find(f => f.title.startsWith(`${name} `))
  if (found === undefined) throw new Error(`no frame ${name}`)
  return found
}

/** Open and close tags pair up (self-closing ones aside). */
function balanced(svg: string): boolean {
  const stack: string[] = []
  for (const m of svg.matchAll(/<(\/?)([a-z]+)[^>]*?(\/?)>/g)) {
    const [, close, name = '', selfClose] = m
    if (selfClose === '/') continue
    if (close === '/') {
      if (stack.pop() !== name) return false
    } else stack.push(name)
  }
  return stack.length === 0
}

const LONG = 'a-rather-long-function-name [src/x.js:1]'
const FOLDED = new Map([
  ['a [src/a.js:1];b [node:net:2]', 60],
  ['a [src/a.js:1];c [undici/lib/c.js:3]', 29.95],
  ['a [src/a.js:1];bb-tiny [src/t.js:1]', 0.05],
  [LONG, 10],
])

void t.test('frames are as wide as their time, callees above callers', t => {
  // 1020 px wide = 1000 px of frames between the 10 px margins: 10 px per ms.
  const svg = renderFlameGraph(FOLDED, { title: 'conn-close', width: 1020 })
  t.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="1020"'))
  t.ok(svg.trimEnd().endsWith('</svg>'))
  t.ok(balanced(svg), 'tags are balanced')
  const drawn = frames(svg)
  t.strictSame(
    drawn.map(f => f.title),
    [
      'all (100.0 ms, 100.00%)',
      'a [src/a.js:1] (90.0 ms, 90.00%)',
      'b [node:net:2] (60.0 ms, 60.00%)',
      'c [undici/lib/c.js:3] (30.0 ms, 29.95%)',
      `${LONG} (10.0 ms, 10.00%)`,
    ],
    'bb-tiny (0.05%) is left out',
  )
  t.equal((svg.match(/<rect /g) ?? []).length, drawn.length + 6, 'frames + 6 legend keys')
  const [all, a, b, c, long] = ['all', 'a', 'b', 'c', LONG].map(n => frameNamed(drawn, n))
  if (!all || !a || !b || !c || !long) throw new Error('unreachable')
  t.equal(all.width, 1000)
  t.equal(a.width, 900)
  t.equal(b.width, 600)
  t.equal(c.width, 299.5)
  t.equal(long.width, 100)
  t.equal(b.x, a.x, 'first child starts at its parent')
  t.equal(c.x, b.x + 600 + 0.5, 'siblings follow in name order, after the gap of bb-tiny')
  t.equal(long.x, 910)
  t.ok(a.y < all.y && b.y < a.y, 'children are drawn above (smaller y)')
  t.equal(b.y, c.y)
  t.match(svg, /height="(\d+)"/)
  t.equal(
    Number(/height="(\d+)"/.exec(svg)?.[1]),
    all.y + 16 + 10,
    'the image ends under the root frame',
  )
  t.equal(b.label, 'b [node:net:2]', 'labels fit when wide enough')
  t.equal(long.label, 'a-rather-long…', '94 px / 6.6 px = 14 characters')
  t.end()
})

void t.test('names are XML-escaped and labels dropped on narrow frames', t => {
  const svg = renderFlameGraph(
    new Map([
      ['x<&>"y [src/q.js:1]', 99],
      ['n', 1],
    ]),
    { title: 'a & b <c>', width: 1020 },
  )
  t.notMatch(svg, /x<&>/)
  t.match(
    svg,
    /<title>x&lt;&amp;&gt;&quot;y \[src\/q\.js:1\] \(99\.0 ms, 99\.00%\)<\/title>/,
  )
  t.match(svg, /class="title">a &amp; b &lt;c&gt;<\/text>/)
  t.ok(balanced(svg))
  const n = frameNamed(frames(svg), 'n')
  t.equal(n.width, 10)
  t.equal(n.label, undefined, '10 px holds no label')
  t.end()
})

void t.test('colours follow the kind of frame and are deterministic', t => {
  const folded = new Map([
    ['main [src/main.js:1];send [undici/lib/x.js:1]', 40],
    ['main [src/main.js:1];emit [node:events:1];writeBuffer [native]', 40],
    ['(garbage collector)', 20],
  ])
  const svg = renderFlameGraph(folded, { title: 't' })
  t.equal(renderFlameGraph(folded, { title: 't' }), svg, 'same input, same SVG')
  const drawn = frames(svg)
  const hue = (name: string): number => {
    const m = /^hsl\((\d+),(\d+)%/.exec(frameNamed(drawn, name).fill)
    return Number(m?.[1])
  }
  const sat = (name: string): number =>
    Number(/^hsl\(\d+,(\d+)%/.exec(frameNamed(drawn, name).fill)?.[1])
  t.ok(hue('main') >= 18 && hue('main') <= 38, 'corral is orange')
  t.ok(hue('send') >= 265 && hue('send') <= 285, 'node_modules is purple')
  t.ok(hue('emit') >= 110 && hue('emit') <= 130, 'node is green')
  t.ok(hue('writeBuffer') <= 10 || hue('writeBuffer') >= 350, 'syscalls are red')
  t.equal(sat('(garbage collector)'), 0, 'GC is grey')
  t.end()
})

void t.test('an empty profile is a small SVG saying so', t => {
  const svg = renderFlameGraph(new Map(), { title: 'idle' })
  t.equal(frames(svg).length, 0)
  t.match(svg, /no samples/)
  t.ok(balanced(svg))
  t.end()
})
