// How the benchmark report shows a command line: relative to the repository, no machine paths.
import t from 'tap'
import { displayArgv, shellQuote, withoutRoot } from '../../bench/procs.js'

void t.test('commands are shown relative to the repository', t => {
  const cases: { name: string; argv: string[]; expect: string }[] = [
    {
      name: 'this node binary is "node", a dist path is relative',
      argv: [
        'taskset',
        '-c',
        '1',
        '/opt/node/bin/node',
        '/srv/corral/dist/bench/backend-server.js',
        '[{"kind":"http"}]',
      ],
      expect: `taskset -c 1 node dist/bench/backend-server.js '[{"kind":"http"}]'`,
    },
    {
      name: 'a generated config under the repository is relative',
      argv: [
        '/usr/sbin/haproxy',
        '-f',
        '/srv/corral/bench/results/tmp/x/haproxy.cfg',
        '-db',
      ],
      expect: '/usr/sbin/haproxy -f bench/results/tmp/x/haproxy.cfg -db',
    },
    {
      name: 'a path inside an option value is relative too',
      argv: [
        '/opt/node/bin/node',
        '--cpu-prof-dir=/srv/corral/bench/results/prof',
        'x.js',
      ],
      expect: 'node --cpu-prof-dir=bench/results/prof x.js',
    },
    {
      name: 'a sibling directory with the same prefix is left alone',
      argv: ['cat', '/srv/corral-old/file', '/tmp/outside'],
      expect: 'cat /srv/corral-old/file /tmp/outside',
    },
  ]
  t.plan(cases.length)
  for (const c of cases) {
    t.equal(
      shellQuote(displayArgv(c.argv, '/srv/corral', '/opt/node/bin/node')),
      c.expect,
      c.name,
    )
  }
})

void t.test(
  'the committed reports name no absolute path of the machine they ran on',
  async t => {
    const { readFileSync, readdirSync } = await import('node:fs')
    const root = new URL('../../../', import.meta.url)
    const files = [
      'docs/benchmarks.md',
      ...readdirSync(new URL('bench/results/', root))
        .filter(f => f.endsWith('.json'))
        .map(f => `bench/results/${f}`),
    ]
    for (const file of files) {
      const text = readFileSync(new URL(file, root), 'utf8')
      t.notMatch(
        text,
        /(?<![\w.])\/(?:work|home|root|Users|srv)\/\S*(?:dist|bench)\//,
        file,
      )
    }
  },
)

void t.test(
  'attached config texts lose the repository root (registry, coordination)',
  t => {
    t.equal(
      withoutRoot(
        'rootdirectory: /srv/corral/bench/results/tmp/x/storage\ncert: /srv/corral/c.pem',
        '/srv/corral',
      ),
      'rootdirectory: bench/results/tmp/x/storage\ncert: c.pem',
    )
    t.equal(withoutRoot('/etc/hosts', '/srv/corral/'), '/etc/hosts', 'outside paths stay')
    t.end()
  },
)
