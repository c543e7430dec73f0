import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { APPLY_MODE, diffConfig, type ReloadPlan } from '../../src/config/diff.js'
import type { Config, MemberConfig } from '../../src/config/types.js'

const m = (
  id: string,
  address: string,
  extra: Partial<MemberConfig> = {},
): MemberConfig => ({
  id,
  address,
  ports: {},
  weight: 1,
  ...extra,
})

const BASE: Config = {
  discovery: [],
  listeners: [
    { name: 'http', host: '0.0.0.0', port: 80 },
    { name: 'https', host: '0.0.0.0', port: 443 },
  ],
  members: [m('dtr-1', '10.0.0.11'), m('dtr-2', '10.0.0.12'), m('dtr-3', '10.0.0.13')],
  health: {
    port: 'https',
    scheme: 'https',
    path: '/_ping',
    intervalMs: 2_000,
    fastIntervalMs: 500,
    downIntervalMs: 5_000,
    jitter: 0.1,
    timeoutMs: 1_000,
    rise: 2,
    fall: 3,
    expectStatus: [[200, 299]],
    maxBodyBytes: 4096,
    headers: {},
    tls: { insecure: false, ca: '/etc/corral/ca.pem', caPem: 'PEM-1' },
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
  admin: { host: '127.0.0.1', port: 9901, token: 'old-secret' },
  workers: 1,
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

const NOTHING: ReloadPlan = {
  membersAdded: [],
  membersRemoved: [],
  membersChanged: [],
  healthChanged: false,
  balanceChanged: false,
  listenersChanged: false,
  adminChanged: false,
  otherChanged: [],
  restartNeeded: [],
  warnings: [],
}

void t.test('diffConfig reports exactly what changed and what needs a restart', t => {
  const cases: { name: string; next: Config; expect: ReloadPlan }[] = [
    { name: 'the same config changes nothing', next: { ...BASE }, expect: NOTHING },
    {
      name: 'reordering members changes nothing',
      next: { ...BASE, members: [...BASE.members].reverse() },
      expect: NOTHING,
    },
    {
      name: 'a new id is an added member',
      next: { ...BASE, members: [...BASE.members, m('dtr-4', '10.0.0.14')] },
      expect: { ...NOTHING, membersAdded: [m('dtr-4', '10.0.0.14')] },
    },
    {
      name: 'a missing id is a removed member',
      next: { ...BASE, members: BASE.members.filter(x => x.id !== 'dtr-2') },
      expect: { ...NOTHING, membersRemoved: ['dtr-2'] },
    },
    {
      name: 'a new address, port override or weight is a changed member',
      next: {
        ...BASE,
        members: [
          m('dtr-1', '10.0.1.11'),
          m('dtr-2', '10.0.0.12', { ports: { https: 8443 } }),
          m('dtr-3', '10.0.0.13', { weight: 3 }),
        ],
      },
      expect: {
        ...NOTHING,
        membersChanged: [
          m('dtr-1', '10.0.1.11'),
          m('dtr-2', '10.0.0.12', { ports: { https: 8443 } }),
          m('dtr-3', '10.0.0.13', { weight: 3 }),
        ],
      },
    },
    {
      name: 'replacing a member under a new id is one removal and one addition',
      next: { ...BASE, members: [...BASE.members.slice(0, 2), m('dtr-3b', '10.0.0.13')] },
      expect: {
        ...NOTHING,
        membersAdded: [m('dtr-3b', '10.0.0.13')],
        membersRemoved: ['dtr-3'],
      },
    },
    {
      name: 'a health setting changed',
      next: { ...BASE, health: { ...BASE.health, rise: 3 } },
      expect: { ...NOTHING, healthChanged: true },
    },
    {
      name: 'the CA file changed on disk under the same path',
      next: {
        ...BASE,
        health: { ...BASE.health, tls: { ...BASE.health.tls, caPem: 'PEM-2' } },
      },
      expect: { ...NOTHING, healthChanged: true },
    },
    {
      name: 'the balancing algorithm changed',
      next: { ...BASE, balance: 'round-robin' },
      expect: { ...NOTHING, balanceChanged: true },
    },
    {
      name: 'a listener added, one removed and one rebound need a restart',
      next: {
        ...BASE,
        listeners: [
          { name: 'https', host: '0.0.0.0', port: 8443 },
          { name: 'registry', host: '::', port: 5000 },
        ],
      },
      expect: {
        ...NOTHING,
        listenersChanged: true,
        restartNeeded: ['listeners'],
        warnings: [
          'listeners changed: restart corral to apply (added registry; removed http; rebound https 0.0.0.0:443 → 0.0.0.0:8443)',
        ],
      },
    },
    {
      name: 'reordering listeners changes nothing',
      next: { ...BASE, listeners: [...BASE.listeners].reverse() },
      expect: NOTHING,
    },
    {
      name: 'an admin change needs a restart and its warning does not leak the token',
      next: { ...BASE, admin: { ...BASE.admin, token: 'new-secret' } },
      expect: {
        ...NOTHING,
        adminChanged: true,
        restartNeeded: ['admin'],
        warnings: ['admin changed: restart corral to apply'],
      },
    },
    {
      name: 'timeouts, limits, slowStart and allDown apply live',
      next: {
        ...BASE,
        slowStartMs: 30_000,
        allDown: 'fail-open',
        timeouts: { ...BASE.timeouts, idleMs: 900_000 },
        limits: { ...BASE.limits, connectAttempts: 2 },
      },
      expect: {
        ...NOTHING,
        otherChanged: ['slowStartMs', 'allDown', 'timeouts', 'limits'],
      },
    },
    {
      name: 'a new worker count needs a restart',
      next: { ...BASE, workers: 4 },
      expect: {
        ...NOTHING,
        otherChanged: ['workers'],
        restartNeeded: ['workers'],
        warnings: ['workers changed: restart corral to apply'],
      },
    },
    {
      name: 'several changes at once are all reported',
      next: {
        ...BASE,
        listeners: [...BASE.listeners, { name: 'registry', host: '0.0.0.0', port: 5000 }],
        members: [m('dtr-1', '10.0.0.11', { weight: 2 }), m('dtr-2', '10.0.0.12')],
        balance: 'consistent-hash',
        admin: { host: '127.0.0.1', port: 9902 },
        workers: 2,
        timeouts: { ...BASE.timeouts, connectMs: 1_000 },
      },
      expect: {
        membersAdded: [],
        membersRemoved: ['dtr-3'],
        membersChanged: [m('dtr-1', '10.0.0.11', { weight: 2 })],
        healthChanged: false,
        balanceChanged: true,
        listenersChanged: true,
        adminChanged: true,
        otherChanged: ['timeouts', 'workers'],
        restartNeeded: ['listeners', 'admin', 'workers'],
        warnings: [
          'listeners changed: restart corral to apply (added registry)',
          'admin changed: restart corral to apply',
          'workers changed: restart corral to apply',
        ],
      },
    },
  ]
  t.plan(cases.length)
  for (const c of cases) t.strictSame(diffConfig(BASE, c.next), c.expect, c.name)
})

void t.test('diffConfig does not modify its inputs', t => {
  const next: Config = { ...BASE, members: [m('dtr-9', '10.0.0.19')], workers: 3 }
  const before = JSON.stringify([BASE, next])
  diffConfig(BASE, next)
  t.equal(JSON.stringify([BASE, next]), before)
  t.end()
})

void t.test('docs/config.md states the same live/restart split as APPLY_MODE', t => {
  const docs = readFileSync(
    fileURLToPath(new URL('../../../docs/config.md', import.meta.url)),
    'utf8',
  )
  const section =
    docs.split(/^## /m).find(s => s.startsWith('What a reload (SIGHUP)')) ?? ''
  // Config keys are named as in the YAML file: slowStartMs is written slowStart.
  const rows = Object.entries(APPLY_MODE).map(([key, mode]) => {
    const yamlKey = key.replace(/Ms$/, '')
    // Prettier pads table cells, so allow any run of spaces around them.
    const cells = new RegExp(`^\\| +\`${yamlKey}\` +\\| +(live|restart) +\\|`, 'm')
    const row = cells.exec(section)
    return { yamlKey, documented: row?.[1] ?? 'missing from the table', mode }
  })
  t.plan(rows.length)
  for (const r of rows) t.equal(r.documented, r.mode, r.yamlKey)
})
