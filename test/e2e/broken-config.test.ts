// Broken config files, run through the real CLI: `check-config` and `lb` both refuse each
// one with exit code 1 and a message naming what is wrong; `lb` never gets to "ready".
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { runCorralCli } from '../helpers/corral-process.js'

interface Case {
  readonly name: string
  /** File contents; a directory is made instead when `directory` is set. */
  readonly contents?: string | Buffer
  readonly directory?: true
  /** Substrings every one of which stderr must hold. */
  readonly messages: readonly string[]
  /** Also run `corral lb` (each spawn costs ~0.5 s of CPU; one case per kind of failure). */
  readonly lb?: true
  /** 'invalid' or 'cannot be read', as the first stderr line says. */
  readonly verdict?: 'is invalid' | 'cannot be read'
}

// Each case spawns node once or twice; on a shared, loaded 2-core machine a spawn can take
// several seconds (316 s for this file at load 25 on 2 cores), so it gets up to 600 s.
t.setTimeout(600_000)

const EMPTY = 'the file is empty (or holds only comments)'
const LISTENERS = 'listeners:\n  - { name: http, bind: "127.0.0.1:0" }\n'

function members(n: number): string {
  const lines = Array.from(
    { length: n },
    (_, i) => `  - { id: m${i}, address: 10.0.${Math.floor(i / 250)}.${(i % 250) + 1} }`,
  )
  return `${LISTENERS}members:\n${lines.join('\n')}\n`
}

function aliasBomb(): string {
  const rows = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
  for (const [name, prev] of [
    ['b', 'a'],
    ['c', 'b'],
    ['d', 'c'],
    ['e', 'd'],
    ['f', 'e'],
  ] as const) {
    rows.push(
      `${name}: &${name} [${Array.from({ length: 10 }, () => `*${prev}`).join(',')}]`,
    )
  }
  return `${rows.join('\n')}\n`
}

const cases: readonly Case[] = [
  { name: 'an empty (0-byte) file', contents: '', messages: [EMPTY], lb: true },
  {
    name: 'a file of comments only',
    contents: '# corral config\n# (template rendered nothing)\n',
    messages: [EMPTY],

    lb: true,
  },
  { name: 'a file of whitespace only', contents: '\n   \n\t\n', messages: [EMPTY] },
  { name: 'a document that is only "---"', contents: '---\n', messages: [EMPTY] },
  {
    name: 'text that is not YAML',
    contents: 'listeners: [ { name: http\nmembers: {\n',
    messages: ['line 2, column 1: YAML syntax error'],
    lb: true,
  },
  {
    name: 'a YAML scalar instead of a mapping',
    contents: 'just some text\n',
    messages: ['(top level): expected a mapping of config keys, got "just some text"'],
  },
  {
    name: 'a YAML list instead of a mapping',
    contents: '- listeners\n- members\n',
    messages: ['(top level): expected a mapping of config keys, got a list'],
  },
  {
    name: 'wrong types everywhere',
    contents:
      'listeners: 5\nmembers: "r1"\nhealth: []\nbalance: 3\nslowStart: true\n' +
      'allDown: [reject]\ntimeouts: "2s"\nlimits: 7\nadmin: yes\nworkers: many\n',
    messages: [
      '(10 problems)',
      'listeners: expected a list of listeners, got 5',
      'members: expected a list of members, got "r1"',
      'health: expected a mapping',
      'balance: expected',
      'slowStart: expected a duration',
      'allDown: expected "reject" or "fail-open"',
      'timeouts: expected a mapping',
      'limits: expected a mapping',
      'admin: expected a mapping',
      'workers: expected "auto" or an integer 0-64, got "many"',
    ],

    lb: true,
  },
  {
    name: 'wrong types inside a member',
    contents: `${LISTENERS}members:\n  - { id: "bad id!", address: 7, ports: { http: abc }, weight: 0 }\n`,
    messages: [
      'members[0].id:',
      'members[0].address:',
      'members[0].ports.http: expected an integer 1-65535, got "abc"',
      'members[0].weight:',
    ],
  },
  {
    name: 'unknown keys at the top and nested',
    contents: `${LISTENERS}membres: []\nhealth: { intervall: 2s }\n`,
    messages: [
      'membres: unknown key (remove it or check its spelling)',
      'health.intervall: unknown key (remove it or check its spelling)',
    ],
  },
  {
    name: 'a missing environment variable',
    contents: `${LISTENERS}admin: { bind: "127.0.0.1:\${CORRAL_TEST_UNSET_PORT}" }\n`,
    messages: ['admin.bind: environment variable CORRAL_TEST_UNSET_PORT is not set'],
  },
  {
    name: 'a file over 1 MiB',
    contents: `members: []\n${'# padding padding padding padding padding padding\n'.repeat(22_000)}`,
    messages: ['expected a config file of at most 1048576 bytes (1 MiB), got'],

    lb: true,
  },
  {
    name: '10,000 members',
    contents: members(10_000),
    messages: ['members: expected at most 1000 members', 'got 10000'],

    lb: true,
  },
  {
    name: 'binary bytes with a NUL',
    contents: Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0xff, 0x00]),
    messages: ['(top level): expected YAML text, got a NUL byte at offset 7'],

    lb: true,
  },
  {
    name: 'binary bytes without a NUL',
    contents: Buffer.from([0xff, 0xfe, 0x80, 0x81, 0x20, 0x61]),
    messages: ['(top level): expected a mapping of config keys, got'],
  },
  {
    name: 'an alias bomb',
    contents: aliasBomb(),
    messages: ['(top level): Excessive alias count'],
  },
  {
    name: 'nesting too deep for the parser',
    contents: `${'['.repeat(100_000)}${']'.repeat(100_000)}\n`,
    messages: ['YAML syntax error'],
  },
  {
    name: 'a directory instead of a file',
    directory: true,
    messages: ['cannot read config file', 'EISDIR'],
    verdict: 'cannot be read',

    lb: true,
  },
]

void t.test('every broken config file is refused by check-config and by lb', async t => {
  const dir = t.testdir()
  for (const [i, c] of cases.entries()) {
    await t.test(c.name, async t => {
      const path = join(dir, `case-${i}.yaml`)
      if (c.directory === true) mkdirSync(path)
      else writeFileSync(path, c.contents ?? '')
      const commands =
        c.lb === true ? (['check-config', 'lb'] as const) : (['check-config'] as const)
      for (const command of commands) {
        const res = await runCorralCli([command, '--config', path])
        t.equal(res.code, 1, `${command} exits 1`)
        t.match(
          res.stderr,
          `corral: config ${path} ${c.verdict ?? 'is invalid'}`,
          `${command} says the file ${c.verdict ?? 'is invalid'}`,
        )
        for (const message of c.messages)
          t.match(res.stderr, message, `${command}: ${message}`)
        t.notMatch(res.stdout, 'corral ready', `${command} starts nothing`)
      }
    })
  }
})

void t.test('the twins of the refused files are accepted by check-config', async t => {
  const dir = t.testdir()
  const twins = [
    { name: 'an explicit members: [] alone', contents: 'members: []\n' },
    { name: 'a file of 1,000 members', contents: members(1_000) },
  ]
  for (const [i, c] of twins.entries()) {
    const path = join(dir, `twin-${i}.yaml`)
    writeFileSync(path, c.contents)
    // lb is not run: these are valid and would start a load balancer (on :80 for the first).
    const res = await runCorralCli(['check-config', '--config', path])
    t.equal(res.code, 0, `${c.name}: exit 0; stderr: ${res.stderr}`)
    t.match(res.stdout, `# ${path} is valid`, c.name)
  }
})
