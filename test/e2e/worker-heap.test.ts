// Data-path workers start with the glibc malloc settings of issue #13 in their
// environment (merged with the operator's GLIBC_TUNABLES, theirs winning), and glibc
// applies them; `workers: 0` says how to get the same.
import { readFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import t from 'tap'
import { startCorral } from '../helpers/corral-process.js'
import { lbYaml } from '../helpers/lb-config.js'

function workerPids(primary: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(primary)], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(Number)
  } catch {
    return []
  }
}

/**
 * A process's initial environment from /proc/PID/environ. glibc (2.36) parses
 * GLIBC_TUNABLES in place, writing a NUL over each ':' of that memory: the entries after
 * it that start with `glibc.` are put back together here.
 */
function environ(pid: number): Map<string, string> {
  const vars = new Map<string, string>()
  let last = ''
  for (const entry of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
    if (last === 'GLIBC_TUNABLES' && entry.startsWith('glibc.')) {
      vars.set(last, `${vars.get(last) ?? ''}:${entry}`)
      continue
    }
    const eq = entry.indexOf('=')
    if (eq <= 0) continue
    last = entry.slice(0, eq)
    vars.set(last, entry.slice(eq + 1))
  }
  return vars
}

const MEMBERS = [{ id: 'r1', port: 1 }]

void t.test('a worker gets our malloc settings, the operator’s value wins', async t => {
  const operator = 'glibc.malloc.trim_threshold=131072:glibc.malloc.arena_max=2'
  const lb = await startCorral(t.testdir(), lbYaml(MEMBERS, { workers: 1 }), {
    env: { GLIBC_TUNABLES: operator },
  })
  t.teardown(() => lb.stop('SIGKILL'))
  const [worker] = workerPids(lb.proc.pid ?? 0)
  if (worker === undefined) throw new Error('no worker process')
  t.equal(
    environ(worker).get('GLIBC_TUNABLES'),
    `${operator}:glibc.malloc.top_pad=268435456:glibc.malloc.mmap_threshold=4194304`,
  )
  t.equal(
    environ(lb.proc.pid ?? 0).get('GLIBC_TUNABLES'),
    operator,
    'the primary itself is not changed',
  )
})

void t.test('workers: 0 logs the GLIBC_TUNABLES to start with', async t => {
  const lb = await startCorral(t.testdir(), lbYaml(MEMBERS, { workers: 0 }), {
    env: { GLIBC_TUNABLES: '' },
  })
  t.teardown(() => lb.stop('SIGKILL'))
  const line = await lb.waitForLog(l => typeof l.glibcTunables === 'string', 5_000)
  t.match(line.glibcTunables, /glibc\.malloc\.trim_threshold=1073741824/)
  t.match(line.msg, /workers: 0/)
})

void t.test('workers: 0 started with the settings does not log the hint', async t => {
  const lb = await startCorral(t.testdir(), lbYaml(MEMBERS, { workers: 0 }), {
    env: {
      GLIBC_TUNABLES:
        'glibc.malloc.trim_threshold=1073741824:glibc.malloc.top_pad=268435456:' +
        'glibc.malloc.mmap_threshold=4194304',
    },
  })
  t.teardown(() => lb.stop('SIGKILL'))
  t.notOk(lb.logs.some(l => typeof l.glibcTunables === 'string'))
})

// glibc applies the variable only at process start, and ignores it for a program
// started with raised privileges: this shows it applies to the node that runs here.
void t.test('glibc applies a GLIBC_TUNABLES malloc setting to node', t => {
  // perturb fills fresh malloc memory with ~byte: visible through Buffer.allocUnsafe.
  const out = execFileSync(
    process.execPath,
    ['-e', 'process.stdout.write(String(Buffer.allocUnsafe(65536)[4096]))'],
    { env: { ...process.env, GLIBC_TUNABLES: 'glibc.malloc.perturb=170' } },
  )
  t.equal(out.toString(), String(170 ^ 0xff))
  t.end()
})
