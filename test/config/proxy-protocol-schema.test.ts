// The PROXY protocol keys (issue #23): defaults, a member's own setting over the pool's,
// the checks' setting, and every mistake named with the key and the allowed values, in
// the config file, the admin API's member body and the shared pool's member records.
import t from 'tap'
import { parseMemberBody } from '../../src/admin/member-body.js'
import { AdminRequestError } from '../../src/admin/errors.js'
import { memberRecordSchema, parseRecord } from '../../src/coordination/codec.js'
import { parseConfig } from '../../src/config/load.js'
import {
  checkProxyProtocol,
  effectiveProxyProtocol,
} from '../../src/config/proxy-protocol-schema.js'
import { ConfigError } from '../../src/errors.js'

function issues(yaml: string): readonly string[] {
  try {
    parseConfig(yaml, { env: {} })
    return []
  } catch (err) {
    if (err instanceof ConfigError) return err.issues
    throw err
  }
}

void t.test('defaults: off, 100ms, inherit, local', t => {
  const c = parseConfig('members: [{ id: a, address: 10.0.0.1 }]', { env: {} })
  t.equal(c.proxyProtocol, 'off')
  t.equal(c.proxyProtocolSniWaitMs, 100)
  t.equal(c.health.proxyProtocol, 'inherit')
  t.equal(c.health.proxyProtocolSource, 'local')
  t.equal(c.members[0]?.proxyProtocol, undefined, 'no own setting: the pool default')
  t.end()
})

void t.test('a member keeps its own setting; the pool default is separate', t => {
  const c = parseConfig(
    `proxyProtocol: v2
proxyProtocolSniWait: 0s
health: { proxyProtocol: v1, proxyProtocolSource: socket }
members:
  - { id: a, address: 10.0.0.1 }
  - { id: b, address: 10.0.0.2, proxyProtocol: off }
  - { id: c, address: 10.0.0.3, proxyProtocol: v1 }`,
    { env: {} },
  )
  t.equal(c.proxyProtocol, 'v2')
  t.equal(c.proxyProtocolSniWaitMs, 0)
  t.strictSame(
    c.members.map(m => effectiveProxyProtocol(m, c.proxyProtocol)),
    ['v2', 'off', 'v1'],
  )
  t.equal(c.health.proxyProtocol, 'v1')
  t.equal(c.health.proxyProtocolSource, 'socket')
  t.end()
})

void t.test('mistakes name the key and the allowed values', t => {
  t.strictSame(
    issues(`proxyProtocol: v3
proxyProtocolSniWait: soon
health: { proxyProtocol: maybe, proxyProtocolSource: remote }
members: [{ id: a, address: 10.0.0.1, proxyProtocol: 2 }]`),
    [
      'members[0].proxyProtocol: expected "off", "v1" or "v2", got 2',
      'health.proxyProtocol: expected "inherit", "off", "v1" or "v2", got "maybe"',
      'health.proxyProtocolSource: expected "local" or "socket", got "remote"',
      'proxyProtocol: expected "off", "v1" or "v2", got "v3"',
      'proxyProtocolSniWait: expected a duration such as "250ms", "2s" or "1m", got "soon"',
    ],
  )
  t.end()
})

void t.test('what a check sends: its own setting, or the member effective one', t => {
  const rows = [
    ['inherit', 'v2', 'v2'],
    ['inherit', 'off', 'off'],
    ['off', 'v2', 'off'],
    ['v1', 'off', 'v1'],
    ['v2', 'v1', 'v2'],
  ] as const
  t.plan(rows.length)
  for (const [health, member, want] of rows)
    t.equal(checkProxyProtocol(health, member), want, `${health} + ${member}`)
})

void t.test('the admin API body takes proxyProtocol and names a bad one', t => {
  t.equal(
    parseMemberBody('a', { address: '10.0.0.1', proxyProtocol: 'v1' }, []).proxyProtocol,
    'v1',
  )
  t.equal(parseMemberBody('a', { address: '10.0.0.1' }, []).proxyProtocol, undefined)
  const err = t.throws(() =>
    parseMemberBody('a', { address: '10.0.0.1', proxyProtocol: 'v9' }, []),
  )
  t.ok(err instanceof AdminRequestError)
  t.match((err as Error).message, 'proxyProtocol: expected "off", "v1" or "v2", got "v9"')
  t.end()
})

void t.test('shared member records carry it; older records without it still read', t => {
  const record = (member: Record<string, unknown>): string =>
    JSON.stringify({
      v: 1,
      member: { id: 'a', address: '10.0.0.1', ports: {}, weight: 1, ...member },
      admin: 'enabled',
      removing: false,
      rev: 1,
      by: 'lb-a',
      reason: 'added',
      at: 1,
    })
  const read = (member: Record<string, unknown>) =>
    parseRecord(memberRecordSchema, 'corral:members[a]', record(member))
  const old = read({})
  t.ok(old.ok, 'a record from before the key')
  t.equal(old.ok ? old.value.member.proxyProtocol : 'error', undefined)
  const v2 = read({ proxyProtocol: 'v2' })
  t.equal(v2.ok ? v2.value.member.proxyProtocol : 'error', 'v2')
  t.equal(read({ proxyProtocol: 'yes' }).ok, false, 'a bad value is reported, not used')
  t.end()
})
