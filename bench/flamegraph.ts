// Renders folded stacks (bench/profile-summary.ts foldStacks) as a static SVG flame
// graph: the whole profile at the bottom, callees stacked above their callers, each
// frame as wide as its share of the time. Hand-written SVG, no dependencies. Pure.

import { formatNumber } from './format.js'
import { labelKind, type FrameKind } from './profile-summary.js'
import { escapeXml } from './svg.js'

export interface FlameGraphOptions {
  title: string
  /** Image width in px. Default 1200. */
  width?: number
  /** Frames narrower than this fraction of the total are left out. Default 0.001. */
  minFraction?: number
}

const FRAME_H = 16
const PAD_X = 10
const TOP = 50
const BOTTOM = 10
const FONT_SIZE = 11
/** Advance of one monospace character at FONT_SIZE, in px. */
const CHAR_W = FONT_SIZE * 0.6
const ROOT_LABEL = 'all'

/** Hue, saturation and lightness range per kind of frame; grey for V8's own. */
const PALETTE: Record<FrameKind, { h: number; s: number; l: number }> = {
  corral: { h: 28, s: 90, l: 60 },
  dependencies: { h: 275, s: 55, l: 70 },
  node: { h: 120, s: 45, l: 60 },
  syscall: { h: 0, s: 75, l: 62 },
  native: { h: 185, s: 50, l: 62 },
  other: { h: 55, s: 70, l: 60 },
  gc: { h: 0, s: 0, l: 70 },
  program: { h: 0, s: 0, l: 78 },
  idle: { h: 0, s: 0, l: 88 },
}

const LEGEND: readonly [FrameKind, string][] = [
  ['corral', 'corral'],
  ['dependencies', 'node_modules'],
  ['node', 'Node internals'],
  ['syscall', 'syscall bindings'],
  ['native', 'other native'],
  ['gc', 'GC / program'],
]

interface Frame {
  name: string
  ms: number
  children: Map<string, Frame>
}

/** One drawn rectangle. */
interface Placed {
  name: string
  ms: number
  depth: number
  x: number
  w: number
}

/** The SVG of a flame graph of `folded` ("a;b;c" → ms). */
export function renderFlameGraph(
  folded: ReadonlyMap<string, number>,
  options: FlameGraphOptions,
): string {
  const width = options.width ?? 1200
  const minFraction = options.minFraction ?? 0.001
  const root = buildTree(folded)
  const total = root.ms
  const scale = total > 0 ? (width - 2 * PAD_X) / total : 0
  const placed: Placed[] = []
  const place = (f: Frame, depth: number, x: number): void => {
    placed.push({ name: f.name, ms: f.ms, depth, x, w: f.ms * scale })
    let cx = x
    for (const child of [...f.children.values()].sort(byName)) {
      if (child.ms >= total * minFraction) place(child, depth + 1, cx)
      cx += child.ms * scale
    }
  }
  if (total > 0) place(root, 0, PAD_X)
  const maxDepth = placed.reduce((m, p) => Math.max(m, p.depth), 0)
  const height = TOP + (maxDepth + 1) * FRAME_H + BOTTOM
  const body = placed.map(p => frame(p, height, total))
  if (placed.length === 0) body.push(text(PAD_X, TOP + 12, 'no samples', 'note'))
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="monospace" font-size="${FONT_SIZE}" style="background-color:#fff">`,
    '<style>.title{font-family:sans-serif;font-size:15px;font-weight:bold}.note{fill:#757575;font-style:italic}.frame:hover rect{stroke:#000;stroke-width:0.5}</style>',
    text(PAD_X, 20, options.title, 'title'),
    legend(PAD_X, 40, Math.min(150, (width - 2 * PAD_X) / LEGEND.length)),
    ...body,
    '</svg>',
    '',
  ].join('\n')
}

function buildTree(folded: ReadonlyMap<string, number>): Frame {
  const root: Frame = { name: ROOT_LABEL, ms: 0, children: new Map() }
  for (const [stack, ms] of folded) {
    if (!(ms > 0)) continue
    root.ms += ms
    let node = root
    for (const name of stack.split(';')) {
      let child = node.children.get(name)
      if (child === undefined) {
        child = { name, ms: 0, children: new Map() }
        node.children.set(name, child)
      }
      child.ms += ms
      node = child
    }
  }
  return root
}

function byName(a: Frame, b: Frame): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0
}

function frame(p: Placed, height: number, total: number): string {
  const y = height - BOTTOM - (p.depth + 1) * FRAME_H
  const pct = total > 0 ? (100 * p.ms) / total : 0
  const tip = `${p.name} (${formatNumber(p.ms, 1)} ms, ${pct.toFixed(2)}%)`
  const label = fit(p.name, p.w - 6)
  const parts = [
    `<g class="frame"><title>${escapeXml(tip)}</title>`,
    `<rect x="${p.x.toFixed(1)}" y="${y}" width="${p.w.toFixed(1)}" height="${FRAME_H - 1}" rx="2" fill="${color(p.name)}"/>`,
  ]
  if (label !== '') parts.push(text(p.x + 3, y + FRAME_H - 4, label, ''))
  parts.push('</g>')
  return parts.join('')
}

/** `s` cut to fit `px`, ending in … when cut; '' when fewer than 3 characters fit. */
function fit(s: string, px: number): string {
  const chars = Math.floor(px / CHAR_W)
  if (chars < 3) return ''
  return s.length <= chars ? s : s.slice(0, chars - 1) + '…'
}

/** A colour from the frame's kind, its shade varied by a hash of its name. */
function color(name: string): string {
  const kind: FrameKind = name === ROOT_LABEL ? 'program' : labelKind(name)
  const { h, s, l } = PALETTE[kind]
  const v = hash(name)
  const hue = s === 0 ? h : (h + (v % 21) - 10 + 360) % 360
  const light = l + (((v >>> 8) % 11) - 5)
  return `hsl(${hue},${s}%,${light}%)`
}

/** FNV-1a, 32 bits. */
function hash(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}

function legend(x: number, y: number, step: number): string {
  return LEGEND.map(([kind, label], i) => {
    const ix = x + i * step
    const { h, s, l } = PALETTE[kind]
    return (
      `<rect class="key" x="${ix.toFixed(1)}" y="${y - 10}" width="12" height="12" fill="hsl(${h},${s}%,${l}%)"/>` +
      text(ix + 16, y, label, '')
    )
  }).join('')
}

function text(x: number, y: number, content: string, cls: string): string {
  const attr = cls === '' ? '' : ` class="${cls}"`
  return `<text x="${x.toFixed(1)}" y="${y}"${attr}>${escapeXml(content)}</text>`
}
