/* global process, console -- a plain Node script: it must run without a tsc build */
// Builds the optional native data path (native/, Node-API + node-gyp) offline, from the
// Node headers installed next to this node binary (or node-gyp's cache), with the
// node-gyp that npm bundles. Without `--strict` it never fails (it says why it skipped):
// without the addon corral runs on the JS data path and says so at startup. `--strict`
// (npm run build:native; CI) makes a failed build an error.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const strict = process.argv.includes('--strict')

function skip(reason) {
  console.log(`corral: native data path not built (${reason}); the JS data path is used`)
  process.exit(strict ? 1 : 0)
}

if (process.platform !== 'linux') skip(`${process.platform} is not Linux`)
if (process.env.CORRAL_SKIP_NATIVE === '1') skip('CORRAL_SKIP_NATIVE=1')

// A --nodedir holds include/node/node_api.h: the prefix of this node (Debian: /usr,
// official tarballs: /usr/local or the unpacked folder), else node-gyp's header cache.
const prefix = dirname(dirname(process.execPath))
const candidates = [
  prefix,
  '/usr/local',
  '/usr',
  join(homedir(), '.cache', 'node-gyp', process.versions.node),
]
const nodedir = candidates.find(d => existsSync(join(d, 'include', 'node', 'node_api.h')))
if (nodedir === undefined) skip(`no Node headers in ${candidates.join(', ')}`)

// npm bundles node-gyp; it sits next to npm's own entry point.
const npmCli = process.env.npm_execpath
const gypCandidates = [
  npmCli === undefined
    ? undefined
    : join(dirname(npmCli), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  join(
    prefix,
    'lib',
    'node_modules',
    'npm',
    'node_modules',
    'node-gyp',
    'bin',
    'node-gyp.js',
  ),
].filter(p => p !== undefined)
const gyp = gypCandidates.find(p => existsSync(p))
if (gyp === undefined) skip(`node-gyp not found in ${gypCandidates.join(', ')}`)

const result = spawnSync(
  process.execPath,
  [gyp, 'rebuild', `--nodedir=${nodedir}`, '--directory=native', '--loglevel=warn'],
  { cwd: root, stdio: 'inherit' },
)
if (result.status !== 0) skip(`node-gyp exited with ${result.status ?? result.signal}`)
console.log('corral: native data path built (native/build/Release/corral_native.node)')
