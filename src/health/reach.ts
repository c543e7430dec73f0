// The cheap check: can this instance open a TCP connection to the member's probe port?
// Used for members whose /health probe another instance runs (coordination probes:
// shared), so that adding load balancers does not multiply /health traffic, while each
// still notices a member it cannot reach itself.
import { connect } from 'node:net'
import type { Clock } from '../clock.js'
import type { CheckResult, FailureReason } from '../pool/types.js'
import { checkHeader, type CheckProxyProtocol } from './proxy-connect.js'

function reasonOf(code: string | undefined): FailureReason {
  switch (code ?? '') {
    case 'ECONNREFUSED':
      return 'refused'
    case 'ECONNRESET':
      return 'reset'
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'dns'
    default:
      return 'error'
  }
}

/**
 * Connects to address:port and closes at once (after the PROXY header, when `proxy` asks
 * for one); resolves with the outcome, never rejects.
 */
export function probeReachability(
  address: string,
  port: number,
  timeoutMs: number,
  clock: Clock,
  proxy?: CheckProxyProtocol,
): Promise<CheckResult> {
  const started = clock.now()
  return new Promise(resolve => {
    const socket = connect({ host: address, port })
    const timer = setTimeout(() => {
      socket.destroy()
      resolve({
        ok: false,
        reason: 'timeout',
        detail: `tcp connect to ${address}:${port} took over ${timeoutMs}ms`,
        latencyMs: clock.now() - started,
      })
    }, timeoutMs)
    socket.once('connect', () => {
      clearTimeout(timer)
      let header: Buffer | undefined
      try {
        header = proxy === undefined ? undefined : checkHeader(proxy, socket)
      } catch {
        // A connected socket always has endpoints; without them, close with nothing sent.
        header = undefined
      }
      // Closed once the header is in the kernel's buffer: close(2) still delivers it.
      if (header !== undefined) socket.write(header, () => socket.destroy())
      else socket.destroy()
      resolve({ ok: true, latencyMs: clock.now() - started })
    })
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      resolve({
        ok: false,
        reason: reasonOf(err.code),
        detail: `tcp connect ${err.code ?? err.message} ${address}:${port}`,
        latencyMs: clock.now() - started,
      })
    })
  })
}
