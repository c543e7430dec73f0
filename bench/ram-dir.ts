// A scratch directory in RAM (a tmpfs), for workloads whose timings must not include disk
// I/O: the registry's storage on disk scattered push times by ±25% from run to run
// (issue #19), in RAM by a few percent.

import { mkdtempSync, readFileSync, statfsSync } from 'node:fs'
import { join } from 'node:path'

/** Where a RAM directory is made: the tmpfs every Linux system mounts for POSIX shm. */
export const RAM_ROOT = '/dev/shm'

/** Whether /proc/mounts (its text) mounts `path` as a tmpfs. */
export function isTmpfsMount(mounts: string, path: string): boolean {
  return mounts
    .split('\n')
    .map(line => line.split(' '))
    .some(([, mountPoint, type]) => mountPoint === path && type === 'tmpfs')
}

/**
 * A fresh directory under RAM_ROOT with at least `bytes` free, or why there is none (the
 * caller then uses a disk directory and says so in the report).
 */
export function makeRamDir(
  prefix: string,
  bytes: number,
): { dir: string } | { why: string } {
  let mounts: string
  try {
    mounts = readFileSync('/proc/mounts', 'utf8')
  } catch (err) {
    return { why: `/proc/mounts unreadable (${String(err)})` }
  }
  if (!isTmpfsMount(mounts, RAM_ROOT)) return { why: `${RAM_ROOT} is not a tmpfs` }
  const stats = statfsSync(RAM_ROOT)
  const free = stats.bavail * stats.bsize
  if (free < bytes)
    return {
      why: `${RAM_ROOT} has ${Math.floor(free / 2 ** 20)} MiB free, ${Math.ceil(bytes / 2 ** 20)} MiB needed`,
    }
  return { dir: mkdtempSync(join(RAM_ROOT, prefix)) }
}
