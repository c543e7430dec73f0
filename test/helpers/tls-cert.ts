// Test certificates made at test time with the openssl CLI: a throwaway CA and a server
// certificate it signed. Nothing here is fit for production use.

import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { join } from 'node:path'

/** What the certificate is issued for. */
export interface CertOptions {
  /** Subject common name. Default "localhost". */
  readonly cn?: string
  /** DNS names and IP addresses for subjectAltName. Default ["localhost", "127.0.0.1"]. */
  readonly san?: readonly string[]
  /** Validity in days. Default 2. */
  readonly days?: number
  /** Also usable as a TLS client certificate (extendedKeyUsage clientAuth). Default false. */
  readonly clientAuth?: boolean
}

/** PEM texts of a server key pair and of the CA that signed it. */
export interface TestCert {
  /** Server private key (PEM). */
  readonly key: string
  /** Server certificate (PEM), signed by `ca`. */
  readonly cert: string
  /** CA certificate (PEM): trust this to verify `cert`. */
  readonly ca: string
}

/** Resolved on PATH (/usr/bin/openssl on the CI image). */
const OPENSSL = 'openssl'

function openssl(dir: string, args: readonly string[]): void {
  execFileSync(OPENSSL, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
}

/**
 * Creates a CA and a server certificate it signed (EC P-256) in `dir` (e.g. a
 * `t.testdir()`), and returns their PEM texts; synchronous, about 50 ms.
 */
export function makeSelfSignedCert(dir: string, options: CertOptions = {}): TestCert {
  const cn = options.cn ?? 'localhost'
  const san = options.san ?? ['localhost', '127.0.0.1']
  const days = String(options.days ?? 2)
  const curve = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  // prettier-ignore
  openssl(dir, [
    'req', '-x509', ...curve, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', days,
    '-subj', '/CN=corral test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ])
  // prettier-ignore
  openssl(dir, [
    'req', ...curve, '-keyout', 'server.key', '-out', 'server.csr', '-subj', `/CN=${cn}`,
  ])
  const altNames = san.map(name => (isIP(name) === 0 ? `DNS:${name}` : `IP:${name}`))
  writeFileSync(
    join(dir, 'server.ext'),
    [
      `subjectAltName=${altNames.join(',')}`,
      'basicConstraints=CA:FALSE',
      'keyUsage=digitalSignature,keyEncipherment',
      options.clientAuth === true
        ? 'extendedKeyUsage=serverAuth,clientAuth'
        : 'extendedKeyUsage=serverAuth',
      '',
    ].join('\n'),
  )
  // prettier-ignore
  openssl(dir, [
    'x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key',
    '-CAcreateserial', '-out', 'server.crt', '-days', days, '-extfile', 'server.ext',
  ])
  return {
    key: readFileSync(join(dir, 'server.key'), 'utf8'),
    cert: readFileSync(join(dir, 'server.crt'), 'utf8'),
    ca: readFileSync(join(dir, 'ca.crt'), 'utf8'),
  }
}
