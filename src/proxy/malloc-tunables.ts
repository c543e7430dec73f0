// glibc malloc settings for the data-path processes (issue #13). Pure: strings in and out.
//
// Why: every 64 KiB socket read is a fresh malloc. With glibc's defaults, once a V8
// scavenge frees a batch of them the heap top is trimmed back to the kernel (brk), and the
// next reads fault freshly zeroed pages in again: 30k–100k minor faults per GB relayed,
// and one stream ran at 3–4 Gbit/s in some runs instead of 9–10 (docs/performance.md).
// glibc reads GLIBC_TUNABLES once, when a process starts, so the primary sets it in the
// environment of the workers it forks; `workers: 0` needs it set before corral starts.
// glibc ignores it for programs started with raised privileges (setuid, or file
// capabilities such as `setcap cap_net_bind_service`), see docs/performance.md.

/** The GLIBC_TUNABLES entries data-path workers start with, name → value (bytes). */
export const DATA_PATH_MALLOC_TUNABLES: ReadonlyMap<string, string> = new Map([
  // Keep up to 1 GiB free at the heap top instead of 128 KiB: freed read buffers stay
  // mapped and are reused without faulting (RSS keeps its peak: +~45 MiB per worker
  // measured under bulk load).
  ['glibc.malloc.trim_threshold', '1073741824'],
  // Grow the heap 256 MiB of address space at a time (pages are only resident once used):
  // fewer brk calls while the heap grows.
  ['glibc.malloc.top_pad', '268435456'],
  // Serve allocations up to 4 MiB from the heap instead of fresh mmap()s, and pin the
  // threshold (setting it turns off glibc's dynamic adjustment, which also moves the
  // trim threshold).
  ['glibc.malloc.mmap_threshold', '4194304'],
])

/**
 * Merges `defaults` into an operator's GLIBC_TUNABLES value (`name=value:name=value`):
 * every entry the operator wrote is kept as written and in order, and wins over a default
 * of the same name; defaults the operator did not set are appended.
 */
export function mergeGlibcTunables(
  operator: string | undefined,
  defaults: ReadonlyMap<string, string> = DATA_PATH_MALLOC_TUNABLES,
): string {
  const entries = (operator ?? '').split(':').filter(entry => entry !== '')
  const named = new Set(entries.map(entry => entry.split('=', 1)[0]))
  for (const [name, value] of defaults) {
    if (!named.has(name)) entries.push(`${name}=${value}`)
  }
  return entries.join(':')
}

/**
 * Whether a GLIBC_TUNABLES value sets every data-path default (to any value): what a
 * `workers: 0` process checks about its own start, to warn when it was started without.
 */
export function hasDataPathTunables(
  value: string | undefined,
  defaults: ReadonlyMap<string, string> = DATA_PATH_MALLOC_TUNABLES,
): boolean {
  const named = new Set((value ?? '').split(':').map(entry => entry.split('=', 1)[0]))
  return [...defaults.keys()].every(name => named.has(name))
}
