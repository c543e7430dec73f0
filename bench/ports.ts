// Free TCP ports from the OS: bind port 0, read the port back, close.

import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'

/**
 * A port that was free a moment ago on 127.0.0.1. Another process could take it before
 * the caller binds it; on a benchmark machine that is rare and shows as a start failure.
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port)
        else reject(new Error('listening socket has no port'))
      })
    })
  })
}

/** `count` distinct free ports. */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>()
  for (let i = 0; ports.size < count && i < count * 10; i++) ports.add(await freePort())
  if (ports.size < count) throw new Error(`could not find ${count} free ports`)
  return [...ports]
}

/**
 * Whether /proc/net/tcp text has a socket in LISTEN state (st 0A) on `port`. Used to
 * wait for a proxy without connecting through it (a stray connection would reach the
 * member: iperf3 -s, for one, logs an error for a client that sends nothing).
 */
export function hasListener(procNetTcp: string, port: number): boolean {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0')
  return procNetTcp.split('\n').some(line => {
    const cols = line.trim().split(/\s+/)
    return cols[1]?.endsWith(`:${hexPort}`) === true && cols[3] === '0A'
  })
}

/** Whether something listens on TCP `port` (IPv4), from /proc/net/tcp. */
export function isListening(port: number): boolean {
  try {
    return hasListener(readFileSync('/proc/net/tcp', 'utf8'), port)
  } catch {
    // No procfs (not Linux): report not listening; the caller's timeout explains.
    return false
  }
}
