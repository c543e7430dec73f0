// Reads a V8 .cpuprofile (written by `node --cpu-prof`, see `run.js --profile`) and says
// where corral's CPU time went: per category (corral, dependencies, Node internals,
// syscalls, GC, …), per dependency package and per leaf function, plus the folded
// stacks that bench/flamegraph.ts draws. Pure apart from readProfile().

import { readFileSync } from 'node:fs'
import { formatNumber } from './format.js'

export interface CallFrame {
  functionName: string
  url: string
  /** 0-based, -1 when unknown (natives). */
  lineNumber: number
  columnNumber: number
}

export interface ProfileNode {
  id: number
  callFrame: CallFrame
  children: readonly number[]
}

/** A validated cpuprofile. Times are in microseconds, as V8 writes them. */
export interface CpuProfile {
  nodes: readonly ProfileNode[]
  startTime: number
  endTime: number
  /** The node id of the leaf frame of each sample. */
  samples: readonly number[]
  /** timeDeltas[i] is the time between sample i - 1 (or startTime) and sample i. */
  timeDeltas: readonly number[]
}

/** Where a sample's time went, judged by its leaf frame. */
export type Category =
  'corral' | 'dependencies' | 'node' | 'syscall' | 'gc' | 'program' | 'other' | 'idle'

/** The busy categories in the order they are reported (idle is reported apart). */
export const BUSY_CATEGORIES = [
  'corral',
  'dependencies',
  'node',
  'syscall',
  'gc',
  'program',
  'other',
] as const satisfies readonly Category[]

export type BusyCategory = (typeof BUSY_CATEGORIES)[number]

/**
 * Leaf frames that are Node bindings entering the kernel, by function name → the url
 * the profiler gives them. Native bindings have an empty url. A few are JS functions
 * in node: modules whose self time is the binding call they make, because V8 gives
 * that binding no frame of its own (internalConnect calls TCPWrap#connect → connect(2)).
 * accept(2) has no entry: libuv accepts before calling onconnection, so it shows up as
 * (program). Names are shared by net and fs bindings (writeBuffer, close); both enter
 * the kernel, so both count.
 */
const SYSCALL_FRAMES: ReadonlyMap<string, string> = new Map([
  // net / stream_wrap: send and receive
  ['writeBuffer', ''],
  ['writev', ''],
  ['writeUtf8String', ''],
  ['writeLatin1String', ''],
  ['writeAsciiString', ''],
  ['writeUcs2String', ''],
  ['readStart', ''],
  ['readStop', ''],
  ['shutdown', ''],
  ['close', ''],
  // net / tcp_wrap: sockets
  ['connect', ''],
  ['connect6', ''],
  ['bind', ''],
  ['bind6', ''],
  ['listen', ''],
  ['getpeername', ''],
  ['getsockname', ''],
  ['setNoDelay', ''],
  ['setKeepAlive', ''],
  ['internalConnect', 'node:net'],
  // fs
  ['open', ''],
  ['openFileHandle', ''],
  ['read', ''],
  ['readFileUtf8', ''],
  ['writeString', ''],
  ['fstat', ''],
  ['stat', ''],
  ['lstat', ''],
  ['realpath', ''],
  ['readdir', ''],
])

const SPECIAL_FRAMES: ReadonlyMap<string, Category> = new Map([
  ['(idle)', 'idle'],
  ['(garbage collector)', 'gc'],
  ['(program)', 'program'],
  ['(root)', 'program'],
])

export interface CategoryTime {
  category: BusyCategory
  ms: number
  pctOfBusy: number
}

export interface PackageTime {
  /** "undici", "@scope/name". */
  name: string
  ms: number
  pctOfBusy: number
}

export interface FunctionTime {
  name: string
  /** See frameLocation(): "src/proxy/relay.js:101", "undici/lib/x.js:5", "node:net:1038". */
  location: string
  ms: number
  pctOfBusy: number
}

export interface ProfileSummary {
  /** Sampled time after the skipped window, idle included. */
  totalMs: number
  idleMs: number
  busyMs: number
  /** The leading window left out (what was asked for, capped at the profile's length). */
  skippedMs: number
  /** Number of samples counted. */
  samples: number
  /** Every busy category, in BUSY_CATEGORIES order, zeros included. */
  categories: CategoryTime[]
  /** Time of the 'dependencies' category split by package, largest first. */
  packages: PackageTime[]
  /** Leaf functions by self time, largest first; (idle) excluded. */
  topFunctions: FunctionTime[]
}

export interface SummaryOptions {
  /** Ignore samples taken in the first skipMs of the profile (startup). Default 0. */
  skipMs?: number
  /** How many top functions to list. Default 15. */
  top?: number
}

// ---------------------------------------------------------------------------
// Parsing

/** Reads and validates a .cpuprofile file. */
export function readProfile(path: string): CpuProfile {
  const text = readFileSync(path, 'utf8')
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new Error(
      `${path}: not JSON: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    )
  }
  try {
    return parseProfile(json)
  } catch (err) {
    throw new Error(`${path}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    })
  }
}

/** Validates parsed JSON as a cpuprofile; throws an Error naming the first problem. */
export function parseProfile(json: unknown): CpuProfile {
  if (!isRecord(json)) throw new Error('cpuprofile: not a JSON object')
  const { nodes, samples, timeDeltas, startTime, endTime } = json
  if (!Array.isArray(nodes)) throw new Error('cpuprofile: no nodes array')
  if (!Array.isArray(samples)) throw new Error('cpuprofile: no samples array')
  if (!Array.isArray(timeDeltas)) throw new Error('cpuprofile: no timeDeltas array')
  if (typeof startTime !== 'number') throw new Error('cpuprofile: no startTime number')
  if (typeof endTime !== 'number') throw new Error('cpuprofile: no endTime number')
  if (samples.length !== timeDeltas.length) {
    throw new Error(
      `cpuprofile: samples and timeDeltas differ in length ` +
        `(${samples.length} vs ${timeDeltas.length})`,
    )
  }
  const parsed = nodes.map((n: unknown, i) => parseNode(n, `nodes[${i}]`))
  const ids = new Set<number>()
  for (const n of parsed) {
    if (ids.has(n.id)) throw new Error(`cpuprofile: duplicate node id ${n.id}`)
    ids.add(n.id)
  }
  for (const n of parsed) {
    for (const c of n.children) {
      if (!ids.has(c)) throw new Error(`cpuprofile: node ${n.id} has unknown child ${c}`)
    }
  }
  const sampleIds = numbers(samples, 'samples')
  for (const [i, id] of sampleIds.entries()) {
    if (!ids.has(id)) throw new Error(`cpuprofile: samples[${i}] is unknown node ${id}`)
  }
  return {
    nodes: parsed,
    startTime,
    endTime,
    samples: sampleIds,
    timeDeltas: numbers(timeDeltas, 'timeDeltas'),
  }
}

function parseNode(n: unknown, where: string): ProfileNode {
  if (!isRecord(n)) throw new Error(`cpuprofile: ${where} is not an object`)
  const { id, callFrame, children } = n
  if (typeof id !== 'number') throw new Error(`cpuprofile: ${where}.id is not a number`)
  if (!isRecord(callFrame)) throw new Error(`cpuprofile: ${where}.callFrame is missing`)
  const { functionName, url, lineNumber, columnNumber } = callFrame
  if (typeof functionName !== 'string') {
    throw new Error(`cpuprofile: ${where}.callFrame.functionName is not a string`)
  }
  if (typeof url !== 'string') {
    throw new Error(`cpuprofile: ${where}.callFrame.url is not a string`)
  }
  if (typeof lineNumber !== 'number' || typeof columnNumber !== 'number') {
    throw new Error(`cpuprofile: ${where}.callFrame has no lineNumber/columnNumber`)
  }
  if (children !== undefined && !Array.isArray(children)) {
    throw new Error(`cpuprofile: ${where}.children is not an array`)
  }
  return {
    id,
    callFrame: { functionName, url, lineNumber, columnNumber },
    children: children === undefined ? [] : numbers(children, `${where}.children`),
  }
}

function numbers(values: readonly unknown[], where: string): number[] {
  return values.map((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new Error(`cpuprofile: ${where}[${i}] is not a number`)
    }
    return v
  })
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

// ---------------------------------------------------------------------------
// Frames

/** What a single frame is; 'native' frames' time is charged to their caller. */
export type FrameKind = Category | 'native'

function frameKind(f: CallFrame): FrameKind {
  const special = SPECIAL_FRAMES.get(f.functionName)
  if (special !== undefined && f.url === '') return special
  if (SYSCALL_FRAMES.get(f.functionName) === f.url) return 'syscall'
  if (f.url === '' || f.url.startsWith('wasm://')) return 'native'
  if (f.url.includes('node_modules/')) return 'dependencies'
  if (f.url.includes('/dist/src/')) return 'corral'
  if (f.url.startsWith('node:')) return 'node'
  return 'other'
}

/** "undici" for …/node_modules/undici/lib/x.js, "@scope/name" for scoped packages. */
export function packageName(url: string): string | undefined {
  const at = url.lastIndexOf('node_modules/')
  if (at < 0) return undefined
  const parts = url.slice(at + 'node_modules/'.length).split('/')
  const [first, second] = parts
  if (first === undefined || first === '') return undefined
  return first.startsWith('@') && second !== undefined ? `${first}/${second}` : first
}

/**
 * Where a frame is, short: "src/proxy/relay.js:101" for corral, "undici/lib/x.js:5"
 * for a dependency, "node:net:1038" for Node, "native" for bindings and builtins, "v8"
 * for (garbage collector) and (program), the url otherwise. Lines are 1-based.
 */
export function frameLocation(f: CallFrame): string {
  const { url } = f
  if (url === '') return SPECIAL_FRAMES.has(f.functionName) ? 'v8' : 'native'
  const line = f.lineNumber >= 0 ? `:${f.lineNumber + 1}` : ''
  const nm = url.lastIndexOf('node_modules/')
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length) + line
  const src = url.indexOf('/dist/src/')
  if (src >= 0) return url.slice(src + '/dist/'.length) + line
  return url + line
}

/**
 * A frame's name in folded stacks: "name [location]", or just the name of (program)
 * and (garbage collector). Anonymous functions are "(anonymous)"; ';' (the folded
 * separator) becomes ','.
 */
export function frameLabel(f: CallFrame): string {
  const name = f.functionName === '' ? '(anonymous)' : f.functionName
  const label =
    SPECIAL_FRAMES.has(name) && f.url === '' ? name : `${name} [${frameLocation(f)}]`
  return label.replace(/;/g, ',')
}

/** The kind of a frame given its frameLabel(), for colouring flame graphs. */
export function labelKind(label: string): FrameKind {
  const special = SPECIAL_FRAMES.get(label)
  if (special !== undefined) return special
  const m = /^(.*) \[(.*)\]$/.exec(label)
  if (m === null) return 'other'
  const [, name = '', location = ''] = m
  if (location === 'native') return SYSCALL_FRAMES.get(name) === '' ? 'syscall' : 'native'
  if (location.startsWith('node:')) {
    const url = location.replace(/:\d+$/, '')
    return SYSCALL_FRAMES.get(name) === url ? 'syscall' : 'node'
  }
  if (location.startsWith('wasm://')) return 'native'
  if (location.startsWith('src/')) return 'corral'
  if (location.includes('://') || location.startsWith('/')) return 'other'
  return 'dependencies'
}

// ---------------------------------------------------------------------------
// Time

interface Tree {
  byId: ReadonlyMap<number, ProfileNode>
  parent: ReadonlyMap<number, number>
}

function tree(profile: CpuProfile): Tree {
  const byId = new Map(profile.nodes.map(n => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children) parent.set(c, n.id)
  return { byId, parent }
}

/**
 * Milliseconds per sampled node id, counting only samples taken at or after
 * startTime + skipMs. A sample's time is the delta before it (negative deltas, which
 * V8 writes when samples arrive slightly out of order, count as 0).
 */
export function selfTimes(
  profile: CpuProfile,
  skipMs = 0,
): { ms: Map<number, number>; samples: number } {
  const ms = new Map<number, number>()
  const skipUs = skipMs * 1000
  let elapsedUs = 0
  let counted = 0
  for (const [i, id] of profile.samples.entries()) {
    const delta = profile.timeDeltas[i] ?? 0
    elapsedUs += delta
    if (elapsedUs < skipUs) continue
    ms.set(id, (ms.get(id) ?? 0) + Math.max(0, delta) / 1000)
    counted++
  }
  return { ms, samples: counted }
}

/**
 * The frame a node's self time is charged to: the node itself, or for native code
 * (bindings, builtins, regexps, wasm) the nearest caller that is not native — so
 * undici's wasm parser counts as undici and runMicrotasks as Node. Syscall bindings
 * are not native here: they are a category of their own.
 */
function chargedFrame(t: Tree, id: number): { category: Category; frame?: CallFrame } {
  let current: number | undefined = id
  while (current !== undefined) {
    const node = t.byId.get(current)
    if (node === undefined) break
    const kind = frameKind(node.callFrame)
    if (kind !== 'native') return { category: kind, frame: node.callFrame }
    current = t.parent.get(current)
  }
  return { category: 'program' }
}

/** Where the profile's time went. */
export function summarizeProfile(
  profile: CpuProfile,
  options: SummaryOptions = {},
): ProfileSummary {
  const skipMs = options.skipMs ?? 0
  const top = options.top ?? 15
  const t = tree(profile)
  const { ms: self, samples } = selfTimes(profile, skipMs)
  const byCategory = new Map<Category, number>()
  const byPackage = new Map<string, number>()
  const byFunction = new Map<string, FunctionTime>()
  let totalMs = 0
  for (const [id, ms] of self) {
    totalMs += ms
    const { category, frame } = chargedFrame(t, id)
    byCategory.set(category, (byCategory.get(category) ?? 0) + ms)
    if (category === 'idle') continue
    if (category === 'dependencies') {
      const pkg = (frame && packageName(frame.url)) ?? '(unknown)'
      byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + ms)
    }
    const node = t.byId.get(id)
    if (node === undefined) continue
    const name =
      node.callFrame.functionName === '' ? '(anonymous)' : node.callFrame.functionName
    const location = frameLocation(node.callFrame)
    const key = `${name}\n${location}`
    const entry = byFunction.get(key) ?? { name, location, ms: 0, pctOfBusy: 0 }
    entry.ms += ms
    byFunction.set(key, entry)
  }
  const idleMs = byCategory.get('idle') ?? 0
  const busyMs = totalMs - idleMs
  const pct = (ms: number): number => (busyMs > 0 ? (100 * ms) / busyMs : 0)
  const durationMs = (profile.endTime - profile.startTime) / 1000
  return {
    totalMs,
    idleMs,
    busyMs,
    skippedMs: Math.max(0, Math.min(skipMs, durationMs)),
    samples,
    categories: BUSY_CATEGORIES.map(category => {
      const ms = byCategory.get(category) ?? 0
      return { category, ms, pctOfBusy: pct(ms) }
    }),
    packages: [...byPackage]
      .map(([name, ms]) => ({ name, ms, pctOfBusy: pct(ms) }))
      .sort((a, b) => b.ms - a.ms || a.name.localeCompare(b.name)),
    topFunctions: [...byFunction.values()]
      .map(f => ({ ...f, pctOfBusy: pct(f.ms) }))
      .sort(
        (a, b) =>
          b.ms - a.ms ||
          a.name.localeCompare(b.name) ||
          a.location.localeCompare(b.location),
      )
      .slice(0, top),
  }
}

/**
 * Folded stacks: "outer;…;leaf" (frameLabel()s, (root) left out) → ms, for samples at
 * or after startTime + skipMs whose leaf is not (idle).
 */
export function foldStacks(profile: CpuProfile, skipMs = 0): Map<string, number> {
  const t = tree(profile)
  const { ms: self } = selfTimes(profile, skipMs)
  const folded = new Map<string, number>()
  for (const [id, ms] of self) {
    const leaf = t.byId.get(id)
    if (leaf === undefined || frameKind(leaf.callFrame) === 'idle') continue
    const labels: string[] = []
    let current: number | undefined = id
    while (current !== undefined) {
      const node = t.byId.get(current)
      if (node === undefined) break
      const parent = t.parent.get(current)
      // (root) is every stack's base, so it is left out.
      const isRoot = parent === undefined && node.callFrame.functionName === '(root)'
      if (!isRoot) labels.push(frameLabel(node.callFrame))
      current = parent
    }
    if (labels.length === 0) continue
    const key = labels.reverse().join(';')
    folded.set(key, (folded.get(key) ?? 0) + ms)
  }
  return folded
}

// ---------------------------------------------------------------------------
// Markdown

/** A compact markdown block: categories, dependency packages and top functions. */
export function renderSummaryMarkdown(summary: ProfileSummary, title: string): string {
  const ms = (v: number): string => formatNumber(v, 1)
  const pct = (v: number): string => `${v.toFixed(1)}%`
  const idlePct = summary.totalMs > 0 ? (100 * summary.idleMs) / summary.totalMs : 0
  const skipped =
    summary.skippedMs > 0
      ? `, first ${formatNumber(summary.skippedMs, 0)} ms skipped`
      : ''
  const lines = [
    `#### ${title}`,
    '',
    `Busy ${ms(summary.busyMs)} ms of ${ms(summary.totalMs)} ms sampled ` +
      `(idle ${pct(idlePct)}, ${summary.samples} samples${skipped}).`,
    '',
    '| where | ms | % of busy |',
    '| --- | --: | --: |',
  ]
  for (const c of summary.categories) {
    if (c.ms === 0) continue
    lines.push(`| ${c.category} | ${ms(c.ms)} | ${pct(c.pctOfBusy)} |`)
    if (c.category === 'dependencies') {
      for (const p of summary.packages) {
        lines.push(`| ↳ ${cell(p.name)} | ${ms(p.ms)} | ${pct(p.pctOfBusy)} |`)
      }
    }
  }
  if (summary.topFunctions.length > 0) {
    lines.push(
      '',
      '| self time | location | ms | % of busy |',
      '| --- | --- | --: | --: |',
    )
    for (const f of summary.topFunctions) {
      lines.push(
        `| ${cell(f.name)} | ${cell(f.location)} | ${ms(f.ms)} | ${pct(f.pctOfBusy)} |`,
      )
    }
  }
  return lines.join('\n') + '\n'
}

/** Markdown table cell text: '|' escaped, code spans so names render literally. */
function cell(s: string): string {
  return '`' + s.replace(/`/g, "'").replace(/\|/g, '\\|') + '`'
}
