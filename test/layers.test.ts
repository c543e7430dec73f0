// The layer rule (eslint.layers.js, docs/layers.md) through the repo's own ESLint config:
// an import that runs back up fails, one that runs down passes, the allowed arrows pass
// only as narrowly as written, and every folder and top-level file of src/ has a layer.
// Type-aware rules are switched off: only the import rules are under test, on text.
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ESLint } from 'eslint'
import t from 'tap'
import tseslint from 'typescript-eslint'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

const eslint = new ESLint({
  cwd: ROOT,
  overrideConfig: tseslint.configs.disableTypeChecked,
})

/** The messages of the import rules for `code` as if it were the file `path` of the repo. */
async function importProblems(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, path) })
  if (result === undefined) throw new Error(`no lint result for ${path}`)
  const fatal = result.messages.filter(m => m.fatal === true)
  if (fatal.length > 0)
    throw new Error(`${path}: ${fatal.map(m => m.message).join('; ')}`)
  return result.messages
    .filter(m => m.ruleId === 'no-restricted-imports')
    .map(m => m.message)
}

interface Case {
  readonly name: string
  readonly path: string
  readonly code: string
  /** Import-rule problems expected: 0 (allowed) or 1 (refused). */
  readonly problems: 0 | 1
}

const cases: readonly Case[] = [
  {
    name: 'pool may not import proxy (a layer up)',
    path: 'src/pool/layer-probe.ts',
    code: "import { Relay } from '../proxy/relay.js'\nexport const x = Relay\n",
    problems: 1,
  },
  {
    name: 'nor may a balancer, one folder deeper',
    path: 'src/pool/balancers/layer-probe.ts',
    code: "import { Relay } from '../../proxy/relay.js'\nexport const x = Relay\n",
    problems: 1,
  },
  {
    name: 'a re-export runs up as much as an import',
    path: 'src/pool/layer-probe.ts',
    code: "export { Relay } from '../proxy/relay.js'\n",
    problems: 1,
  },
  {
    name: 'pool may import config (below it)',
    path: 'src/pool/layer-probe.ts',
    code: "import type { Config } from '../config/types.js'\nexport type X = Config\n",
    problems: 0,
  },
  {
    name: 'pool may still not import an I/O module (the pure rule kept)',
    path: 'src/pool/layer-probe.ts',
    code: "import { connect } from 'node:net'\nexport const x = connect\n",
    problems: 1,
  },
  {
    name: 'a pure config file may not import pool (its layer patterns kept)',
    path: 'src/config/diff.ts',
    code: "import { Pool } from '../pool/pool.js'\nexport const x = Pool\n",
    problems: 1,
  },
  {
    name: 'proxy may not import metrics (the arrow worker-runtime.ts had)',
    path: 'src/proxy/layer-probe.ts',
    code: "import { createWorkerMetrics } from '../metrics/registry.js'\nexport const x = createWorkerMetrics\n",
    problems: 1,
  },
  {
    name: 'the app may import metrics',
    path: 'src/app/layer-probe.ts',
    code: "import { createWorkerMetrics } from '../metrics/registry.js'\nexport const x = createWorkerMetrics\n",
    problems: 0,
  },
  {
    name: 'a top-level app file may not import cli',
    path: 'src/app-layer-probe.ts',
    code: "import { runLb } from './cli/lb.js'\nexport const x = runLb\n",
    problems: 1,
  },
  {
    name: 'coordination may not import a top-level app file',
    path: 'src/coordination/layer-probe.ts',
    code: "import { App } from '../app.js'\nexport const x = App\n",
    problems: 1,
  },
  {
    name: 'log.ts may not import config',
    path: 'src/log.ts',
    code: "import type { Config } from './config/types.js'\nexport type X = Config\n",
    problems: 1,
  },
  {
    name: 'admin may not import sidecar (beside it)',
    path: 'src/admin/layer-probe.ts',
    code: "import { Sidecar } from '../sidecar/sidecar.js'\nexport const x = Sidecar\n",
    problems: 1,
  },
  {
    name: 'discovery may import the types of its metric handles',
    path: 'src/discovery/layer-probe.ts',
    code: "import type { DiscoveryMetrics } from '../metrics/discovery.js'\nexport type X = DiscoveryMetrics\n",
    problems: 0,
  },
  {
    name: 'but not a metrics value',
    path: 'src/discovery/layer-probe.ts',
    code: "import { createDiscoveryMetrics } from '../metrics/discovery.js'\nexport const x = createDiscoveryMetrics\n",
    problems: 1,
  },
  {
    name: 'health may import proxy',
    path: 'src/health/layer-probe.ts',
    code: "import { NO_DELAY } from '../proxy/connect.js'\nexport const x = NO_DELAY\n",
    problems: 0,
  },
  {
    name: 'proxy may not import health',
    path: 'src/proxy/layer-probe.ts',
    code: "import { Prober } from '../health/probe.js'\nexport const x = Prober\n",
    problems: 1,
  },
  {
    name: 'proxy may import the access-log writer',
    path: 'src/proxy/layer-probe.ts',
    code: "import { AccessLog } from '../access-log/access-log.js'\nexport const x = AccessLog\n",
    problems: 0,
  },
  {
    name: 'but not the access log’s metrics glue',
    path: 'src/proxy/layer-probe.ts',
    code: "import { accessLogEvents } from '../access-log/events.js'\nexport const x = accessLogEvents\n",
    problems: 1,
  },
]

void t.test(
  'the layer rule refuses upward and sideways imports, and only those',
  async t => {
    t.plan(cases.length)
    for (const c of cases) {
      const problems = await importProblems(c.path, c.code)
      t.equal(problems.length, c.problems, `${c.name}: ${problems.join('; ') || 'none'}`)
    }
  },
)

void t.test('every folder and top-level file of src/ has a layer', async t => {
  const entries = readdirSync(join(ROOT, 'src'), { withFileTypes: true })
  const units = entries.filter(e => e.isDirectory() || e.name.endsWith('.ts'))
  t.ok(units.length > 10, 'src/ listed')
  for (const entry of units) {
    // Whatever the layer, something sits above it: cli for all, demo for cli itself.
    const above = entry.name === 'cli' ? 'demo/demo.js' : 'cli/program.js'
    const [path, from] = entry.isDirectory()
      ? [`src/${entry.name}/layer-probe.ts`, `../${above}`]
      : [`src/${entry.name}`, `./${above}`]
    const problems = await importProblems(path, `import '${from}'\n`)
    t.equal(
      problems.length,
      1,
      `${path} importing ${from} is refused (else: add src/${entry.name} to eslint.layers.js)`,
    )
  }
})
