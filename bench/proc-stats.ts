// CPU time and resident memory of a process and its descendants, from /proc.

import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

/** The fields of /proc/<pid>/stat the harness uses. */
export interface ProcStat {
  readonly ppid: number
  /** Minor page faults (a page mapped without disk I/O, e.g. a freshly zeroed one). */
  readonly minflt: number
  /** User-mode CPU time in clock ticks. */
  readonly utime: number
  /** Kernel-mode CPU time in clock ticks. */
  readonly stime: number
}

/**
 * Parses /proc/<pid>/stat. The command name (field 2) is in parentheses and may hold
 * spaces, so fields are counted from the last ')': proc(5) numbers ppid 4, minflt 10,
 * utime 14, stime 15.
 */
export function parseStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')')
  if (close < 0) return undefined
  const fields = text.slice(close + 2).split(' ')
  const at = (field: number) => Number(fields[field - 3])
  const stat = { ppid: at(4), minflt: at(10), utime: at(14), stime: at(15) }
  return Object.values(stat).every(Number.isFinite) ? stat : undefined
}

/** VmRSS in KiB from /proc/<pid>/status text; undefined for kernel threads or zombies. */
export function parseVmRssKiB(text: string): number | undefined {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(text)
  return m?.[1] === undefined ? undefined : Number(m[1])
}

function readOr(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    // The process exited between listing and reading: it no longer counts.
    return undefined
  }
}

/** `pid` and every live descendant (cluster workers of a proxy, for example). */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const text = readOr(`/proc/${entry}/stat`)
    const stat = text === undefined ? undefined : parseStat(text)
    if (stat === undefined) continue
    const list = children.get(stat.ppid)
    if (list === undefined) children.set(stat.ppid, [Number(entry)])
    else list.push(Number(entry))
  }
  const tree: number[] = []
  const queue = [pid]
  while (queue.length > 0 && tree.length < 10_000) {
    const p = queue.shift()
    if (p === undefined) break
    tree.push(p)
    queue.push(...(children.get(p) ?? []))
  }
  return tree
}

let clockTicks: number | undefined

/** Clock ticks per second (getconf CLK_TCK), 100 when it cannot be read. */
export function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(
        execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim(),
      )
    } catch {
      // No getconf: Linux has used USER_HZ = 100 on every common architecture.
      clockTicks = 100
    }
    if (!Number.isFinite(clockTicks) || clockTicks <= 0) clockTicks = 100
  }
  return clockTicks
}

/** CPU seconds (user + system) used so far by a process tree. */
export function treeCpuSeconds(pid: number): number {
  let ticks = 0
  for (const p of processTree(pid)) {
    const text = readOr(`/proc/${p}/stat`)
    const stat = text === undefined ? undefined : parseStat(text)
    if (stat !== undefined) ticks += stat.utime + stat.stime
  }
  return ticks / ticksPerSecond()
}

/** Minor page faults so far of a process tree (live processes only). */
export function treeMinorFaults(pid: number): number {
  let faults = 0
  for (const p of processTree(pid)) {
    const text = readOr(`/proc/${p}/stat`)
    faults += (text === undefined ? undefined : parseStat(text))?.minflt ?? 0
  }
  return faults
}

/** Resident memory (VmRSS) of a process tree, KiB. */
export function treeRssKiB(pid: number): number {
  let kib = 0
  for (const p of processTree(pid)) {
    const text = readOr(`/proc/${p}/status`)
    kib += (text === undefined ? undefined : parseVmRssKiB(text)) ?? 0
  }
  return kib
}

/** Busy and total jiffies of all CPUs, from the first line of /proc/stat. */
export function parseCpuLine(text: string): { busy: number; total: number } | undefined {
  const line = text.split('\n', 1)[0] ?? ''
  if (!line.startsWith('cpu ')) return undefined
  const n = line.trim().split(/\s+/).slice(1).map(Number)
  if (n.length < 5 || !n.every(Number.isFinite)) return undefined
  // user nice system idle iowait irq softirq steal …; idle and iowait are not busy.
  const total = n.slice(0, 8).reduce((a, b) => a + b, 0)
  const idle = (n[3] ?? 0) + (n[4] ?? 0)
  return { busy: total - idle, total }
}

/**
 * Share of all CPUs busy over `ms`, in percent. Taken between runs, when none of the
 * harness's children work, it shows how much other processes are using the machine.
 */
export async function systemBusyPercent(ms: number): Promise<number | undefined> {
  const read = () => {
    const text = readOr('/proc/stat')
    return text === undefined ? undefined : parseCpuLine(text)
  }
  const a = read()
  await new Promise(resolve => setTimeout(resolve, ms))
  const b = read()
  if (a === undefined || b === undefined || b.total <= a.total) return undefined
  return ((b.busy - a.busy) / (b.total - a.total)) * 100
}

/** What measureCpu saw of a process tree while the work ran. */
export interface CpuMeasurement<T> {
  readonly result: T
  /** CPU seconds (user + system) of the tree; undefined without a pid. */
  readonly cpuSeconds: number | undefined
  /** Minor page faults of the tree; undefined without a pid. */
  readonly minorFaults: number | undefined
  readonly wallSeconds: number
}

/** Measures a process tree's CPU use and minor faults while `work` runs. */
export async function measureCpu<T>(
  pid: number | undefined,
  work: () => Promise<T>,
): Promise<CpuMeasurement<T>> {
  const cpu0 = pid === undefined ? undefined : treeCpuSeconds(pid)
  const faults0 = pid === undefined ? undefined : treeMinorFaults(pid)
  const t0 = performance.now()
  const result = await work()
  const wallSeconds = (performance.now() - t0) / 1000
  const cpuSeconds =
    pid === undefined || cpu0 === undefined ? undefined : treeCpuSeconds(pid) - cpu0
  const minorFaults =
    pid === undefined || faults0 === undefined
      ? undefined
      : treeMinorFaults(pid) - faults0
  return { result, cpuSeconds, minorFaults, wallSeconds }
}
