// What this machine offers: tools on PATH, cores to pin to, file limits, versions.

import { execFileSync, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cpus, release, totalmem } from 'node:os'
import type { MachineInfo } from './results.js'

/** Absolute path of a command on PATH, or undefined. */
export function which(command: string): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', command], {
    encoding: 'utf8',
  })
  const path = r.stdout.trim()
  return r.status === 0 && path !== '' ? path : undefined
}

function firstLine(command: string, args: readonly string[]): string | undefined {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 5_000 })
  if (r.error !== undefined) return undefined
  const text = `${r.stdout}\n${r.stderr}`.trim()
  return text.split('\n')[0]?.trim()
}

/** Tools the suite can use, as absolute paths. */
export interface Tools {
  readonly haproxy: string | undefined
  readonly wrk: string | undefined
  readonly iperf3: string | undefined
  readonly taskset: string | undefined
  readonly prlimit: string | undefined
  /** Debian package docker-registry (distribution 2.x), for the registry workload. */
  readonly dockerRegistry: string | undefined
  readonly skopeo: string | undefined
  readonly openssl: string | undefined
}

/** Looks the tools up on PATH. */
export function findTools(): Tools {
  return {
    haproxy: which('haproxy'),
    wrk: which('wrk'),
    iperf3: which('iperf3'),
    taskset: which('taskset'),
    prlimit: which('prlimit'),
    dockerRegistry: which('docker-registry'),
    skopeo: which('skopeo'),
    openssl: which('openssl'),
  }
}

/** Which CPUs each role runs on; undefined = not pinned. */
export interface Pinning {
  /** The proxy under test (taskset -c 0). */
  readonly proxy: string | undefined
  /** Load generators, members and the harness itself (taskset -c 1). */
  readonly load: string | undefined
  /** Every core: the proxy in the scaling workload. */
  readonly all: string | undefined
  /** One sentence for the report. */
  readonly description: string
}

/** Proxy on core 0, everything else on core 1, when taskset works and there are 2+ cores. */
export function planPinning(tools: Tools): Pinning {
  const cores = cpus().length
  if (tools.taskset === undefined) {
    return none('taskset not found: nothing pinned, the OS schedules every process')
  }
  if (cores < 2) return none(`only ${cores} core: nothing pinned`)
  const ok = spawnSync(tools.taskset, ['-c', '0', 'true']).status === 0
  if (!ok) return none('taskset -c 0 failed (restricted cpuset?): nothing pinned')
  // Move the harness itself off the proxy's core; its timers and polling are light but
  // would otherwise share core 0 with the proxy.
  const self = spawnSync(tools.taskset, ['-cp', '1', String(process.pid)]).status === 0
  return {
    proxy: '0',
    load: '1',
    all: `0-${cores - 1}`,
    description:
      'Proxies pinned with `taskset -c 0`; members, wrk, iperf3 ' +
      `${self ? 'and the harness' : '(not the harness: taskset -p failed)'} on core 1 ` +
      `(\`taskset -c 1\`); ${cores} cores. The scaling workload lets the proxy use ` +
      `cores 0-${cores - 1}.`,
  }
}

function none(description: string): Pinning {
  return { proxy: undefined, load: undefined, all: undefined, description }
}

/** Soft and hard RLIMIT_NOFILE of this process, from /proc/self/limits. */
export function openFilesLimits(): { soft: number; hard: number } | undefined {
  try {
    const text = readFileSync('/proc/self/limits', 'utf8')
    const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(text)
    if (m?.[1] === undefined || m[2] === undefined) return undefined
    const n = (s: string) => (s === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(s))
    return { soft: n(m[1]), hard: n(m[2]) }
  } catch {
    // Not Linux: callers fall back to a conservative connection count.
    return undefined
  }
}

/** Hardware and tool versions for the report. */
export function machineInfo(tools: Tools): MachineInfo {
  const list = cpus()
  let haproxy: string | undefined
  if (tools.haproxy !== undefined) {
    try {
      haproxy = execFileSync(tools.haproxy, ['-v'], { encoding: 'utf8' }).split('\n')[0]
    } catch {
      haproxy = 'unknown version'
    }
  }
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGiB: totalmem() / 2 ** 30,
    kernel: `Linux ${release()}`,
    node: process.version,
    haproxy,
    wrk: tools.wrk === undefined ? undefined : firstLine(tools.wrk, ['-v']),
    iperf3:
      tools.iperf3 === undefined ? undefined : firstLine(tools.iperf3, ['--version']),
    openFilesLimit: openFilesLimits()?.hard,
  }
}
