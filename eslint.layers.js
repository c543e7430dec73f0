// @ts-check
// The layer rule of src/ (docs/layers.md): each folder may import only from the layers
// below its own, never from a layer above, and not from a folder beside it in its own
// layer unless ALLOWED says so (with the reason). eslint.config.js turns this into one
// `no-restricted-imports` block per folder, so `npm run lint` (CI) fails on an arrow
// that runs back up, and an editor marks the import line. test/layers.test.ts proves it
// fails on a violation and that every folder of src/ has a layer.
//
// ESLint matches the import string, not the resolved file: every import in src/ is
// relative, and a folder's name is the first path segment after the "../" (or "./" from
// a file at the top of src/), so that is what the patterns look for. A sub-folder named
// like a top-level folder would be flagged too: a false alarm, never a miss.

/** Top to bottom: a folder may import any folder in a layer below its own. */
export const LAYERS = [
  // Entry points: argv, env, exit codes, signals (cli/); the demo program (demo/).
  ['cli', 'demo'],
  // Composition roots: build every object from a Config and wire events to logs and
  // metrics (src/app.ts and src/app-*.ts until they move into src/app/; the worker
  // process's root, src/app/worker-runtime.ts).
  ['app'],
  // Features the roots assemble around the pool.
  ['admin', 'metrics', 'sidecar', 'discovery', 'access-log'],
  // The shared pool store and the coordinator that applies it.
  ['coordination'],
  // The data path and the active checks: both feed the pool.
  ['proxy', 'health'],
  // PURE: the pool, its state machines and balancers.
  ['pool'],
  // The config file: schema, loading, reload diff.
  ['config'],
  // Leaves: src/log.ts, src/clock.ts, src/errors.ts.
  ['log', 'clock', 'errors'],
]

/**
 * The arrows that point sideways or up and stay, each with the reason. `only` limits one
 * to files of the target folder; `typeOnly` to `import type` (erased at compile time).
 * @type {readonly { from: string[], to: string, only?: string[], typeOnly?: true, why: string }[]}
 */
export const ALLOWED = [
  {
    from: ['health'],
    to: 'proxy',
    why:
      'a check reaches a member the way the data path does (its port, the PROXY header ' +
      'it expects); the data path decides nothing about health, so never the reverse',
  },
  {
    from: ['admin', 'sidecar', 'discovery', 'access-log'],
    to: 'metrics',
    typeOnly: true,
    why:
      'metrics/ declares every family; a feature is handed its handles by the app and ' +
      'imports only their types',
  },
  {
    from: ['metrics'],
    to: 'discovery',
    only: ['reconcile.js'],
    why:
      'corral_discovery_failures_total starts every reason of ANSWER_FAILURES at 0, and ' +
      'that closed set is discovery’s own vocabulary',
  },
  {
    from: ['proxy'],
    to: 'access-log',
    only: ['access-log.js', 'record.js'],
    why:
      'each data-path process writes its own records (no IPC per connection, ' +
      'docs/access-log.md), so the data plane owns an AccessLog; the writer and the ' +
      'record, not the metrics glue (events.ts). TODO(#20): inject a recorder from ' +
      'src/app/ and this arrow goes',
  },
  {
    from: ['demo'],
    to: 'cli',
    only: ['lb.js'],
    why: 'the demo is `corral lb` with three replicas: it reports the same corralVersion()',
  },
]

/** Files of each unit and how an import string from another unit names it. */
const UNITS = {
  ...Object.fromEntries(
    ['cli', 'demo', 'admin', 'metrics', 'sidecar', 'discovery', 'access-log']
      .concat(['coordination', 'proxy', 'health', 'pool', 'config'])
      .map(name => [name, folder(name)]),
  ),
  app: {
    files: ['src/app/**/*.ts'],
    topFiles: ['src/app.ts', 'src/app-*.ts'],
    target: String.raw`(?:app/|app(?:-[a-z0-9-]+)?\.js$)`,
    folder: 'app',
  },
  log: topFile('log'),
  clock: topFile('clock'),
  errors: topFile('errors'),
}

/** @param {string} name */
function folder(name) {
  return {
    files: [`src/${name}/**/*.ts`],
    topFiles: [],
    target: `${name}/`,
    folder: name,
  }
}

/** @param {string} name */
function topFile(name) {
  return {
    files: [],
    topFiles: [`src/${name}.ts`],
    target: String.raw`${name}\.js$`,
    folder: undefined,
  }
}

/** @param {string} unit */
function layerOf(unit) {
  const index = LAYERS.findIndex(layer => layer.includes(unit))
  if (index < 0) throw new Error(`eslint.layers.js: "${unit}" is in no layer`)
  return index
}

/** @param {string} text */
function escape(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/**
 * The `no-restricted-imports` patterns of one unit: every unit above it, and every unit
 * beside it, minus what ALLOWED lets through.
 * @param {string} unit
 * @param {'folder' | 'top'} where files in a folder of src/, or at the top of src/
 */
export function layerPatterns(unit, where) {
  const from = layerOf(unit)
  const prefix = where === 'top' ? String.raw`^\./` : String.raw`^(?:\.\./)+`
  /** @type {{ regex: string, message: string, allowTypeImports?: boolean }[]} */
  const patterns = []
  for (const [to, target] of Object.entries(UNITS)) {
    const layer = layerOf(to)
    if (to === unit || layer > from) continue
    const allowed = ALLOWED.find(a => a.from.includes(unit) && a.to === to)
    const position = layer < from ? 'a layer above' : 'beside it in its layer'
    const message = `layers: ${unit} may not import ${to} (${position}; docs/layers.md)`
    if (allowed === undefined) {
      patterns.push({ regex: prefix + target.target, message })
    } else if (allowed.typeOnly === true) {
      patterns.push({
        regex: prefix + target.target,
        message: `${message}: only \`import type\` of it`,
        allowTypeImports: true,
      })
    } else if (allowed.only !== undefined) {
      const files = allowed.only.map(escape).join('|')
      patterns.push({
        regex: `${prefix}${to}/(?!(?:${files})$)`,
        message: `${message}, except ${allowed.only.join(', ')}`,
      })
    }
  }
  return patterns
}

/**
 * One config block per unit and file kind, for eslint.config.js. Blocks for the pure
 * files come after these there and carry the same patterns (a later block replaces a
 * rule's options, it does not merge them).
 */
export function layerBlocks() {
  return Object.entries(UNITS).flatMap(([unit, u]) => [
    ...(u.files.length === 0
      ? []
      : [
          {
            files: u.files,
            rules: {
              'no-restricted-imports': [
                'error',
                { patterns: layerPatterns(unit, 'folder') },
              ],
            },
          },
        ]),
    ...(u.topFiles.length === 0
      ? []
      : [
          {
            files: u.topFiles,
            rules: {
              'no-restricted-imports': [
                'error',
                { patterns: layerPatterns(unit, 'top') },
              ],
            },
          },
        ]),
  ])
}

/** Every folder and top-level file of src/ the layers know, for the completeness test. */
export function knownUnits() {
  return Object.entries(UNITS).map(([name, u]) => ({
    name,
    folder: u.folder,
    topFiles: u.topFiles,
  }))
}
