// Why the shared store cannot be used, as one of a closed set of causes: a pure function
// from the error ioredis or Node reported. The pool API, a metric and the log show the
// cause; "config" causes will not heal by retrying, so the connection retries slowly.

/** Reconnect delay while the last failure was a configuration error (not 100 ms..2 s). */
export const CONFIG_ERROR_RETRY_MS = 10_000

/** Every cause corral tells apart (the metric's `cause` label values). */
export const STORE_FAULT_CAUSES = [
  'bad_ca',
  'name_mismatch',
  'client_cert_required',
  'tls_handshake',
  'wrong_password',
  'no_permission',
  'refused',
  'timeout',
  'other',
] as const

/** One of STORE_FAULT_CAUSES. */
export type StoreFaultCause = (typeof STORE_FAULT_CAUSES)[number]

/** The current fault: its cause, what to do about it, and the error as reported. */
export interface StoreFault {
  readonly cause: StoreFaultCause
  /** A configuration problem that retrying will not fix (retried slowly, logged as error). */
  readonly config: boolean
  /** One sentence for the operator: what is wrong and what to check. */
  readonly hint: string
  /** The error message as reported (never holds a password: Redis does not echo it). */
  readonly message: string
}

const CA_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
])

const HINTS: Record<StoreFaultCause, string> = {
  bad_ca:
    'the Redis server certificate is not signed by redis.tls.ca (or has expired): check the CA file',
  name_mismatch:
    'the Redis server certificate is not issued for this host name: check the url host or redis.tls.servername',
  client_cert_required:
    'Redis requires a client certificate it trusts: set redis.tls.cert and redis.tls.key',
  tls_handshake:
    'the TLS handshake failed: check that Redis speaks TLS on this port (rediss:// or redis.tls)',
  wrong_password:
    'Redis refused the user name or password: check redis.username and redis.password(File)',
  no_permission:
    "the Redis ACL user lacks a command, key or channel corral needs: see docs/coordination.md's ACL line",
  refused:
    'nothing listens at the Redis address: check the url, port and that Redis runs',
  timeout: 'Redis did not answer in time: check the network path and the server load',
  other: 'see the message',
}

const CONFIG_CAUSES: ReadonlySet<StoreFaultCause> = new Set([
  'bad_ca',
  'name_mismatch',
  'client_cert_required',
  'wrong_password',
  'no_permission',
])

function codeOf(err: unknown): string {
  if (typeof err !== 'object' || err === null || !('code' in err)) return ''
  return typeof err.code === 'string' ? err.code : ''
}

function causeOf(err: unknown): StoreFaultCause {
  const code = codeOf(err)
  const message = err instanceof Error ? err.message : String(err)
  if (CA_CODES.has(code)) return 'bad_ca'
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return 'name_mismatch'
  if (/CERTIFICATE_REQUIRED|certificate required/i.test(code + ' ' + message)) {
    return 'client_cert_required'
  }
  if (/^(ERR_SSL_|ERR_TLS_)/.test(code) || /\bSSL\b|\bTLS\b/.test(message)) {
    return 'tls_handshake'
  }
  if (/WRONGPASS|NOAUTH|invalid password|invalid username-password/i.test(message)) {
    return 'wrong_password'
  }
  if (message.includes('NOPERM')) return 'no_permission'
  if (code === 'ECONNREFUSED' || message.includes('ECONNREFUSED')) return 'refused'
  if (code === 'ETIMEDOUT' || /timed out|ETIMEDOUT/i.test(message)) return 'timeout'
  return 'other'
}

/** Classifies an error from ioredis or Node (see the file comment). */
export function classifyStoreError(err: unknown): StoreFault {
  const cause = causeOf(err)
  const message = err instanceof Error ? err.message : String(err)
  return { cause, config: CONFIG_CAUSES.has(cause), hint: HINTS[cause], message }
}
