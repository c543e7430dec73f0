// Resident memory of a process tree (an LB's primary and its workers), from /proc (Linux).
import { readFileSync } from 'node:fs'

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined // the process exited between listing and reading: count nothing
  }
}

/** The pid and every descendant's pid. */
export function processTree(pid: number): number[] {
  const out = [pid]
  const children = read(`/proc/${pid}/task/${pid}/children`) ?? ''
  for (const c of children.split(/\s+/).filter(x => x !== ''))
    out.push(...processTree(Number(c)))
  return out
}

/** Sum of VmRSS over the tree, in bytes (0 if the process is gone). */
export function treeRssBytes(pid: number): number {
  let total = 0
  for (const p of processTree(pid)) {
    const m = /VmRSS:\s+(\d+) kB/.exec(read(`/proc/${p}/status`) ?? '')
    if (m?.[1] !== undefined) total += Number(m[1]) * 1024
  }
  return total
}
