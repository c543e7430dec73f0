// examples/corral.service: the heap settings workers get, ports 80/443 through an ambient
// capability (a file capability would make glibc ignore GLIBC_TUNABLES), and a unit
// systemd accepts where systemd-analyze is installed.
import { execFileSync } from 'node:child_process'
import { copyFileSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { mergeGlibcTunables } from '../../src/proxy/malloc-tunables.js'

const unit = readFileSync('examples/corral.service', 'utf8')

void t.test(
  'the unit sets the data-path malloc settings and binds via ambient caps',
  t => {
    const env = /^Environment=GLIBC_TUNABLES=(\S+)$/m.exec(unit)?.[1]
    t.equal(env, mergeGlibcTunables(undefined), 'the values workers get')
    t.match(unit, /^AmbientCapabilities=CAP_NET_BIND_SERVICE$/m)
    t.match(unit, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m, 'reload is SIGHUP')
    t.match(unit, /^KillSignal=SIGTERM$/m, 'stop drains')
    t.notMatch(unit, /^MemoryDenyWriteExecute=yes/m, 'V8 needs writable+executable pages')
    t.end()
  },
)

function findAnalyze(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v systemd-analyze'], {
      encoding: 'utf8',
    }).trim()
  } catch {
    return undefined
  }
}
const analyze = findAnalyze()

void t.test(
  'systemd-analyze verify accepts the unit',
  { skip: analyze === undefined ? 'systemd-analyze not installed' : false },
  t => {
    const dir = t.testdir()
    const copy = join(dir, 'corral.service')
    copyFileSync('examples/corral.service', copy)
    // Throws (failing the test) with systemd's complaint if it rejects the unit.
    const out = execFileSync(analyze ?? 'systemd-analyze', ['verify', copy], {
      encoding: 'utf8',
      stdio: 'pipe',
    })
    t.equal(out.trim(), '')
    t.end()
  },
)
