// The command-line contract: check-config, help texts, exit codes.
import t from 'tap'
import { runCorralCli } from '../helpers/corral-process.js'

void t.test(
  'check-config prints the resolved config and exits 0 for a valid file',
  async t => {
    const dir = t.testdir({
      'ok.yaml':
        'members:\n  - { id: r1, address: 10.0.0.11 }\nadmin: { token: "${TOKEN}" }\n',
    })
    const res = await runCorralCli(['check-config', '--config', `${dir}/ok.yaml`], {
      TOKEN: 'hunter2',
    })
    t.equal(res.code, 0)
    t.match(res.stdout, /is valid/)
    t.match(res.stdout, /intervalMs: 2000/)
    t.match(res.stdout, /port: 443/, 'default https listener on 443')
    t.notMatch(res.stdout, /hunter2/, 'the token is redacted')
  },
)

void t.test('check-config prints every error and exits 1', async t => {
  const dir = t.testdir({
    'bad.yaml': [
      'members:',
      '  - { id: r1, address: 10.0.0.11, ports: { http: 80 } }',
      '  - { id: r2, address: 10.0.0.12, ports: { http: 80 } }',
      '  - { id: r3, address: 10.0.0.13, ports: { http: abc } }',
      '  - { id: r1, address: 10.0.0.14 }',
      'health: { interval: fast }',
      'balance: random',
      'colour: blue',
      '',
    ].join('\n'),
  })
  const res = await runCorralCli(['check-config', '--config', `${dir}/bad.yaml`])
  t.equal(res.code, 1)
  for (const line of [
    'members[2].ports.http: expected an integer 1-65535, got "abc"',
    'members[3].id: expected a unique member id, got "r1" (also members[0])',
    'health.interval: expected a duration such as "250ms", "2s" or "1m", got "fast"',
    'balance: expected "round-robin", "least-connections" or "consistent-hash", got "random"',
    'colour: unknown key',
  ]) {
    t.ok(res.stderr.includes(line), `names the problem: ${line}`)
  }
})

void t.test('a missing config file is a clear error', async t => {
  const res = await runCorralCli(['check-config', '--config', '/nonexistent/corral.yaml'])
  t.equal(res.code, 1)
  t.match(res.stderr, /cannot read config file \/nonexistent\/corral\.yaml/)
})

void t.test('help documents the commands and flags', async t => {
  const top = await runCorralCli(['--help'])
  t.equal(top.code, 0)
  t.match(top.stdout, /lb \[options\]/)
  t.match(top.stdout, /check-config \[options\]/)
  const lb = await runCorralCli(['lb', '--help'])
  t.equal(lb.code, 0)
  for (const flag of ['--config', '--log-level', '--log-format']) t.match(lb.stdout, flag)
  const unknown = await runCorralCli(['frobnicate'])
  t.not(unknown.code, 0, 'an unknown command fails')
  t.match(unknown.stderr, /unknown command/)
  const badLevel = await runCorralCli(['lb', '--log-level', 'loud'])
  t.not(badLevel.code, 0)
  t.match(
    badLevel.stderr,
    /expected one of fatal, error, warn, info, debug, trace, silent/,
  )
})
