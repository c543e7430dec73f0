// The sidecar configs under examples/ are valid `corral sidecar` configs (the compose one
// gets member.id and member.address from --set, as examples/compose.yaml passes them).
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { loadSidecarConfig } from '../../src/sidecar/config.js'

const examples = fileURLToPath(new URL('../../../examples/', import.meta.url))

const cases: readonly {
  name: string
  file: string
  overrides: readonly { path: string; value: unknown }[]
}[] = [
  { name: 'examples/sidecar.yaml', file: 'sidecar.yaml', overrides: [] },
  {
    name: 'examples/compose/sidecar.yaml with its --set flags',
    file: 'compose/sidecar.yaml',
    overrides: [
      { path: 'member.id', value: 'r1' },
      { path: 'member.address', value: 'replica1' },
    ],
  },
]

void t.test('every sidecar example loads', t => {
  t.plan(cases.length)
  for (const c of cases) {
    const text = readFileSync(`${examples}${c.file}`, 'utf8')
    t.doesNotThrow(
      () =>
        loadSidecarConfig(c.file, {
          readFile: () => text,
          env: { REDIS_PASSWORD: 'example' },
          overrides: c.overrides,
        }),
      c.name,
    )
  }
})
