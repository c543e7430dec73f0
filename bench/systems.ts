// Starts a system under test in front of a workload's members and waits until it relays.

import { readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { basename, join } from 'node:path'
import type { SystemName } from './catalog.js'
import type { RunContext } from './context.js'
import { corralConfigYaml } from './corral-config.js'
import { haproxyConfig } from './haproxy-config.js'
import { freePort, isListening } from './ports.js'
import { Child } from './procs.js'
import type { ProxySpec } from './proxy-spec.js'

/** A started system: where clients connect, and how to stop it. */
export interface RunningSystem {
  readonly name: SystemName
  /** Port clients connect to on 127.0.0.1. */
  readonly port: number
  /** Process whose tree CPU and memory are measured; undefined for `direct`. */
  readonly pid: number | undefined
  stop(): Promise<void>
}

/** A running corral, with what the corral-only workloads need. */
export interface RunningCorral extends RunningSystem {
  /** Base URL of the admin API. */
  readonly adminUrl: string
  /** The YAML file SIGHUP re-reads. */
  readonly configPath: string
  /** Writes a new config and sends SIGHUP. */
  reload(spec: ProxySpec): void
}

/** Per-start options beyond the proxy spec. */
export interface StartOptions {
  /** taskset CPU list for the proxy; default: the proxy core. */
  readonly cpus?: string | undefined
}

/** corral options for startCorral beyond the proxy spec. */
export interface CorralStartOptions extends StartOptions {
  readonly workers: number
  /** Who moves the bytes (config dataPath); "js" unless a system says otherwise. */
  readonly dataPath?: 'js' | 'native'
  /** Extra environment for the corral process. */
  readonly env?: Readonly<Record<string, string>>
  /** The access log on at full sampling, to a file of the run's work dir (issue #22). */
  readonly accessLog?: boolean
}

/** corral's benchmark-only switch that skips the per-connection histograms. */
const NO_HISTOGRAMS = { CORRAL_BENCH_NO_HISTOGRAMS: '1' } as const

const START_TIMEOUT_MS = 20_000

/** Starts `name` for `spec`; registered with the run's scope so it is always stopped. */
export async function startSystem(
  name: SystemName,
  ctx: RunContext,
  spec: ProxySpec,
  options: StartOptions = {},
): Promise<RunningSystem> {
  switch (name) {
    case 'direct': {
      const first = spec.members[0]
      if (first === undefined) throw new Error('direct needs a member')
      return { name, port: first.port, pid: undefined, stop: () => Promise.resolve() }
    }
    case 'haproxy':
      return startHaproxy(ctx, spec, options)
    case 'naive':
      return startNaive(ctx, spec, options)
    case 'corral':
      return startCorral(ctx, spec, { ...options, workers: 1 })
    case 'corral-native':
      return startCorral(ctx, spec, { ...options, workers: 1, dataPath: 'native' })
    case 'corral-2w':
      return startCorral(ctx, spec, { ...options, workers: 2 })
    case 'corral-nometrics':
      return startCorral(ctx, spec, { ...options, workers: 1, env: NO_HISTOGRAMS })
    case 'corral-log':
      return startCorral(ctx, spec, { ...options, workers: 1, accessLog: true })
    case 'corral-native-log':
      return startCorral(ctx, spec, {
        ...options,
        workers: 1,
        dataPath: 'native',
        accessLog: true,
      })
    default: {
      const never: never = name
      throw new Error(`unknown system ${String(never)}`)
    }
  }
}

function proxyCpus(ctx: RunContext, options: StartOptions): string | undefined {
  return 'cpus' in options ? options.cpus : ctx.env.pin.proxy
}

async function startHaproxy(
  ctx: RunContext,
  spec: ProxySpec,
  options: StartOptions,
): Promise<RunningSystem> {
  const haproxy = ctx.env.tools.haproxy
  if (haproxy === undefined) throw new Error('haproxy not found on PATH')
  const cfg = join(ctx.env.workDir, `haproxy-${ctx.workload}-r${ctx.round}.cfg`)
  const text = haproxyConfig(spec)
  writeFileSync(cfg, text)
  ctx.attach(basename(cfg), text)
  const child = ctx.scope.add(
    new Child(haproxy, ['-f', cfg, '-db'], {
      name: 'haproxy',
      cpus: proxyCpus(ctx, options),
      nofile: ctx.env.raiseNofile,
      logDir: ctx.env.logDir,
    }),
  )
  ctx.record(child.argv)
  await waitForPort(spec.listenPort, child, START_TIMEOUT_MS)
  return {
    name: 'haproxy',
    port: spec.listenPort,
    pid: child.pid,
    stop: () => child.stop(),
  }
}

async function startNaive(
  ctx: RunContext,
  spec: ProxySpec,
  options: StartOptions,
): Promise<RunningSystem> {
  const first = spec.members[0]
  if (first === undefined) throw new Error('naive needs a member')
  const args = [join(ctx.env.benchDir, 'naive-proxy.js'), String(spec.listenPort)]
  args.push('127.0.0.1', String(first.port))
  const child = ctx.scope.add(
    new Child(process.execPath, args, {
      name: 'naive',
      cpus: proxyCpus(ctx, options),
      nofile: ctx.env.raiseNofile,
      logDir: ctx.env.logDir,
    }),
  )
  ctx.record(child.argv)
  await child.waitForLine(
    line => (line.includes('"ready":true') ? true : undefined),
    START_TIMEOUT_MS,
    'naive proxy to listen',
  )
  return {
    name: 'naive',
    port: spec.listenPort,
    pid: child.pid,
    stop: () => child.stop(),
  }
}

/** Starts the corral CLI and waits for GET /readyz = 200. */
export async function startCorral(
  ctx: RunContext,
  spec: ProxySpec,
  options: CorralStartOptions,
): Promise<RunningCorral> {
  const launcher = ctx.env.corral
  if (launcher === undefined)
    throw new Error('corral CLI not built (dist/src/cli/main.js)')
  const adminPort = await freePort()
  const configPath = join(
    ctx.env.workDir,
    `corral-${ctx.workload}-${ctx.system}-r${ctx.round}.yaml`,
  )
  const accessLog =
    options.accessLog === true
      ? join(ctx.env.workDir, `access-${ctx.workload}-${ctx.system}-r${ctx.round}.log`)
      : undefined
  const write = (s: ProxySpec) => {
    writeFileSync(
      configPath,
      corralConfigYaml(s, {
        adminPort,
        workers: options.workers,
        dataPath: options.dataPath ?? 'js',
        ...(accessLog === undefined ? {} : { accessLog }),
      }),
    )
  }
  write(spec)
  const nodeArgs: string[] = []
  if (ctx.env.profileDir !== undefined) {
    nodeArgs.push('--cpu-prof', '--cpu-prof-dir', ctx.env.profileDir)
  }
  nodeArgs.push(launcher.entry, 'lb', '--config', configPath, '--log-level', 'warn')
  const child = new Child(process.execPath, nodeArgs, {
    name: ctx.system,
    cpus: proxyCpus(ctx, options),
    nofile: ctx.env.raiseNofile,
    logDir: ctx.env.logDir,
    ...(options.env === undefined ? {} : { env: options.env }),
  })
  const stop = async () => {
    // Long enough for `timeouts.shutdown: 1s` and for --cpu-prof to write its file.
    await child.stop(5_000)
    if (ctx.env.profileDir !== undefined) nameProfiles(ctx, ctx.env.profileDir)
  }
  // Registered before corral, so removed after it stopped (the scope stops the last
  // registered first): a full run writes ~100 MB of records per round.
  if (accessLog !== undefined)
    ctx.scope.add({
      name: `${ctx.system} access log`,
      stop: () => {
        rmSync(accessLog, { force: true })
        return Promise.resolve()
      },
    })
  ctx.scope.add({ name: ctx.system, stop })
  const envWords = Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`)
  ctx.record([...envWords, ...child.argv])
  const adminUrl = `http://127.0.0.1:${adminPort}`
  await waitForReady(`${adminUrl}/readyz`, child, START_TIMEOUT_MS)
  const pid = child.pid
  return {
    name: ctx.system,
    port: spec.listenPort,
    pid,
    adminUrl,
    configPath,
    stop,
    reload(next: ProxySpec) {
      write(next)
      child.kill('SIGHUP')
    },
  }
}

/** Whether a started system is a corral, with an admin API. */
export function isCorral(system: RunningSystem): system is RunningCorral {
  return 'adminUrl' in system
}

/**
 * Prefixes the CPU profiles node just wrote (CPU.<date>.<pid>…, one per process, cluster
 * workers included) with the run they belong to, e.g. corral-keep-alive-corral-r2-CPU….
 */
function nameProfiles(ctx: RunContext, dir: string): void {
  const prefix = `corral-${ctx.workload}-${ctx.system}-r${ctx.round}-`
  for (const file of readdirSync(dir)) {
    if (file.startsWith('CPU.') && file.endsWith('.cpuprofile')) {
      renameSync(join(dir, file), join(dir, prefix + file))
    }
  }
}

async function waitForReady(url: string, child: Child, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = 'no answer'
  while (Date.now() < deadline) {
    if (child.hasExited) {
      throw new Error(`${child.argv.join(' ')} exited before ready; see ${child.logPath}`)
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) })
      await res.body?.cancel()
      if (res.status === 200) return
      last = `status ${res.status}`
    } catch (err) {
      last = err instanceof Error ? err.message : String(err)
    }
    await sleep(50)
  }
  throw new Error(
    `${url} not ready after ${timeoutMs} ms (${last}); see ${child.logPath}`,
  )
}

async function waitForPort(port: number, child: Child, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.hasExited) {
      throw new Error(
        `${child.argv.join(' ')} exited before listening; see ${child.logPath}`,
      )
    }
    if (isListening(port)) return
    await sleep(50)
  }
  throw new Error(
    `port ${port} not listening after ${timeoutMs} ms; see ${child.logPath}`,
  )
}

/** Whether a TCP connection to 127.0.0.1:port succeeds within 1 s. */
export async function canConnect(port: number): Promise<boolean> {
  return new Promise(resolve => {
    const socket = connect(port, '127.0.0.1')
    socket.setTimeout(1_000)
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.once('connect', () => {
      done(true)
    })
    socket.once('error', () => {
      done(false)
    })
    socket.once('timeout', () => {
      done(false)
    })
  })
}

/** Resolves after `ms`. */
export async function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}
