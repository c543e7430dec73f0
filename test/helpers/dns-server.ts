// A tiny authoritative DNS server over UDP on 127.0.0.1 for discovery tests: answers A,
// AAAA and SRV questions from a table the test changes at run time, or fails on purpose
// (NXDOMAIN, SERVFAIL, REFUSED, no answer at all, an empty answer). RFC 1035 §4.1 wire
// format, written by hand: a header, the question echoed, then the answer records.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram'
import { EventEmitter, once } from 'node:events'
import { isIPv4, isIPv6 } from 'node:net'

/** A record type this server answers. */
export type RecordType = 'A' | 'AAAA' | 'SRV'

/** One SRV answer. */
export interface SrvAnswer {
  readonly target: string
  readonly port: number
  readonly priority?: number
  readonly weight?: number
}

/** What the server does with a question. */
export type DnsReply =
  | { readonly addresses: readonly string[] }
  | { readonly srv: readonly SrvAnswer[] }
  | { readonly fail: 'nxdomain' | 'servfail' | 'refused' | 'drop' | 'empty' }

/** A running server. */
export interface DnsServer {
  /** "127.0.0.1:<port>", as discovery's `servers` takes it. */
  readonly address: string
  readonly port: number
  /** Sets the reply for (type, name); names are compared without case or a trailing dot. */
  set(type: RecordType, name: string, reply: DnsReply): void
  /** Answers (type, name) with each of `replies` in turn, one per question, round and round. */
  cycle(type: RecordType, name: string, replies: readonly DnsReply[]): void
  /** Questions answered (or dropped) so far for (type, name). */
  queries(type: RecordType, name: string): number
  /** Resolves once `count` more questions for (type, name) arrived than `since`. */
  waitForQueries(
    type: RecordType,
    name: string,
    count: number,
    since: number,
    timeoutMs?: number,
  ): Promise<void>
  close(): Promise<void>
}

const TYPES: Record<number, RecordType> = { 1: 'A', 28: 'AAAA', 33: 'SRV' }
const CODES: Record<RecordType, number> = { A: 1, AAAA: 28, SRV: 33 }
const RCODE = { nxdomain: 3, servfail: 2, refused: 5 } as const

function keyOf(type: RecordType, name: string): string {
  return `${type} ${name.toLowerCase().replace(/\.$/, '')}`
}

/** Reads the question name at `offset`; returns it and the offset after it. */
function readName(msg: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = []
  let at = offset
  for (;;) {
    const len = msg.readUInt8(at)
    at++
    if (len === 0) break
    labels.push(msg.toString('latin1', at, at + len))
    at += len
  }
  return { name: labels.join('.'), end: at }
}

function encodeName(name: string): Buffer {
  const parts = name
    .replace(/\.$/, '')
    .split('.')
    .filter(p => p.length > 0)
  return Buffer.concat([
    ...parts.map(p => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, 'latin1')])),
    Buffer.from([0]),
  ])
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail] = address.split('::')
  const h = head === '' ? [] : head.split(':')
  const tl = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups =
    tail === undefined
      ? h
      : [...h, ...Array<string>(8 - h.length - tl.length).fill('0'), ...tl]
  const out = Buffer.alloc(16)
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2))
  return out
}

function rdataOf(type: RecordType, value: string | SrvAnswer): Buffer {
  if (typeof value !== 'string') {
    const head = Buffer.alloc(6)
    head.writeUInt16BE(value.priority ?? 10, 0)
    head.writeUInt16BE(value.weight ?? 10, 2)
    head.writeUInt16BE(value.port, 4)
    return Buffer.concat([head, encodeName(value.target)])
  }
  if (type === 'A' && isIPv4(value)) return Buffer.from(value.split('.').map(Number))
  if (type === 'AAAA' && isIPv6(value)) return ipv6Bytes(value)
  throw new Error(`dns-server: ${value} is not an ${type} address`)
}

/** Builds the response to `query` (its id, RD bit and question echoed). */
function respond(
  query: Buffer,
  questionEnd: number,
  type: RecordType,
  rcode: number,
  values: readonly (string | SrvAnswer)[],
): Buffer {
  const header = Buffer.alloc(12)
  header.writeUInt16BE(query.readUInt16BE(0), 0)
  // QR=1, opcode 0, AA=1, RD copied, RA=1, rcode.
  header.writeUInt16BE(0x8480 | (query.readUInt16BE(2) & 0x0100) | rcode, 2)
  header.writeUInt16BE(1, 4)
  header.writeUInt16BE(values.length, 6)
  const answers = values.map(v => {
    const rdata = rdataOf(type, v)
    const fixed = Buffer.alloc(12)
    fixed.writeUInt16BE(0xc00c, 0) // pointer to the question's name
    fixed.writeUInt16BE(CODES[type], 2)
    fixed.writeUInt16BE(1, 4) // class IN
    fixed.writeUInt32BE(600, 6) // what Swarm's embedded DNS says: polling ignores it
    fixed.writeUInt16BE(rdata.length, 10)
    return Buffer.concat([fixed, rdata])
  })
  return Buffer.concat([header, query.subarray(12, questionEnd), ...answers])
}

/** Starts the server on 127.0.0.1 and a free port; closed in `t.teardown`. */
export async function startDnsServer(t: {
  teardown(fn: () => unknown): void
}): Promise<DnsServer> {
  const table = new Map<string, readonly DnsReply[]>()
  const counts = new Map<string, number>()
  const events = new EventEmitter()
  const socket: Socket = createSocket('udp4')
  socket.on('message', (msg: Buffer, from: RemoteInfo) => {
    if (msg.length < 17) return
    let q: { name: string; end: number }
    try {
      q = readName(msg, 12)
    } catch {
      return // a malformed question: nothing to answer
    }
    const type = TYPES[msg.readUInt16BE(q.end)]
    const end = q.end + 4
    if (type === undefined) {
      socket.send(respond(msg, end, 'A', RCODE.refused, []), from.port, from.address)
      return
    }
    const key = keyOf(type, q.name)
    counts.set(key, (counts.get(key) ?? 0) + 1)
    events.emit('query', key)
    const replies = table.get(key) ?? []
    const reply = replies[((counts.get(key) ?? 1) - 1) % Math.max(1, replies.length)] ?? {
      fail: 'nxdomain',
    }
    let out: Buffer
    if ('addresses' in reply) out = respond(msg, end, type, 0, reply.addresses)
    else if ('srv' in reply) out = respond(msg, end, type, 0, reply.srv)
    else if (reply.fail === 'drop') return
    else if (reply.fail === 'empty') out = respond(msg, end, type, 0, [])
    else out = respond(msg, end, type, RCODE[reply.fail], [])
    socket.send(out, from.port, from.address)
  })
  socket.bind(0, '127.0.0.1')
  await once(socket, 'listening')
  const port = socket.address().port
  let closed = false
  const close = async (): Promise<void> => {
    if (closed) return
    closed = true
    socket.close()
    await once(socket, 'close')
  }
  t.teardown(close)
  return {
    address: `127.0.0.1:${port}`,
    port,
    set: (type, name, reply) => table.set(keyOf(type, name), [reply]),
    cycle: (type, name, replies) => table.set(keyOf(type, name), replies),
    queries: (type, name) => counts.get(keyOf(type, name)) ?? 0,
    waitForQueries: async (type, name, count, since, timeoutMs = 10_000) => {
      const key = keyOf(type, name)
      const signal = AbortSignal.timeout(timeoutMs)
      while ((counts.get(key) ?? 0) < since + count) {
        try {
          await once(events, 'query', { signal })
        } catch {
          throw new Error(
            `dns-server: ${count} queries for ${key} after ${since} did not arrive within ${timeoutMs}ms (saw ${counts.get(key) ?? 0})`,
          )
        }
      }
    },
    close,
  }
}
