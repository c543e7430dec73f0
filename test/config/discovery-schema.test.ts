// The `discovery:` key: defaults, resolution (durations in ms, grace = 3 intervals) and an
// error naming the key, what was expected and what was found for each kind of mistake.
import t from 'tap'
import { ConfigError } from '../../src/errors.js'
import { parseConfig } from '../../src/config/load.js'

const BASE = `listeners:
  - { name: http, bind: "127.0.0.1:8080" }
members: []
`

function issues(yaml: string): string[] {
  try {
    parseConfig(BASE + yaml, { env: {} })
    return []
  } catch (err) {
    if (err instanceof ConfigError) return [...err.issues]
    throw err
  }
}

void t.test('defaults and resolution', t => {
  const c = parseConfig(`${BASE}discovery:\n  - { name: reg, dns: tasks.registry }\n`, {
    env: {},
  })
  t.strictSame(c.discovery, [
    {
      name: 'reg',
      dns: 'tasks.registry',
      record: 'A',
      ports: {},
      intervalMs: 5_000,
      timeoutMs: 2_000,
      tries: 2,
      graceMs: 15_000,
      weight: 1,
    },
  ])
  const full = parseConfig(
    `${BASE}discovery:
  - name: reg
    dns: _http._tcp.registry.ns.svc.cluster.local.
    record: SRV
    ports: { http: 5000 }
    interval: 1s
    servers: ['10.0.0.2', '10.0.0.3:5353', '[fd00::2]:53', 'fd00::3']
    timeout: 500ms
    tries: 3
    grace: 0s
    weight: 4
`,
    { env: {} },
  )
  t.match(full.discovery[0], {
    record: 'SRV',
    intervalMs: 1_000,
    graceMs: 0,
    servers: ['10.0.0.2', '10.0.0.3:5353', '[fd00::2]:53', 'fd00::3'],
  })
  t.strictSame(parseConfig(BASE, { env: {} }).discovery, [], 'none by default')
  t.end()
})

const rows: { name: string; yaml: string; want: RegExp }[] = [
  {
    name: 'a record type it does not know',
    yaml: '  - { name: reg, dns: tasks.registry, record: MX }',
    want: /^discovery\[0\]\.record: expected "A", "AAAA" or "SRV"/,
  },
  {
    name: 'a DNS name with a space',
    yaml: '  - { name: reg, dns: "tasks registry" }',
    want: /^discovery\[0\]\.dns: expected a DNS name/,
  },
  {
    name: 'a server that is a hostname',
    yaml: "  - { name: reg, dns: tasks.registry, servers: ['dns.local:53'] }",
    want: /^discovery\[0\]\.servers\[0\]: expected a DNS server IP address/,
  },
  {
    name: 'a server port out of range',
    yaml: "  - { name: reg, dns: tasks.registry, servers: ['10.0.0.2:70000'] }",
    want: /^discovery\[0\]\.servers\[0\]: expected a DNS server IP address/,
  },
  {
    name: 'an interval too short',
    yaml: '  - { name: reg, dns: tasks.registry, interval: 10ms }',
    want: /^discovery\[0\]\.interval: expected at least 100ms/,
  },
  {
    name: 'ports naming no listener',
    yaml: '  - { name: reg, dns: tasks.registry, ports: { htps: 80 } }',
    want: /^discovery\[0\]\.ports\.htps: expected a listener name \(http\), got "htps"/,
  },
  {
    name: 'two sources with one name',
    yaml: '  - { name: reg, dns: a.registry }\n  - { name: reg, dns: b.registry }',
    want: /^discovery\[1\]\.name: expected a unique discovery name, got "reg" \(also discovery\[0\]\)/,
  },
  {
    name: 'an unknown key',
    yaml: '  - { name: reg, dns: tasks.registry, ttl: 5s }',
    want: /^discovery\[0\]/,
  },
]

void t.test('mistakes are named', t => {
  t.plan(rows.length)
  for (const row of rows) {
    const got = issues(`discovery:\n${row.yaml}\n`)
    t.ok(
      got.length === 1 && row.want.test(got[0] ?? ''),
      `${row.name}: ${JSON.stringify(got)}`,
    )
  }
})
