// The cheap check: can this instance open a TCP connection to the member's probe port?
// Used for members whose /health probe another instance runs (coordination probes:
// shared), so that adding load balancers does not multiply /health traffic, while each
// still notices a member it cannot reach itself.
import { connect } from 'node:net'
import type { Clock } from '../clock.js'
import type { CheckResult, FailureReason } from '../pool/types.js'

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

/** Connects to address:port and closes at once; resolves with the outcome, never rejects. */
export function probeReachability(
  address: string,
  port: number,
  timeoutMs: number,
  clock: Clock,
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
      socket.destroy()
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
