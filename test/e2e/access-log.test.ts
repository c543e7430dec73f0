// Issue #22: the access log through the real CLI in the default workers mode, on the
// data path CORRAL_DATA_PATH picks (CI runs js and native): one record per connection
// with exact bytes, who closed it and why, and the termination state and status. Both
// paths fill every field: the native relay thread reports the local address, the SNI
// bytes and the first-byte times, so nothing here tolerates a null for native.
import { renameSync } from 'node:fs'
import type { Socket } from 'node:net'
import { join } from 'node:path'
import { connect as tlsConnect } from 'node:tls'
import t, { type Test } from 'tap'
import {
  BIG,
  commandMember,
  dial,
  readRecords,
  waitForRecord,
  type Rec,
} from '../helpers/access-log.js'
import { startCorral, type CorralProcess } from '../helpers/corral-process.js'
import { httpRequest } from '../helpers/http-client.js'
import { deadPort, startHealthServer } from '../helpers/health-server.js'
import { startTcpMember, type Teardown } from '../helpers/tcp-member.js'
import { readToEnd } from '../helpers/tcp-client.js'

interface Setup {
  readonly lb: CorralProcess
  readonly logPath: string
  readonly port: number
  /** The data path the instance runs (dataPath: auto is native where the addon built). */
  readonly native: boolean
}

/**
 * corral (default workers) logging to a file, in front of `members` (id → port); every
 * member is up by a shared health server unless `healthDown`.
 */
async function setup(
  t: Teardown & { testdir(): string },
  members: Readonly<Record<string, number>>,
  accessLog: string,
  options: { healthDown?: boolean; extra?: string } = {},
): Promise<Setup> {
  const health = await startHealthServer({
    status: options.healthDown === true ? 500 : 200,
  })
  t.teardown(() => health.close())
  const dir = t.testdir()
  const logPath = join(dir, 'access.log')
  const list = Object.entries(members)
    .map(
      ([id, port]) => `  - { id: ${id}, address: 127.0.0.1, ports: { http: ${port} } }`,
    )
    .join('\n')
  const yaml = `listeners:
  - { name: http, bind: "127.0.0.1:0" }
members:
${list}
health: { port: ${health.port}, interval: 100ms, timeout: 500ms, rise: 1, fall: 1, jitter: 0, initialState: ${options.healthDown === true ? 'down' : 'up'} }
admin: { bind: "127.0.0.1:0" }
accessLog: { enabled: true, destination: "${logPath}", ${accessLog} }
${options.extra ?? ''}
dataPath: ${process.env.CORRAL_DATA_PATH === 'js' || process.env.CORRAL_DATA_PATH === 'native' ? process.env.CORRAL_DATA_PATH : 'auto'}
`
  const lb = await startCorral(dir, yaml)
  t.teardown(() => lb.stop('SIGKILL'))
  const pool = (await (await fetch(`${lb.adminUrl}/api/v1/pool`)).json()) as {
    summary: { dataPath: string }
  }
  const native = pool.summary.dataPath === 'native'
  // A run asked for one path must be on it (the native one silently falls back to JS
  // when the addon is missing: then the native assertions would prove nothing).
  if (process.env.CORRAL_DATA_PATH === 'native' && !native)
    throw new Error('CORRAL_DATA_PATH=native but the instance runs the JS data path')
  return { lb, logPath, port: lb.ports.http ?? 0, native }
}

/** The addresses of a record of a connection to `port` from 127.0.0.1. */
function assertAddresses(t: Test, r: Rec, port: number): void {
  t.equal(r.clientAddress, '127.0.0.1', 'client address')
  t.type(r.clientPort, 'number', 'client port')
  t.equal(r.localAddress, '127.0.0.1', 'local address')
  t.equal(r.localPort, port, 'local port: the listener')
}

/** Close records in `paths` once `done` says so (bounded: then whatever is there). */
async function waitForRecords(
  paths: string[],
  done: (records: Rec[]) => boolean,
): Promise<Rec[]> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const all = readRecords(...paths).filter(r => r.type === 'close')
    if (done(all) || Date.now() > deadline) return all
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

/** Resolves when `socket` closed, reset or not (bounded). */
async function untilClosed(socket: Socket): Promise<void> {
  if (socket.closed) return
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error('socket not closed after 15 s'))
    }, 15_000)
    socket.once('close', () => {
      clearTimeout(timer)
      resolve()
    })
  })
}

const signal = (): AbortSignal => AbortSignal.timeout(15_000)

void t.test('one member: transfers, closers and causes', async t => {
  const member = await startTcpMember(t, commandMember)
  const { lb, logPath, port } = await setup(t, { a: member.port }, 'interim: 300ms', {
    extra: 'timeouts: { idle: 1500ms }',
  })
  const byPort = (p: number | undefined) => (r: Rec) =>
    r.type === 'close' && r.clientPort === p

  await t.test('an 8 MiB download: the member closes first, exact bytes, --', async t => {
    const c = await dial(port)
    const cPort = c.localPort
    c.write('DOWNLOAD 8388608\n')
    const got = await readToEnd(c, signal())
    c.end()
    t.equal(got.length, BIG)
    const r = await waitForRecord(logPath, byPort(cPort))
    t.equal(r.bytesToClient, BIG, 'bytes to client')
    t.equal(r.bytesToMember, 'DOWNLOAD 8388608\n'.length, 'bytes to member')
    t.equal(r.termination, '--')
    t.equal(r.status, 200)
    t.equal(r.member, 'a')
    t.equal(r.attempts.length, 1)
    t.equal(r.attempts[0]?.result, 'ok')
    t.type(r.connectMs, 'number')
    t.equal(r.closedBy, 'member')
    t.equal(r.cause, 'fin')
    assertAddresses(t, r, port)
    // The client's request comes first, the member's answer after it, both once the
    // member leg is up.
    const connectMs = r.connectMs ?? NaN
    const toMember = r.firstByteToMemberMs ?? NaN
    const toClient = r.firstByteToClientMs ?? NaN
    t.ok(toMember >= connectMs, `first byte to member ${toMember} ≥ connect ${connectMs}`)
    t.ok(toClient >= toMember, `first byte to client ${toClient} ≥ to member ${toMember}`)
    t.ok(toClient <= r.durationMs, 'first byte to client within the connection')
    t.equal(r.sni, null, 'no TLS: sni null')
  })

  await t.test('an 8 MiB upload: the client closes first, exact bytes, --', async t => {
    const c = await dial(port)
    const cPort = c.localPort
    c.write('UPLOAD 8388608\n')
    c.end(Buffer.alloc(BIG))
    const got = await readToEnd(c, signal())
    t.equal(got.toString(), 'ok')
    const r = await waitForRecord(logPath, byPort(cPort))
    t.equal(r.bytesToMember, BIG + 'UPLOAD 8388608\n'.length)
    t.equal(r.bytesToClient, 2)
    t.equal(r.termination, '--')
    t.equal(r.closedBy, 'client')
  })

  await t.test('a client abort mid-transfer: CD', async t => {
    const c = await dial(port)
    const cPort = c.localPort
    c.write('DOWNLOAD 268435456\n')
    let seen = 0
    await new Promise<void>(resolve => {
      c.on('data', (chunk: Buffer) => {
        seen += chunk.length
        if (seen > 1_000_000) {
          c.resetAndDestroy()
          resolve()
        }
      })
    })
    const r = await waitForRecord(logPath, byPort(cPort))
    t.ok(r.bytesToClient > 0 && r.bytesToClient < 268435456, 'partial bytes')
    t.equal(r.termination, 'CD')
    t.equal(r.closedBy, 'client')
    t.equal(r.cause, 'rst')
  })

  await t.test('a member reset mid-transfer: SD', async t => {
    const c = await dial(port)
    const cPort = c.localPort
    c.write('RST 1000000\n')
    let got = 0
    c.on('data', (chunk: Buffer) => {
      got += chunk.length
      if (got === 1_000_000) c.write('x')
    })
    await untilClosed(c)
    const r = await waitForRecord(logPath, byPort(cPort))
    t.equal(r.termination, 'SD')
    t.equal(r.closedBy, 'member')
    t.equal(r.cause, 'rst')
    t.equal(r.status, 200)
  })

  await t.test(
    'a held connection: interim records, then the idle timeout: cD',
    async t => {
      const c = await dial(port)
      const cPort = c.localPort
      c.write('HOLD\n')
      c.resume()
      const interim = await waitForRecord(
        logPath,
        r => r.type === 'interim' && r.clientPort === cPort,
      )
      t.equal(interim.termination, null, 'open: no termination yet')
      t.equal(interim.bytesToMember, 5)
      t.type(interim.firstByteToMemberMs, 'number', 'first byte, while still open')
      t.equal(interim.firstByteToClientMs, null, 'the member sent nothing')
      assertAddresses(t, interim, port)
      await untilClosed(c)
      const r = await waitForRecord(logPath, byPort(cPort))
      t.equal(r.id, interim.id, 'interim and close records share the id')
      t.equal(r.termination, 'cD')
      t.equal(r.closedBy, 'corral')
      t.equal(r.cause, 'idle_timeout')
    },
  )

  await t.test('a TLS client: the SNI it sent, peeked, the hello untouched', async t => {
    const c = tlsConnect({ host: '127.0.0.1', port, servername: 'dtr.example.com' })
    c.on('error', () => undefined)
    const cPort = await new Promise<number | undefined>(resolve => {
      c.once('connect', () => {
        resolve(c.localPort)
      })
    })
    const r = await waitForRecord(logPath, byPort(cPort))
    t.equal(r.sni, 'dtr.example.com')
    t.ok(r.bytesToMember > 0, 'the hello went through untouched')
    t.type(r.firstByteToMemberMs, 'number')
    assertAddresses(t, r, port)
  })

  await t.test('a bare connect/close is not logged', async t => {
    const c = await dial(port)
    const cPort = c.localPort
    c.resume()
    c.end()
    await untilClosed(c)
    // A later connection's record proves the earlier one had its turn.
    const d = await dial(port)
    const dPort = d.localPort
    d.write('DOWNLOAD 10\n')
    await readToEnd(d, signal())
    d.end()
    await waitForRecord(logPath, byPort(dPort))
    t.equal(readRecords(logPath).filter(r => r.clientPort === cPort).length, 0)
  })

  await t.test('the log rotated under load: no line lost or torn', async t => {
    const rotated = `${logPath}.1`
    const ports: (number | undefined)[] = []
    // Four clients in parallel, 20 connections each; the rename and SIGUSR1 land in
    // the middle of it.
    const client = async (k: number): Promise<void> => {
      for (let i = 0; i < 20; i++) {
        const c = await dial(port)
        const cPort = c.localPort
        c.write('DOWNLOAD 1000\n')
        await readToEnd(c, signal())
        c.end()
        await untilClosed(c)
        ports.push(cPort)
        if (k === 0 && i === 10) {
          renameSync(logPath, rotated)
          lb.proc.kill('SIGUSR1')
        }
      }
    }
    await Promise.all([0, 1, 2, 3].map(client))
    const all = await waitForRecords([rotated, logPath], recs =>
      ports.every(p => recs.some(r => r.clientPort === p)),
    )
    for (const p of ports)
      t.equal(all.filter(r => r.clientPort === p).length, 1, `port ${String(p)}`)
    // Both files hold whole lines (readRecords throws on a torn one). How many landed
    // in each depends on when each worker's queued batch was written (lines queued at
    // the reopen go to the new file), so only "some in each" is certain: a count
    // threshold here failed on a loaded machine.
    t.ok(readRecords(logPath).length > 0, 'the reopened file has lines')
    t.ok(readRecords(rotated).length > 0, 'the rotated file kept its lines')
  })
})

void t.test('a refused member, then a retry: two attempts, success', async t => {
  const member = await startTcpMember(t, commandMember)
  const refused = await deadPort()
  // Round robin starts at either member: each connection's record shows where it went.
  const { logPath, port } = await setup(t, { dead: refused, live: member.port }, '', {
    extra: 'limits: { connectAttempts: 2 }',
  })
  const c = await dial(port)
  const cPort = c.localPort
  c.write('DOWNLOAD 100\n')
  await readToEnd(c, signal())
  const d = await dial(port)
  const dPort = d.localPort
  d.write('DOWNLOAD 100\n')
  await readToEnd(d, signal())
  const records = await waitForRecords([logPath], recs => recs.length >= 2)
  const retried = records.find(
    r => (r.clientPort === cPort || r.clientPort === dPort) && r.attempts.length === 2,
  )
  if (retried === undefined) throw new Error('no connection tried the refused member')
  t.strictSame(
    retried.attempts.map(a => [a.member, a.result]),
    [
      ['dead', 'refused'],
      ['live', 'ok'],
    ],
  )
  t.equal(retried.member, 'live')
  t.equal(retried.termination, '--')
  t.equal(retried.status, 200)
  t.equal(retried.bytesToClient, 100)
})

void t.test('all members down: 503, no member', async t => {
  const member = await startTcpMember(t, commandMember)
  const { logPath, port } = await setup(t, { a: member.port }, '', { healthDown: true })
  const c = await dial(port)
  const cPort = c.localPort
  c.resume()
  await untilClosed(c)
  const r = await waitForRecord(logPath, rec => rec.clientPort === cPort)
  t.equal(r.status, 503)
  t.equal(r.termination, 'SC')
  t.equal(r.member, null)
  assertAddresses(t, r, port)
  t.equal(r.connectMs, null, 'never connected')
  t.equal(r.firstByteToMemberMs, null)
  t.equal(r.closedBy, 'corral')
  t.equal(r.cause, 'no_member')
  t.strictSame(r.attempts, [])
  t.equal(member.accepted, 0)
})

void t.test('sample 0: normal lines gone, errors kept', async t => {
  const member = await startTcpMember(t, commandMember)
  const refused = await deadPort()
  const { logPath, port } = await setup(
    t,
    { dead: refused, live: member.port },
    'sample: 0',
    {
      extra: 'limits: { connectAttempts: 1 }',
    },
  )
  const ports: (number | undefined)[] = []
  for (let i = 0; i < 4; i++) {
    const c = await dial(port)
    ports.push(c.localPort)
    c.write('DOWNLOAD 100\n')
    c.resume()
    await untilClosed(c)
  }
  // Round robin: at least one of four went to the refused member (before any eviction).
  const errors = await waitForRecords([logPath], recs => recs.length >= 1)
  t.ok(errors.length >= 1, 'the failed connection is logged')
  for (const r of errors) {
    t.ok(ports.includes(r.clientPort ?? undefined), 'one of ours')
    t.equal(r.termination, 'SC')
    t.equal(r.status, 502)
  }
  t.ok(member.accepted >= 1, 'some connections went through')
  t.equal(
    readRecords(logPath).filter(r => r.termination === '--').length,
    0,
    'no normal line',
  )
})

void t.test('workers: 0 logs too, reopens on SIGUSR1 and counts lines', async t => {
  const member = await startTcpMember(t, commandMember)
  const { lb, logPath, port } = await setup(t, { a: member.port }, '', {
    extra: 'workers: 0',
  })
  const download = async (): Promise<number | undefined> => {
    const c = await dial(port)
    const cPort = c.localPort
    c.write('DOWNLOAD 10\n')
    await readToEnd(c, signal())
    c.end()
    return cPort
  }
  const first = await download()
  await waitForRecord(logPath, r => r.clientPort === first)
  renameSync(logPath, `${logPath}.1`)
  lb.proc.kill('SIGUSR1')
  // The reopen is asynchronous: later connections land in the new file once it is done.
  const deadline = Date.now() + 10_000
  let second: number | undefined
  while (readRecords(logPath).length === 0 && Date.now() < deadline) {
    second = await download()
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  t.ok(
    readRecords(logPath).some(r => r.clientPort === second),
    'a new file after SIGUSR1',
  )
  t.equal(readRecords(`${logPath}.1`).filter(r => r.clientPort === first).length, 1)
  const metrics = await httpRequest(lb.adminPort, '/metrics')
  t.match(metrics.body, /corral_access_log_lines_total [1-9]/)
  t.match(metrics.body, 'corral_access_log_dropped_total{reason="backlog"} 0')
})
