// Issue #23, PROXY protocol to members, through the real CLI in the default workers mode
// on both data paths: a member that parses the header with an independent parser
// (proxy-protocol-js) answers with what it got. Exact bytes for v2 and v1 from a client
// bound to 127.0.0.5, IPv6, TLS passthrough with the SNI and certificate verification,
// checks sending exactly the LOCAL header, a member set to off getting no extra byte,
// and a retry sending the second member its own header.
import { once } from 'node:events'
import { connect, createServer, type Socket } from 'node:net'
import { join } from 'node:path'
import { connect as tlsConnect } from 'node:tls'
import t from 'tap'
import { loadNativeAddon } from '../../src/proxy/native-loader.js'
import { readRecords, type Rec } from '../helpers/access-log.js'
import { startCorral, type CorralProcess } from '../helpers/corral-process.js'
import { deadPort } from '../helpers/health-server.js'
import {
  echoHeader,
  headerHealth,
  type EchoAnswer,
  type ParsedHeader,
} from '../helpers/proxy-member.js'
import { startTcpMember } from '../helpers/tcp-member.js'
import { makeSelfSignedCert } from '../helpers/tls-cert.js'

const SIG = '0d0a0d0a000d0a515549540a'
const LOCAL_HEX = SIG + '20000000'
const SERVERNAME = 'proxy.test'

/** Whether this machine has an IPv6 loopback to bind (checked, not assumed). */
async function hasIpv6Loopback(): Promise<boolean> {
  const server = createServer()
  try {
    server.listen(0, '::1')
    await once(server, 'listening', { signal: AbortSignal.timeout(2_000) })
    return true
  } catch {
    return false
  } finally {
    server.close()
  }
}

function hex16(n: number): string {
  return n.toString(16).padStart(4, '0')
}

/** A TLV as bytes, hex. */
function tlvHex(type: number, value: string): string {
  const v = Buffer.from(value)
  return type.toString(16).padStart(2, '0') + hex16(v.length) + v.toString('hex')
}

/** Sends "hello\n" on `socket` and resolves with the member's JSON answer (bounded). */
async function ask(socket: Socket): Promise<EchoAnswer> {
  socket.write('hello\n')
  let text = ''
  for await (const chunk of socket.iterator({ destroyOnReturn: true })) {
    text += (chunk as Buffer).toString('utf8')
    if (text.includes('\n')) break
  }
  return JSON.parse(text) as EchoAnswer
}

/** A plain TCP client, optionally from `localAddress`, connected (bounded). */
async function dialFrom(
  host: string,
  port: number,
  localAddress?: string,
): Promise<Socket> {
  const socket = connect({
    host,
    port,
    ...(localAddress !== undefined ? { localAddress } : {}),
  })
  socket.setTimeout(10_000, () => socket.destroy(new Error('client timeout')))
  socket.on('error', () => undefined)
  await once(socket, 'connect', { signal: AbortSignal.timeout(5_000) })
  return socket
}

/** The close record of the connection from client port `port`, waited for (bounded). */
async function recordOf(path: string, port: number): Promise<Rec> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const r = readRecords(path).find(x => x.type === 'close' && x.clientPort === port)
    if (r !== undefined) return r
    if (Date.now() > deadline) throw new Error(`no access-log record for port ${port}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

async function putMember(lb: CorralProcess, id: string, body: unknown): Promise<void> {
  const res = await fetch(`${lb.adminUrl}/api/v1/members/${id}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  if (res.status !== 200 && res.status !== 201)
    throw new Error(`PUT ${id}: ${res.status} ${await res.text()}`)
  await lb.poolSynced()
}

interface PoolMember {
  id: string
  state: string
  proxyProtocol: string
}

async function members(lb: CorralProcess): Promise<PoolMember[]> {
  const res = await fetch(`${lb.adminUrl}/api/v1/pool`)
  return ((await res.json()) as { members: PoolMember[] }).members
}

/** Waits until `check` holds (bounded), polling. */
async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

const native = loadNativeAddon()
const ipv6 = await hasIpv6Loopback()

for (const dataPath of ['js', 'native'] as const) {
  const skip =
    dataPath === 'native' && 'error' in native
      ? `native data path unavailable here: ${native.error}`
      : false
  void t.test(`dataPath: ${dataPath}`, { skip }, async t => {
    const dir = t.testdir()
    const cert = makeSelfSignedCert(dir, { cn: SERVERNAME, san: [SERVERNAME] })
    const member = await startTcpMember(t, echoHeader({ key: cert.key, cert: cert.cert }))
    const checks: ParsedHeader[] = []
    const health = await startTcpMember(t, headerHealth(checks))
    const logPath = join(dir, 'access.log')
    const ports = `{ v4: ${member.port}${ipv6 ? `, v6: ${member.port}` : ''} }`
    const yaml = `listeners:
  - { name: v4, bind: "127.0.0.1:0" }
${ipv6 ? '  - { name: v6, bind: "[::1]:0" }' : ''}
members:
  - { id: m, address: 127.0.0.1, ports: ${ports} }
health: { port: ${health.port}, interval: 100ms, timeout: 500ms, rise: 1, fall: 1, jitter: 0, initialState: up }
admin: { bind: "127.0.0.1:0" }
proxyProtocol: v2
proxyProtocolSniWait: 2s
accessLog: { enabled: true, destination: "${logPath}", skipEmpty: false }
dataPath: ${dataPath}
`
    const lb = await startCorral(dir, yaml)
    t.teardown(() => lb.stop('SIGKILL'))
    const summary = (await (await fetch(`${lb.adminUrl}/api/v1/pool`)).json()) as {
      summary: { dataPath: string }
    }
    t.equal(summary.summary.dataPath, dataPath, 'the data path asked for runs')
    const v4 = lb.ports.v4 ?? 0
    const memberPorts = { v4: member.port, ...(ipv6 ? { v6: member.port } : {}) }

    await t.test('v2 checks send exactly the 16-byte LOCAL header', async t => {
      await until('two checks', () => checks.length >= 2)
      const seen = checks.slice()
      t.ok(seen.length >= 2)
      t.strictSame(new Set(seen.map(h => h.hex)), new Set([LOCAL_HEX]))
      t.equal(seen[0]?.command, 'LOCAL', 'the parser reads LOCAL')
    })

    await t.test('the pool API shows the effective setting', async t => {
      t.equal((await members(lb)).find(m => m.id === 'm')?.proxyProtocol, 'v2')
    })

    await t.test('v2 from 127.0.0.5: exact bytes, UNIQUE_ID = the record id', async t => {
      const c = await dialFrom('127.0.0.1', v4, '127.0.0.5')
      const cPort = c.localPort ?? 0
      const a = await ask(c)
      c.destroy()
      t.equal(a.line, 'hello', 'the client bytes follow the header, untouched')
      t.equal(a.header.source, '127.0.0.5')
      t.equal(a.header.sourcePort, cPort)
      t.equal(a.header.destination, '127.0.0.1')
      t.equal(a.header.destinationPort, v4)
      const id = a.header.tlvs.find(x => x.type === 5)?.value ?? ''
      const tlvs = tlvHex(5, id)
      t.equal(
        a.header.hex,
        SIG +
          '2111' +
          hex16(12 + tlvs.length / 2) +
          '7f000005' +
          '7f000001' +
          hex16(cPort) +
          hex16(v4) +
          tlvs,
        'exact bytes',
      )
      t.equal(a.header.tlvs.length, 1, 'no AUTHORITY without TLS')
      t.equal((await recordOf(logPath, cPort)).id, id, 'UNIQUE_ID is the record id')
    })

    await t.test('TLS passes through v2; the SNI is the AUTHORITY on JS', async t => {
      const c = tlsConnect({
        host: '127.0.0.1',
        port: v4,
        servername: SERVERNAME,
        ca: cert.ca,
      })
      c.setTimeout(10_000, () => c.destroy(new Error('client timeout')))
      c.on('error', () => undefined)
      await once(c, 'secureConnect', { signal: AbortSignal.timeout(5_000) })
      t.ok(c.authorized, 'certificate verified at the client')
      const a = await ask(c)
      c.destroy()
      t.ok(a.tls, 'the member did the handshake')
      t.equal(a.servername, SERVERNAME)
      t.equal(a.line, 'hello')
      t.equal(a.header.command, 'PROXY')
      const authority = a.header.tlvs.find(x => x.type === 2)?.value
      if (dataPath === 'js') t.equal(authority, SERVERNAME, 'AUTHORITY TLV')
      else
        t.equal(authority, undefined, 'the native path sends no AUTHORITY (documented)')
    })

    await t.test(
      'IPv6 client: TCP6',
      { skip: ipv6 ? false : 'no IPv6 loopback (::1) here' },
      async t => {
        const v6 = lb.ports.v6 ?? 0
        const c = await dialFrom('::1', v6)
        const cPort = c.localPort ?? 0
        const a = await ask(c)
        c.destroy()
        const one = '00000000000000000000000000000001'
        const id = a.header.tlvs.find(x => x.type === 5)?.value ?? ''
        const tlvs = tlvHex(5, id)
        t.equal(
          a.header.hex,
          SIG +
            '2121' +
            hex16(36 + tlvs.length / 2) +
            one +
            one +
            hex16(cPort) +
            hex16(v6) +
            tlvs,
          'exact bytes',
        )
        t.equal(a.header.family, 'TCP6')
      },
    )

    await t.test(
      'v1 from 127.0.0.5: exact bytes; v1 checks send a TCP4 line',
      async t => {
        await putMember(lb, 'm', {
          address: '127.0.0.1',
          ports: memberPorts,
          proxyProtocol: 'v1',
        })
        t.equal((await members(lb)).find(m => m.id === 'm')?.proxyProtocol, 'v1')
        const c = await dialFrom('127.0.0.1', v4, '127.0.0.5')
        const cPort = c.localPort ?? 0
        const a = await ask(c)
        c.destroy()
        t.equal(
          Buffer.from(a.header.hex, 'hex').toString('latin1'),
          `PROXY TCP4 127.0.0.5 127.0.0.1 ${cPort} ${v4}\r\n`,
        )
        t.equal(a.line, 'hello')
        const since = checks.length
        await until('a v1 check', () => checks.slice(since).some(h => h.version === 1))
        const check = checks.slice(since).find(h => h.version === 1)
        t.equal(check?.family, 'TCP4', 'never UNKNOWN')
        t.equal(check?.source, '127.0.0.1', "the check socket's own end")
        t.equal(check?.destinationPort, health.port)
      },
    )

    await t.test('a member set to off receives zero extra bytes', async t => {
      await putMember(lb, 'm', {
        address: '127.0.0.1',
        ports: memberPorts,
        proxyProtocol: 'off',
      })
      const c = await dialFrom('127.0.0.1', v4)
      const a = await ask(c)
      c.destroy()
      t.equal(a.header.version, 0)
      t.equal(a.header.hex, '')
      t.equal(a.line, 'hello', "the first byte the member read is the client's")
    })

    await t.test('a retry sends the second member its own header', async t => {
      await putMember(lb, 'm', {
        address: '127.0.0.1',
        ports: memberPorts,
        proxyProtocol: 'v2',
      })
      const dead = await deadPort()
      const deadPorts = { v4: dead, ...(ipv6 ? { v6: dead } : {}) }
      await putMember(lb, 'dead', { address: '127.0.0.1', ports: deadPorts })
      let retried: { a: EchoAnswer; port: number; r: Rec } | undefined
      for (let i = 0; i < 10 && retried === undefined; i++) {
        await until('dead up', async () =>
          (await members(lb)).every(m => m.state === 'up'),
        )
        await lb.poolSynced()
        const c = await dialFrom('127.0.0.1', v4)
        const cPort = c.localPort ?? 0
        const a = await ask(c)
        c.destroy()
        t.equal(a.header.sourcePort, cPort, `connection ${i}: its own header`)
        const r = await recordOf(logPath, cPort)
        if ((r.attempts as unknown[]).length === 2) retried = { a, port: cPort, r }
      }
      if (retried === undefined) throw new Error('no connection was retried in 10')
      const attempts = retried.r.attempts as { member: string; result: string }[]
      t.strictSame(
        attempts.map(x => [x.member, x.result]),
        [
          ['dead', 'refused'],
          ['m', 'ok'],
        ],
      )
      t.equal(retried.a.header.command, 'PROXY')
      t.equal(retried.a.header.source, '127.0.0.1')
      t.equal(retried.a.header.destinationPort, v4)
      t.equal(retried.a.line, 'hello')
    })
  })
}
