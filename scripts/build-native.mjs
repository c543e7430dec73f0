/* global process, console -- a plain Node script: it must run without a tsc build */
// Builds the optional native data path (native/, Node-API + node-gyp) offline, from the
// Node headers installed next to this node binary (or node-gyp's cache), with the
// node-gyp that npm bundles. Without `--strict` it never fails and prints one line saying
// why it skipped: it is package.json's `install` script, so `npm install` and `npm ci`
// build the addon where a compiler exists and still succeed where none does (corral then
// runs on the JS data path and says so at startup). `--strict` (npm run build:native; CI,
// the Docker build stage) makes a failed build an error. CORRAL_SKIP_NATIVE=1 skips it.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { delimiter, dirname, isAbsolute, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const strict = process.argv.includes('--strict')
const HOW =
  'install python3, make and a C/C++ compiler (Debian: apt-get install python3 make g++), then run npm run build:native'

function skip(reason, how = HOW) {
  console.log(
    `corral: native data path not built (${reason}); corral runs on the JS data path` +
      (how === '' ? '' : `. To get the native path: ${how}`),
  )
  process.exit(strict ? 1 : 0)
}

/** The first of `names` found as an executable on PATH (an absolute name as is). */
function onPath(names) {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(d => d !== '')
  for (const name of names) {
    if (isAbsolute(name)) {
      if (existsSync(name)) return name
      continue
    }
    const hit = dirs.map(d => join(d, name)).find(p => existsSync(p))
    if (hit !== undefined) return hit
  }
  return undefined
}

if (process.platform !== 'linux') skip(`${process.platform} is not Linux`, '')
if (process.env.CORRAL_SKIP_NATIVE === '1') skip('CORRAL_SKIP_NATIVE=1', 'unset it')

// node-gyp needs python3 (gyp), make, a C compiler for the sources and a C++ driver to
// link (gyp's make generator links with CXX). Checked up front so a machine without them
// gets one line naming what is missing instead of a page of node-gyp errors.
// CC/CXX, when set, are what node-gyp will run, so only they count.
const fromEnv = (value, fallbacks) => {
  const name = (value ?? '').trim().split(/\s+/)[0] ?? ''
  return name === '' ? fallbacks : [name]
}
const tools = [
  ['python3', ['python3']],
  ['make', ['make']],
  ['a C compiler (cc)', fromEnv(process.env.CC, ['cc', 'gcc', 'clang'])],
  ['a C++ compiler (c++)', fromEnv(process.env.CXX, ['c++', 'g++', 'clang++'])],
]
const missing = tools
  .filter(([, names]) => onPath(names) === undefined)
  .map(([what]) => what)
if (missing.length > 0) skip(`not on PATH: ${missing.join(', ')}`)

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

// Strict: node-gyp's output as it comes. Otherwise kept, and only its tail shown when the
// build fails, so `npm install` prints one verdict rather than a compiler log.
const result = spawnSync(
  process.execPath,
  [gyp, 'rebuild', `--nodedir=${nodedir}`, '--directory=native', '--loglevel=warn'],
  { cwd: root, stdio: strict ? 'inherit' : ['ignore', 'pipe', 'pipe'], encoding: 'utf8' },
)
if (result.status !== 0) {
  if (!strict) {
    const tail = `${result.stdout ?? ''}${result.stderr ?? ''}`
      .trim()
      .split('\n')
      .slice(-15)
    if (tail.length > 0 && tail[0] !== '') console.log(tail.join('\n'))
  }
  skip(
    `node-gyp exited with ${result.status ?? result.signal}`,
    'fix the error above, then run npm run build:native',
  )
}
console.log('corral: native data path built (native/build/Release/corral_native.node)')
