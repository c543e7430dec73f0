// Parsers of tool output and /proc files, and the configs generated for the proxies.
import t from 'tap'
import { parseOptions } from '../../bench/args.js'
import { answerRequests } from '../../bench/http-responder.js'
import { corralConfig } from '../../bench/corral-config.js'
import { haproxyConfig } from '../../bench/haproxy-config.js'
import { hasListener } from '../../bench/ports.js'
import { parseCpuLine, parseStat, parseVmRssKiB } from '../../bench/proc-stats.js'
import { shellQuote, wrapCommand } from '../../bench/procs.js'
import type { ProxySpec } from '../../bench/proxy-spec.js'
import { parseIperfJson } from '../../bench/tools/iperf3.js'
import { parseWrk, parseWrkTime } from '../../bench/tools/wrk.js'
import { accessLogCounts } from '../../bench/workloads/access-log-cost.js'
import { spreadMembers } from '../../bench/workloads/health-cost.js'
import { connectionBudget } from '../../bench/workloads/idle-memory.js'
import { hasMemberId } from '../../bench/workloads/reload.js'

const WRK = `Running 10s test @ http://127.0.0.1:40000/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.05ms  245.12us   8.00ms   90.00%
    Req/Sec    61.23k     2.00k   65.00k    70.00%
  Latency Distribution
     50%  868.00us
     75%    1.02ms
     90%    1.26ms
     99%    2.39ms
  612345 requests in 10.00s, 50.00MB read
  Socket errors: connect 1, read 2, write 3, timeout 4
  Non-2xx or 3xx responses: 12
Requests/sec:  61234.50
Transfer/sec:      5.00MB
`

void t.test('wrk --latency output parses into rate, percentiles and errors', t => {
  t.strictSame(parseWrk(WRK), {
    requests: 612345,
    rps: 61234.5,
    p50Ms: 0.868,
    p99Ms: 2.39,
    socketErrors: 10,
    non2xx: 12,
  })
  const clean = WRK.replace(/ {2}Socket errors.*\n/, '').replace(/ {2}Non-2xx.*\n/, '')
  const parsed = parseWrk(clean)
  t.equal(parsed.socketErrors, 0, 'no error line = no errors')
  t.equal(parsed.non2xx, 0)
  t.throws(() => parseWrk(WRK.replace(/ {2}Latency Distribution[^]*?99%.*\n/, '')), {
    message: /no 50% latency/,
  })
  t.throws(() => parseWrk('unable to connect to 127.0.0.1:1 Connection refused'))
  t.end()
})

void t.test('wrk times convert to milliseconds', t => {
  const cases: [string, number | undefined][] = [
    ['868.00us', 0.868],
    ['1.02ms', 1.02],
    ['2.00s', 2000],
    ['1.00m', 60000],
    ['12', undefined],
  ]
  t.plan(cases.length)
  for (const [text, ms] of cases) t.equal(parseWrkTime(text), ms, text)
})

void t.test('iperf3 -J gives receiver bits/s and bytes, or its error', t => {
  t.strictSame(
    parseIperfJson(
      JSON.stringify({ end: { sum_received: { bits_per_second: 1.5e10, bytes: 2e10 } } }),
    ),
    { bitsPerSecond: 1.5e10, bytes: 2e10 },
  )
  t.throws(
    () => parseIperfJson(JSON.stringify({ error: 'unable to connect to server' })),
    {
      message: 'iperf3: unable to connect to server',
    },
  )
  t.throws(() => parseIperfJson('{}'), { message: /no end.sum_received/ })
  t.end()
})

void t.test('/proc/<pid>/stat is split after the command name', t => {
  // proc(5): state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
  const text =
    '4242 (node (a) b) S 77 4242 4242 0 -1 4194304 100 0 0 0 1234 56 0 0 20 0 11\n'
  t.strictSame(parseStat(text), { ppid: 77, minflt: 100, utime: 1234, stime: 56 })
  t.equal(parseStat('garbage'), undefined)
  t.end()
})

void t.test('VmRSS and the cpu line of /proc are read', t => {
  t.equal(parseVmRssKiB('Name:\tnode\nVmRSS:\t   43120 kB\nVmData: 1 kB\n'), 43120)
  t.equal(parseVmRssKiB('Name:\tkthreadd\n'), undefined)
  t.strictSame(parseCpuLine('cpu  100 5 50 800 20 3 2 0 0 0\ncpu0 1 2 3\n'), {
    busy: 160,
    total: 980,
  })
  t.equal(parseCpuLine('intr 1 2 3'), undefined)
  t.end()
})

void t.test('a LISTEN socket is found in /proc/net/tcp by port', t => {
  const table = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid',
    '   0: 0100007F:9C40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0',
    '   1: 0100007F:1F90 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0',
  ].join('\n')
  t.ok(hasListener(table, 40000), 'listening on 40000 (9C40)')
  t.notOk(hasListener(table, 8080), '8080 (1F90) is only connected')
  t.end()
})

void t.test('commands are wrapped in prlimit and taskset and quoted for display', t => {
  t.strictSame(wrapCommand('wrk', ['-c1'], { cpus: '1', nofile: 4096 }), [
    'prlimit',
    '--nofile=4096',
    '--',
    'taskset',
    '-c',
    '1',
    'wrk',
    '-c1',
  ])
  t.strictSame(wrapCommand('wrk', [], {}), ['wrk'])
  t.equal(
    shellQuote(['wrk', '-H', 'Connection: close', "it's"]),
    `wrk -H 'Connection: close' 'it'\\''s'`,
  )
  t.end()
})

const SPEC: ProxySpec = {
  listenPort: 40000,
  members: [
    { id: 'm1', port: 40001 },
    { id: 'm2', port: 40002 },
  ],
  healthPort: 40003,
  maxConnections: 12_000,
}

void t.test('HAProxy gets one thread, tcp mode, roundrobin and HTTP checks', t => {
  const cfg = haproxyConfig(SPEC)
  for (const line of [
    '  nbthread 1',
    '  maxconn 12000',
    '  mode tcp',
    '  bind 127.0.0.1:40000',
    '  balance roundrobin',
    '  option httpchk GET /health',
    '  default-server inter 1s rise 1 fall 3',
    '  server m1 127.0.0.1:40001 check port 40003',
    '  server m2 127.0.0.1:40002 check port 40003',
  ]) {
    t.match(cfg, `\n${line}\n`, line)
  }
  t.match(
    haproxyConfig({ ...SPEC, healthPort: 'member' }),
    '\n  server m1 127.0.0.1:40001 check\n',
  )
  t.end()
})

void t.test('corral gets the CLI contract config', t => {
  t.strictSame(corralConfig(SPEC, { adminPort: 40004, workers: 2, dataPath: 'native' }), {
    listeners: [{ name: 'tcp', bind: '127.0.0.1:40000' }],
    members: [
      { id: 'm1', address: '127.0.0.1', ports: { tcp: 40001 } },
      { id: 'm2', address: '127.0.0.1', ports: { tcp: 40002 } },
    ],
    health: {
      port: 40003,
      path: '/health',
      interval: '1s',
      timeout: '500ms',
      rise: 1,
      fall: 3,
      initialState: 'up',
    },
    balance: 'round-robin',
    limits: { maxConnections: 12_000 },
    timeouts: { shutdown: '1s' },
    admin: { bind: '127.0.0.1:40004' },
    workers: 2,
    dataPath: 'native',
  })
  const perMember = corralConfig(
    { ...SPEC, healthPort: 'member' },
    { adminPort: 1, workers: 1, dataPath: 'js' },
  )
  t.notOk(
    'port' in (perMember.health as object),
    'no health.port: probe each member port',
  )
  t.end()
})

void t.test('the idle-memory connection count fits the open-files limit', t => {
  const cases: { name: string; args: [number, number, number]; expect: number }[] = [
    { name: 'plenty of descriptors', args: [10_000, 65_536, 65_536], expect: 10_000 },
    {
      name: 'proxy needs 2 per connection',
      args: [10_000, 20_000, 20_000],
      expect: 9_872,
    },
    { name: 'harness limit binds', args: [10_000, 65_536, 4_096], expect: 3_584 },
    { name: 'never below 1', args: [10, 100, 100], expect: 1 },
  ]
  t.plan(cases.length)
  for (const c of cases) t.equal(connectionBudget(...c.args), c.expect, c.name)
})

void t.test('members for the health workload spread over the servers', t => {
  t.strictSame(spreadMembers(5, [1, 2]), [
    { id: 'm1', port: 1 },
    { id: 'm2', port: 2 },
    { id: 'm3', port: 1 },
    { id: 'm4', port: 2 },
    { id: 'm5', port: 1 },
  ])
  t.equal(spreadMembers(1000, [9])[0]?.id, 'm0001', 'ids are zero-padded')
  t.throws(() => spreadMembers(1, []))
  t.end()
})

void t.test('a member id is found anywhere in the pool JSON', t => {
  const pool = { summary: { size: 2 }, members: [{ id: 'm1' }, { id: 'm2', ports: {} }] }
  t.ok(hasMemberId(pool, 'm2'))
  t.notOk(hasMemberId(pool, 'm3'))
  t.notOk(hasMemberId(undefined, 'm1'))
  t.end()
})

void t.test('flags parse with defaults and reject what they do not know', t => {
  const defaults = parseOptions([])
  t.equal(defaults.rounds, undefined, 'each workload its own default')
  t.equal(defaults.durationS, 10)
  t.equal(defaults.only.length, 20)
  t.ok(defaults.systems.includes('corral-nometrics'), 'every system by default')
  const smoke = parseOptions(['--smoke'])
  t.equal(smoke.rounds, 1)
  t.equal(smoke.durationS, 1)
  t.notOk(
    smoke.only.includes('metrics-cost-keepalive'),
    'smoke runs a code path once: metrics-cost-close covers metrics-cost-keepalive',
  )
  t.notOk(smoke.only.includes('bulk-8-down'), 'bulk-1-down covers bulk-8-down')
  t.ok(smoke.only.includes('bulk-1-down'), 'the download path runs in the smoke')
  t.ok(smoke.only.includes('access-log-close'), 'the access log cost runs in the smoke')
  t.notOk(smoke.only.includes('access-log-keepalive'), 'access-log-close covers it')
  t.equal(smoke.only.length, 14)
  t.strictSame(
    parseOptions(['--smoke', '--only', 'metrics-cost-keepalive']).only,
    ['metrics-cost-keepalive'],
    'named with --only, smoke runs it',
  )
  t.strictSame(
    parseOptions(['--only', 'keep-alive,bulk-1']).only,
    ['bulk-1', 'keep-alive'],
    'catalogue order',
  )
  t.strictSame(parseOptions(['--systems', 'haproxy,direct']).systems, [
    'direct',
    'haproxy',
  ])
  t.throws(() => parseOptions(['--only', 'bulk-2']), {
    message: /--only: unknown "bulk-2"/,
  })
  t.throws(() => parseOptions(['--rounds', '0']), {
    message: /--rounds: expected an integer/,
  })
  t.throws(() => parseOptions(['--frobnicate']))
  t.end()
})

void t.test('the member answers every request head and closes when asked', t => {
  const cases: {
    name: string
    input: string
    rest: string
    close: boolean
    answered: number
  }[] = [
    {
      name: 'one keep-alive request',
      input: 'GET / HTTP/1.1\r\nHost: a\r\n\r\n',
      rest: '',
      close: false,
      answered: 1,
    },
    {
      name: 'pipelined pair',
      input: 'GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n',
      rest: '',
      close: false,
      answered: 2,
    },
    {
      name: 'partial head waits',
      input: 'GET / HTTP/1.1\r\nHo',
      rest: 'GET / HTTP/1.1\r\nHo',
      close: false,
      answered: 0,
    },
    {
      name: 'Connection: close (wrk)',
      input: 'GET / HTTP/1.1\r\nConnection: close\r\n\r\n',
      rest: '',
      close: true,
      answered: 1,
    },
    {
      name: 'HTTP/1.0 closes (HAProxy httpchk)',
      input: 'GET /health HTTP/1.0\r\n\r\n',
      rest: '',
      close: true,
      answered: 1,
    },
    {
      name: 'HTTP/1.0 keep-alive stays',
      input: 'GET / HTTP/1.0\r\nconnection: Keep-Alive\r\n\r\n',
      rest: '',
      close: false,
      answered: 1,
    },
    {
      name: 'nothing after a close is answered',
      input: 'GET / HTTP/1.1\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\n\r\n',
      rest: '',
      close: true,
      answered: 1,
    },
  ]
  t.plan(cases.length * 2)
  for (const c of cases) {
    const written: string[] = []
    const r = answerRequests(c.input, b => written.push(b.toString('latin1')))
    t.strictSame(r, { rest: c.rest, close: c.close, answered: c.answered }, c.name)
    t.ok(
      written.length === c.answered &&
        written.every(
          w => w.startsWith('HTTP/1.1 200 OK\r\n') && w.endsWith('\r\n\r\nok'),
        ) &&
        written.every(w => w.includes('Connection: close') === c.close),
      `${c.name}: responses`,
    )
  }
})

void t.test(
  'access-log counts: lines queued and every reason dropped, from /metrics',
  t => {
    const exposition = [
      '# HELP corral_access_log_lines_total access-log lines queued for writing',
      '# TYPE corral_access_log_lines_total counter',
      'corral_access_log_lines_total 1234',
      'corral_access_log_dropped_total{reason="backlog"} 5',
      'corral_access_log_dropped_total{reason="rate"} 2',
      'corral_access_log_lines_totalx 99',
      'corral_relay_bytes_total{listener="tcp"} 7',
    ].join('\n')
    t.strictSame(accessLogCounts(exposition), { lines: 1234, dropped: 7 })
    t.strictSame(accessLogCounts(''), { lines: 0, dropped: 0 }, 'absent: none')
    t.end()
  },
)

void t.test('the -log systems turn the access log on at full sampling, to a file', t => {
  const spec: ProxySpec = {
    listenPort: 1,
    members: [{ id: 'm1', port: 2 }],
    healthPort: 'member',
    maxConnections: 10,
  }
  const on = corralConfig(spec, {
    adminPort: 3,
    workers: 1,
    dataPath: 'native',
    accessLog: '/tmp/a.log',
  })
  t.strictSame(on.accessLog, {
    enabled: true,
    destination: '/tmp/a.log',
    sample: 1,
    skipEmpty: false,
  })
  const off = corralConfig(spec, { adminPort: 3, workers: 1, dataPath: 'js' })
  t.notOk('accessLog' in off, 'off by default')
  t.end()
})
