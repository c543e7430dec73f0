// Finds and loads the optional native data path (native/, built by `npm run
// build:native`). Loading never throws: a missing or broken addon is a reason to run
// on the JS data path, reported once by the caller.
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

/** The addon's functions (native/addon.c); slots and fds are small non-negative integers. */
export interface NativeAddon {
  /**
   * Starts the relay thread; `counters` holds live bytes per slot: [2s] a→b, [2s+1]
   * b→a; slots from `acceptBase` on are for natively accepted connections. Events come
   * in batches (layout in native/addon.c).
   */
  init(
    counters: Float64Array,
    onEvents: (
      events: Float64Array,
      peers: readonly string[],
      hellos: readonly (Buffer | undefined)[],
    ) => void,
    acceptBase: number,
  ): void
  /**
   * Access log on: local addresses with accepts, the client's first bytes when they start
   * a TLS record (hellos), and first-byte times per slot into `firsts` ([2s] from the
   * client, [2s+1] from the member, ms after relaying started; 0 = none yet).
   */
  trace(firsts: Float64Array): void
  /** dup()s both fds and relays between them; 0 or -errno. */
  add(slot: number, fdA: number, fdB: number, idleMs: number): number
  /** Closes a relayed connection now (its close event follows); 0 or -errno. */
  close(id: number): number
  /** Accepts natively on a dup of listening socket `fd` as listener `index`; 0 or -errno. */
  listen(index: number, fd: number): number
  /** Whether `fd` was registered in libuv's epoll (it is removed). */
  forget(fd: number): boolean
  /** Stops accepting on listener `index` before it returns. */
  unlisten(index: number): void
  /** Replaces the member address table (IP addresses) verdicts index into. */
  setTargets(hosts: readonly string[], ports: readonly number[]): void
  /**
   * Queues `count` verdicts [id, target (-1 = reject), connectTimeoutMs, idleMs,
   * headerOffset, headerLength]: the PROXY protocol header is that slice of `headers`.
   */
  submit(verdicts: Float64Array, count: number, headers?: Uint8Array): number
  /** Stops the relay thread; open connections close with reason "stopped". */
  stop(): void
  /** A socket's pending error (-errno), read with MSG_PEEK (nothing is consumed); else 0. */
  peek(fd: number): number
}

/** Config setting: "auto" = native where the addon loaded on Linux, else JS. */
export type DataPathSetting = 'auto' | 'native' | 'js'

/** The data path a process actually runs. */
export type DataPathKind = 'native' | 'js'

/** Which data path runs, and why (shown in the log and the pool API). */
export interface DataPathChoice {
  readonly path: DataPathKind
  readonly reason: string
}

/** Where `npm run build:native` puts the addon, relative to this module (src/ and dist/src/). */
const ADDON_PATHS = [
  '../../native/build/Release/corral_native.node',
  '../../../native/build/Release/corral_native.node',
]

let loaded: { readonly addon: NativeAddon } | { readonly error: string } | undefined

function isNativeAddon(value: unknown): value is NativeAddon {
  if (typeof value !== 'object' || value === null) return false
  return [
    'init',
    'add',
    'close',
    'stop',
    'peek',
    'listen',
    'forget',
    'unlisten',
    'setTargets',
    'submit',
    'trace',
  ].every(name => typeof Reflect.get(value, name) === 'function')
}

/** Loads the addon once per process; an error string says why it is unavailable. */
export function loadNativeAddon():
  { readonly addon: NativeAddon } | { readonly error: string } {
  if (loaded !== undefined) return loaded
  if (process.platform !== 'linux') {
    loaded = { error: `the native data path needs Linux (this is ${process.platform})` }
    return loaded
  }
  const require = createRequire(import.meta.url)
  const tried: string[] = []
  for (const rel of ADDON_PATHS) {
    const path = fileURLToPath(new URL(rel, import.meta.url))
    try {
      const mod: unknown = require(path)
      if (isNativeAddon(mod)) {
        loaded = { addon: mod }
        return loaded
      }
      tried.push(`${path}: not the corral addon`)
    } catch (err) {
      const code = err instanceof Error && 'code' in err ? String(err.code) : ''
      tried.push(
        code === 'MODULE_NOT_FOUND' ? `${path}: not built` : `${path}: ${String(err)}`,
      )
    }
  }
  loaded = {
    error: `native addon not available (${tried.join('; ')}); build it with npm run build:native`,
  }
  return loaded
}

/** Resolves the config setting against what this machine has. */
export function chooseDataPath(setting: DataPathSetting): DataPathChoice {
  if (setting === 'js') return { path: 'js', reason: 'dataPath: js in the config' }
  const result = loadNativeAddon()
  if ('addon' in result) {
    return {
      path: 'native',
      reason:
        setting === 'native'
          ? 'dataPath: native in the config'
          : 'dataPath: auto, addon loaded',
    }
  }
  return { path: 'js', reason: result.error }
}
