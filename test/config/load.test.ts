import { readdirSync, readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { loadConfigFile, parseConfig, type LoadOptions } from '../../src/config/load.js'
import type { Config } from '../../src/config/types.js'
import { ConfigError } from '../../src/errors.js'

const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'

/** A readFile that knows one CA file and fails like fs for any other path. */
function fakeReadFile(path: string): string {
  if (path === '/etc/corral/ca.pem') return CA_PEM
  throw new Error(`ENOENT: no such file or directory, open '${path}'`)
}

/** Options that never touch the real environment or file system. */
function isolated(env: NodeJS.ProcessEnv = {}): LoadOptions {
  return { env, readFile: fakeReadFile }
}

/** The config parseConfig returned, or the issue lines it threw. */
type Outcome = { ok: true; config: Config } | { ok: false; issues: readonly string[] }

function outcome(yaml: string, options: LoadOptions): Outcome {
  try {
    return { ok: true, config: parseConfig(yaml, options) }
  } catch (err) {
    if (err instanceof ConfigError && err.code === 'CONFIG_INVALID') {
      return { ok: false, issues: err.issues }
    }
    throw err
  }
}

/** Every object and array reachable from `value` that is not frozen, by key path. */
function unfrozenPaths(value: unknown, path = '(top level)'): string[] {
  if (value === null || typeof value !== 'object') return []
  const here = Object.isFrozen(value) ? [] : [path]
  return [
    ...here,
    ...Object.entries(value).flatMap(([k, v]) => unfrozenPaths(v, `${path}.${k}`)),
  ]
}

const DEFAULTS: Config = {
  discovery: [],
  listeners: [
    { name: 'http', host: '0.0.0.0', port: 80 },
    { name: 'https', host: '0.0.0.0', port: 443 },
  ],
  members: [],
  health: {
    port: 'http',
    scheme: 'http',
    path: '/health',
    intervalMs: 2_000,
    fastIntervalMs: 2_000,
    downIntervalMs: 2_000,
    jitter: 0.1,
    timeoutMs: 1_000,
    rise: 2,
    fall: 3,
    expectStatus: [[200, 299]],
    maxBodyBytes: 4096,
    headers: {},
    tls: { insecure: false },
    initialState: 'down',
    onMarkedDown: 'keep-connections',
    proxyProtocol: 'inherit',
    proxyProtocolSource: 'local',
  },
  balance: 'least-connections',
  slowStartMs: 0,
  allDown: 'reject',
  timeouts: { connectMs: 2_000, idleMs: 600_000, shutdownMs: 30_000 },
  limits: {
    maxConnections: 10_000,
    maxConnectionsPerMember: 0,
    connectAttempts: 3,
  },
  admin: { host: '127.0.0.1', port: 9901 },
  workers: availableParallelism(),
  dataPath: 'auto',
  proxyProtocol: 'off',
  proxyProtocolSniWaitMs: 100,
  accessLog: {
    enabled: false,
    destination: 'stdout',
    sample: 1,
    skipEmpty: true,
    maxLinesPerSecond: 0,
    clientAddress: 'full',
    interim: 0,
  },
  coordination: {
    policy: 'quorum',
    probes: 'shared',
    heartbeat: 1000,
    ttl: 3000,
    resync: 5000,
    warmStart: 300000,
    drainLease: 600000,
    drainBudget: true,
  },
}

const FULL_YAML = `
listeners:
  - name: http
    bind: 0.0.0.0:80
  - name: https
    bind: "[::]:443"
members:
  - id: dtr-1
    address: 10.0.0.11
  - id: dtr-2
    address: dtr-2.internal
    ports: { https: 8443 }
    weight: 2
health:
  port: https
  scheme: https
  path: /_ping
  interval: 5s
  fastInterval: 500ms
  downInterval: 10s
  jitter: 0.2
  timeout: 1.5s
  rise: 3
  fall: 2
  expectStatus: 2xx, 301-302
  maxBodyBytes: 1024
  headers: { Host: dtr.example.com }
  tls:
    ca: /etc/corral/ca.pem
    servername: dtr.example.com
  initialState: up
  onMarkedDown: close-connections
balance: consistent-hash
slowStart: 30s
allDown: fail-open
timeouts: { connect: 3s, idle: 1h, shutdown: 1m }
limits:
  maxConnections: 5000
  maxConnectionsPerMember: 100
  connectAttempts: 2
admin:
  bind: 127.0.0.1:9902
  token: \${ADMIN_TOKEN}
workers: 2
`

const FULL_CONFIG: Config = {
  discovery: [],
  listeners: [
    { name: 'http', host: '0.0.0.0', port: 80 },
    { name: 'https', host: '::', port: 443 },
  ],
  members: [
    { id: 'dtr-1', address: '10.0.0.11', ports: {}, weight: 1 },
    { id: 'dtr-2', address: 'dtr-2.internal', ports: { https: 8443 }, weight: 2 },
  ],
  health: {
    port: 'https',
    scheme: 'https',
    path: '/_ping',
    intervalMs: 5_000,
    fastIntervalMs: 500,
    downIntervalMs: 10_000,
    jitter: 0.2,
    timeoutMs: 1_500,
    rise: 3,
    fall: 2,
    expectStatus: [
      [200, 299],
      [301, 302],
    ],
    maxBodyBytes: 1024,
    headers: { Host: 'dtr.example.com' },
    tls: {
      insecure: false,
      ca: '/etc/corral/ca.pem',
      caPem: CA_PEM,
      servername: 'dtr.example.com',
    },
    initialState: 'up',
    onMarkedDown: 'close-connections',
    proxyProtocol: 'inherit',
    proxyProtocolSource: 'local',
  },
  balance: 'consistent-hash',
  slowStartMs: 30_000,
  allDown: 'fail-open',
  timeouts: { connectMs: 3_000, idleMs: 3_600_000, shutdownMs: 60_000 },
  limits: {
    maxConnections: 5000,
    maxConnectionsPerMember: 100,
    connectAttempts: 2,
  },
  admin: { host: '127.0.0.1', port: 9902, token: 's3cret' },
  workers: 2,
  dataPath: 'auto',
  proxyProtocol: 'off',
  proxyProtocolSniWaitMs: 100,
  accessLog: {
    enabled: false,
    destination: 'stdout',
    sample: 1,
    skipEmpty: true,
    maxLinesPerSecond: 0,
    clientAddress: 'full',
    interim: 0,
  },
  coordination: {
    policy: 'quorum',
    probes: 'shared',
    heartbeat: 1000,
    ttl: 3000,
    resync: 5000,
    warmStart: 300000,
    drainLease: 600000,
    drainBudget: true,
  },
}

const EMPTY_FILE =
  '(top level): the file is empty (or holds only comments); expected a mapping of config keys such as "listeners:" and "members:" (write "members: []" to start with no members)'
const UNKNOWN = 'unknown key (remove it or check its spelling)'
const DURATION = 'expected a duration such as "250ms", "2s" or "1m"'
const BIND = 'expected "host:port" with a port 0-65535, e.g. "0.0.0.0:443"'

void t.test('invalid configs are rejected with one exact line per problem', t => {
  const cases: {
    name: string
    yaml: string
    env?: NodeJS.ProcessEnv
    expectIssues: readonly string[]
  }[] = [
    {
      name: 'a port that is not a number names the member, the listener and the value',
      yaml: `
members:
  - { id: a, address: 10.0.0.1 }
  - { id: b, address: 10.0.0.2 }
  - { id: c, address: 10.0.0.3, ports: { http: abc } }
`,
      expectIssues: ['members[2].ports.http: expected an integer 1-65535, got "abc"'],
    },
    {
      name: 'a port out of range',
      yaml: 'members: [{ id: a, address: x, ports: { https: 70000 } }]',
      expectIssues: ['members[0].ports.https: expected an integer 1-65535, got 70000'],
    },
    {
      name: 'unknown keys at every depth',
      yaml: `
lsteners: []
members: [{ id: a, address: x, wieght: 2 }]
health: { intervall: 2s, tls: { verify: true } }
timeouts: { conect: 1s }
`,
      expectIssues: [
        `members[0].wieght: ${UNKNOWN}`,
        `health.tls.verify: ${UNKNOWN}`,
        `health.intervall: ${UNKNOWN}`,
        `timeouts.conect: ${UNKNOWN}`,
        `lsteners: ${UNKNOWN}`,
      ],
    },
    {
      name: 'duplicate member ids name the first occurrence',
      yaml: `
members:
  - { id: dtr-1, address: 10.0.0.1 }
  - { id: dtr-2, address: 10.0.0.2 }
  - { id: dtr-1, address: 10.0.0.3 }
`,
      expectIssues: [
        'members[2].id: expected a unique member id, got "dtr-1" (also members[0])',
      ],
    },
    {
      name: 'ports naming no listener lists the listeners there are',
      yaml: 'members: [{ id: a, address: x, ports: { htps: 8443 } }]',
      expectIssues: [
        'members[0].ports.htps: expected a listener name (http, https), got "htps"',
      ],
    },
    {
      name: 'ports keyed by something that cannot be a listener name',
      yaml: 'members: [{ id: a, address: x, ports: { HTTPS: 8443 } }]',
      expectIssues: ['members[0].ports.HTTPS: expected a listener name, got "HTTPS"'],
    },
    {
      name: 'health.port naming no listener',
      yaml: 'health: { port: admin }',
      expectIssues: [
        'health.port: expected a listener name (http, https) or a port number, got "admin"',
      ],
    },
    {
      name: 'health.port that is not a valid name is reported once',
      yaml: 'health: { port: Admin }',
      expectIssues: [
        'health.port: expected a lowercase name: a-z, 0-9, "-", "_", ≤ 32 chars, got "Admin"',
      ],
    },
    {
      name: 'cross-field problems are reported together with field problems',
      yaml: `
listeners: [{ name: web, bind: "0.0.0.0:80" }]
members:
  - { id: a, address: x, ports: { https: 443 } }
  - { id: a, address: "bad address!" }
health: { port: https, interval: soon }
extra: 1
`,
      expectIssues: [
        'members[1].address: expected a hostname or IP address, got "bad address!"',
        `health.interval: ${DURATION}, got "soon"`,
        `extra: ${UNKNOWN}`,
        'members[0].ports.https: expected a listener name (web), got "https"',
        'members[1].id: expected a unique member id, got "a" (also members[0])',
        'health.port: expected a listener name (web) or a port number, got "https"',
      ],
    },
    {
      name: 'an invalid member id is not also reported as a duplicate',
      yaml: 'members: [{ id: -a, address: x }, { id: -a, address: y }]',
      expectIssues: [
        'members[0].id: expected a member id: letters, digits, ".", "_", "-", ≤ 63 chars, got "-a"',
        'members[1].id: expected a member id: letters, digits, ".", "_", "-", ≤ 63 chars, got "-a"',
      ],
    },
    {
      name: 'an invalid listener name does not cascade into every reference to it',
      yaml: `
listeners: [{ name: Web, bind: "0.0.0.0:80" }]
members: [{ id: a, address: x, ports: { web: 8080 } }]
health: { port: web }
`,
      expectIssues: [
        'listeners[0].name: expected a lowercase name: a-z, 0-9, "-", "_", ≤ 32 chars, got "Web"',
      ],
    },
    {
      name: 'duplicate listener names',
      yaml: 'listeners: [{ name: web, bind: "0.0.0.0:80" }, { name: web, bind: "0.0.0.0:81" }]',
      expectIssues: [
        'listeners[1].name: expected a unique listener name, got "web" (also listeners[0])',
      ],
    },
    {
      name: 'listeners and admin competing for one address',
      yaml: `
listeners:
  - { name: a, bind: "0.0.0.0:8080" }
  - { name: b, bind: "127.0.0.1:8080" }
  - { name: c, bind: "[::1]:9000" }
  - { name: d, bind: "0.0.0.0:9000" }
  - { name: e, bind: "127.0.0.1:0" }
  - { name: f, bind: "127.0.0.1:0" }
  - { name: g, bind: "[::]:7000" }
  - { name: h, bind: "10.0.0.1:7000" }
admin: { bind: "localhost:8080" }
`,
      expectIssues: [
        'listeners[1].bind: expected an address no other listener uses, got "127.0.0.1:8080" (listeners[0] binds "0.0.0.0:8080")',
        'listeners[7].bind: expected an address no other listener uses, got "10.0.0.1:7000" (listeners[6] binds "[::]:7000")',
        'admin.bind: expected an address no listener uses, got "localhost:8080" (listeners[0] binds "0.0.0.0:8080")',
      ],
    },
    {
      name: 'bad durations',
      yaml: `
health: { interval: "2", timeout: 5, fastInterval: 10ms, downInterval: 1000h }
timeouts: { connect: 1 s }
slowStart: -1s
`,
      expectIssues: [
        `health.interval: ${DURATION}, got "2"`,
        'health.fastInterval: expected at least 50ms, got "10ms"',
        'health.downInterval: expected at most 596h, got "1000h"',
        `health.timeout: ${DURATION}, got 5`,
        `slowStart: ${DURATION}, got "-1s"`,
        `timeouts.connect: ${DURATION}, got "1 s"`,
      ],
    },
    {
      name: 'bad enum values',
      yaml: `
health: { scheme: ftp, initialState: maybe, onMarkedDown: drop }
balance: random
allDown: open
workers: many
`,
      expectIssues: [
        'health.scheme: expected "http" or "https", got "ftp"',
        'health.initialState: expected "down" or "up", got "maybe"',
        'health.onMarkedDown: expected "keep-connections" or "close-connections", got "drop"',
        'balance: expected "round-robin", "least-connections" or "consistent-hash", got "random"',
        'allDown: expected "reject" or "fail-open", got "open"',
        'workers: expected "auto" or an integer 0-64, got "many"',
      ],
    },
    {
      name: 'bad bind strings',
      yaml: `
listeners:
  - { name: a, bind: localhost }
  - { name: b, bind: "1.2.3.4:70000" }
  - { name: c, bind: 80 }
  - { name: d, bind: ":80" }
admin: { bind: "::1:9901" }
`,
      expectIssues: [
        `listeners[0].bind: ${BIND}, got "localhost"`,
        `listeners[1].bind: ${BIND}, got "1.2.3.4:70000"`,
        'listeners[2].bind: expected "host:port", e.g. "0.0.0.0:443", got 80',
        `listeners[3].bind: ${BIND}, got ":80"`,
        `admin.bind: ${BIND}, got "::1:9901"`,
      ],
    },
    {
      name: 'other bad values',
      yaml: `
listeners: []
members: [10.0.0.1, { id: b }]
health:
  jitter: 2
  expectStatus: 300-200
  headers: { "X Forwarded": a, Host: 1 }
  tls: { insecure: yes }
admin: { token: "" }
`,
      expectIssues: [
        'listeners: expected at least one listener, got an empty list',
        'members[0]: expected a mapping with id and address, got "10.0.0.1"',
        'members[1].address: expected a hostname or IP address, got nothing',
        'health.jitter: expected a number 0-0.5, got 2',
        'health.expectStatus: expected status codes such as "2xx", "200" or "200-399", got "300-200"',
        'health.headers.X Forwarded: expected an HTTP header name, got "X Forwarded"',
        'health.headers.Host: expected a header value, got 1',
        'health.tls.insecure: expected true or false, got "yes"',
        'admin.token: expected a non-empty string, got ""',
      ],
    },
    {
      name: 'an empty section is an error, not a default',
      yaml: 'health:\nmembers:\n',
      expectIssues: [
        'members: expected a list of members, got null',
        'health: expected a mapping, got null',
      ],
    },
    {
      name: 'a missing environment variable is one line, not two',
      yaml: 'members: [{ id: a, address: "${DTR_1_ADDR}" }]',
      env: { DTR_2_ADDR: '10.0.0.2' },
      expectIssues: [
        'members[0].address: environment variable DTR_1_ADDR is not set (set it, or write ${DTR_1_ADDR:-default})',
      ],
    },
    {
      name: 'a missing environment variable in health.tls.ca is not also an unreadable file',
      yaml: 'health: { tls: { ca: "${CA_FILE}" } }',
      expectIssues: [
        'health.tls.ca: environment variable CA_FILE is not set (set it, or write ${CA_FILE:-default})',
      ],
    },
    {
      name: 'a malformed reference',
      yaml: 'admin: { token: "a${1X}" }',
      expectIssues: [
        'admin.token: expected ${NAME} or ${NAME:-default} after "${", got "a${1X}" (write $${ for a literal "${")',
      ],
    },
    {
      name: 'an unquoted reference is typed like YAML, so a number is no token',
      yaml: 'admin:\n  token: ${TOKEN}\n',
      env: { TOKEN: '12345' },
      expectIssues: ['admin.token: expected a non-empty string, got 12345'],
    },
    {
      name: 'an unreadable CA file is reported with the other problems',
      yaml: 'health: { interval: 0s, tls: { ca: /missing/ca.pem } }',
      expectIssues: [
        'health.interval: expected at least 50ms, got "0s"',
        "health.tls.ca: cannot read /missing/ca.pem: ENOENT: no such file or directory, open '/missing/ca.pem'",
      ],
    },
    {
      name: 'a YAML syntax error gives its position',
      yaml: 'health:\n  path: /x\n   rise: 2\n',
      expectIssues: [
        'line 2, column 9: YAML syntax error: Nested mappings are not allowed in compact mappings',
        'line 2, column 9: YAML syntax error: Implicit keys need to be on a single line',
      ],
    },
    {
      name: 'an unclosed quote',
      yaml: 'balance: "round-robin\nworkers: 1\n',
      expectIssues: ['line 3, column 1: YAML syntax error: Missing closing "quote'],
    },
    {
      name: 'a key written twice is a YAML error',
      yaml: 'balance: round-robin\nbalance: least-connections\n',
      expectIssues: ['line 2, column 1: YAML syntax error: Map keys must be unique'],
    },
    {
      name: 'a list at the top level',
      yaml: '- name: http\n  bind: 0.0.0.0:80\n',
      expectIssues: ['(top level): expected a mapping of config keys, got a list'],
    },
    {
      name: 'a scalar at the top level',
      yaml: 'corral',
      expectIssues: ['(top level): expected a mapping of config keys, got "corral"'],
    },
  ]
  t.plan(cases.length)
  for (const c of cases) {
    t.strictSame(
      outcome(c.yaml, isolated(c.env)),
      { ok: false, issues: c.expectIssues },
      c.name,
    )
  }
})

void t.test('valid configs resolve to the expected values', t => {
  const cases: {
    name: string
    yaml: string
    env?: NodeJS.ProcessEnv
    select: (config: Config) => unknown
    expect: unknown
  }[] = [
    {
      name: '${VAR} takes the variable',
      yaml: 'members: [{ id: a, address: "${ADDR}" }]',
      env: { ADDR: '10.0.0.7' },
      select: c => c.members[0]?.address,
      expect: '10.0.0.7',
    },
    {
      name: '${VAR:-default} takes the default when the variable is unset',
      yaml: 'members: [{ id: a, address: "${ADDR:-10.0.0.8}" }]',
      select: c => c.members[0]?.address,
      expect: '10.0.0.8',
    },
    {
      name: '${VAR:-default} takes the default when the variable is empty',
      yaml: 'members: [{ id: a, address: "${ADDR:-10.0.0.8}" }]',
      env: { ADDR: '' },
      select: c => c.members[0]?.address,
      expect: '10.0.0.8',
    },
    {
      name: '${VAR:-default} prefers a set variable',
      yaml: 'members: [{ id: a, address: "${ADDR:-10.0.0.8}" }]',
      env: { ADDR: '10.0.0.9' },
      select: c => c.members[0]?.address,
      expect: '10.0.0.9',
    },
    {
      name: 'references inside a longer string',
      yaml: 'listeners: [{ name: web, bind: "${HOST:-127.0.0.1}:${PORT}" }]',
      env: { PORT: '8443' },
      select: c => c.listeners,
      expect: [{ name: 'web', host: '127.0.0.1', port: 8443 }],
    },
    {
      name: 'unquoted references become numbers and booleans',
      yaml: `
members:
  - id: a
    address: x
    weight: \${WEIGHT}
    ports:
      https: \${PORT:-8443}
health:
  jitter: \${JITTER}
  tls:
    insecure: \${INSECURE}
`,
      env: { WEIGHT: '3', JITTER: '.25', INSECURE: 'true' },
      select: c => [
        c.members[0]?.weight,
        c.members[0]?.ports,
        c.health.jitter,
        c.health.tls,
      ],
      expect: [3, { https: 8443 }, 0.25, { insecure: true }],
    },
    {
      name: 'quoted references stay strings',
      yaml: 'admin: { token: "${TOKEN}" }',
      env: { TOKEN: '12345' },
      select: c => c.admin.token,
      expect: '12345',
    },
    {
      name: '$${ is a literal ${',
      yaml: 'admin: { token: "a$${B}c" }',
      select: c => c.admin.token,
      expect: 'a${B}c',
    },
    {
      name: 'health.port may be a port number',
      yaml: 'health: { port: 8081 }',
      select: c => c.health.port,
      expect: 8081,
    },
    {
      name: 'health.port defaults to the first listener',
      yaml: 'listeners: [{ name: tls, bind: "0.0.0.0:443" }, { name: web, bind: "0.0.0.0:80" }]',
      select: c => c.health.port,
      expect: 'tls',
    },
    {
      name: 'fastInterval and downInterval default to interval',
      yaml: 'health: { interval: 750ms }',
      select: c => [
        c.health.intervalMs,
        c.health.fastIntervalMs,
        c.health.downIntervalMs,
      ],
      expect: [750, 750, 750],
    },
    {
      name: 'workers: auto is one per core',
      yaml: 'workers: auto',
      select: c => c.workers,
      expect: availableParallelism(),
    },
    {
      name: 'workers: 0 is the single-process mode',
      yaml: 'workers: 0',
      select: c => c.workers,
      expect: 0,
    },
    {
      name: 'IPv6 binds lose their brackets',
      yaml: 'listeners: [{ name: web, bind: "[::1]:0" }]\nadmin: { bind: "[::1]:9901" }',
      select: c => [c.listeners, c.admin],
      expect: [[{ name: 'web', host: '::1', port: 0 }], { host: '::1', port: 9901 }],
    },
    {
      name: 'a comment-only file is refused as empty',
      yaml: '# nothing configured yet\n',
      select: c => c,
      expect: [EMPTY_FILE],
    },
    {
      name: 'a whitespace-only file is refused as empty',
      yaml: ' \n\t\n',
      select: c => c,
      expect: [EMPTY_FILE],
    },
    {
      name: 'an explicit members: [] is all defaults',
      yaml: 'members: []\n',
      select: c => c,
      expect: DEFAULTS,
    },
  ]
  t.plan(cases.length)
  for (const c of cases) {
    const result = outcome(c.yaml, isolated(c.env))
    t.strictSame(result.ok ? c.select(result.config) : result.issues, c.expect, c.name)
  }
})

void t.test('an empty file is refused, not started on :80 and :443', t => {
  t.strictSame(outcome('', isolated()), { ok: false, issues: [EMPTY_FILE] })
  t.end()
})

void t.test('a full config resolves to exactly the expected Config', t => {
  t.strictSame(parseConfig(FULL_YAML, isolated({ ADMIN_TOKEN: 's3cret' })), FULL_CONFIG)
  t.end()
})

void t.test('health.tls.ca is read through readFile into caPem', t => {
  const read: string[] = []
  const config = parseConfig('health: { tls: { ca: /etc/corral/ca.pem } }', {
    env: {},
    readFile: path => {
      read.push(path)
      return CA_PEM
    },
  })
  t.strictSame(read, ['/etc/corral/ca.pem'])
  t.strictSame(config.health.tls, {
    insecure: false,
    ca: '/etc/corral/ca.pem',
    caPem: CA_PEM,
  })
  t.end()
})

void t.test('an unreadable CA file is a config error naming the key and the path', t => {
  t.strictSame(outcome('health: { tls: { ca: /nope/ca.pem } }', isolated()), {
    ok: false,
    issues: [
      "health.tls.ca: cannot read /nope/ca.pem: ENOENT: no such file or directory, open '/nope/ca.pem'",
    ],
  })
  t.end()
})

void t.test('the resolved config is deeply frozen', t => {
  const config = parseConfig(FULL_YAML, isolated({ ADMIN_TOKEN: 's3cret' }))
  t.strictSame(unfrozenPaths(config), [])
  t.throws(() => {
    Object.assign(config.health.expectStatus, { 0: [0, 0] })
  }, TypeError)
  t.end()
})

void t.test('ConfigError carries the issues and joins them as its message', t => {
  const err = t.throws(() => parseConfig('balance: random\nworkers: 65', isolated()))
  t.ok(err instanceof ConfigError, 'is a ConfigError')
  if (err instanceof ConfigError) {
    t.equal(err.code, 'CONFIG_INVALID')
    t.equal(err.message, err.issues.join('\n'))
    t.equal(err.issues.length, 2)
  }
  t.end()
})

void t.test('loadConfigFile reads a file, and reports an unreadable one', t => {
  const dir = t.testdir({ 'corral.yaml': 'balance: round-robin\n' })
  t.equal(loadConfigFile(join(dir, 'corral.yaml'), isolated()).balance, 'round-robin')
  const missing = join(dir, 'absent.yaml')
  const err = t.throws(() => loadConfigFile(missing, isolated()))
  t.ok(
    err instanceof ConfigError && err.code === 'CONFIG_UNREADABLE',
    'CONFIG_UNREADABLE',
  )
  t.match(err, { issues: [new RegExp(`^cannot read config file ${missing}: ENOENT`)] })
  t.end()
})

void t.test('a YAML alias bomb is a config error, not a hang or a crash', t => {
  const yaml = ['a: &a [x, x, x, x, x, x, x, x, x, x]']
  for (const [name, prev] of [
    ['b', 'a'],
    ['c', 'b'],
    ['d', 'c'],
  ]) {
    yaml.push(`${name}: &${name} [${Array(10).fill(`*${prev}`).join(', ')}]`)
  }
  t.strictSame(outcome(yaml.join('\n'), isolated()), {
    ok: false,
    issues: ['(top level): Excessive alias count indicates a resource exhaustion attack'],
  })
  t.end()
})

void t.test('every load balancer config in examples/ parses', t => {
  const examples = fileURLToPath(new URL('../../../examples/', import.meta.url))
  // compose.yaml is a Docker Compose file and sidecar files are `corral sidecar` configs
  // (checked in test/sidecar/examples.test.ts); compose/lb.yaml is an LB config.
  const files = [
    ...readdirSync(examples).filter(
      f => f.endsWith('.yaml') && f !== 'compose.yaml' && !f.startsWith('sidecar'),
    ),
    'compose/lb.yaml',
  ]
  t.ok(files.length >= 3, `found ${files.join(', ')}`)
  for (const file of files) {
    const text = readFileSync(join(examples, file), 'utf8')
    const result = outcome(text, {
      env: { CORRAL_ADMIN_TOKEN: 'example-token', CORRAL_INSTANCE: 'lb-1' },
      readFile: () => CA_PEM,
    })
    t.strictSame(result.ok ? [] : result.issues, [], file)
  }
  t.end()
})

void t.test(
  'every YAML block in docs/config.md parses, and its full example is examples/corral.yaml',
  t => {
    const root = new URL('../../../', import.meta.url)
    const docs = readFileSync(fileURLToPath(new URL('docs/config.md', root)), 'utf8')
    const blocks = [...docs.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map(m => m[1] ?? '')
    t.ok(blocks.length >= 10, `found ${blocks.length} blocks`)
    blocks.forEach((block, i) => {
      const result = outcome(block, {
        env: { CORRAL_ADMIN_TOKEN: 'example-token', DTR_1_WEIGHT: '2' },
        readFile: () => CA_PEM,
      })
      t.strictSame(
        result.ok ? [] : result.issues,
        [],
        `block ${i + 1}: ${block.split('\n')[0] ?? ''}`,
      )
    })
    const example = readFileSync(
      fileURLToPath(new URL('examples/corral.yaml', root)),
      'utf8',
    )
    t.ok(blocks.includes(example), 'the DTR example is examples/corral.yaml verbatim')
    t.end()
  },
)
