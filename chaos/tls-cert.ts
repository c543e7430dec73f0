// A throwaway self-signed certificate for the chaos replicas' TLS ports, made with the
// openssl CLI (EC P-256, SAN localhost and 127.0.0.1). Not fit for production use.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

/** Paths and PEM texts of a key pair; `cert` is also the CA to trust. */
export interface ChaosCert {
  readonly keyPath: string
  readonly certPath: string
  readonly cert: string
}

/** Writes key.pem and cert.pem into `dir` (about 50 ms) and returns them. */
export function makeChaosCert(dir: string): ChaosCert {
  const keyPath = join(dir, 'key.pem')
  const certPath = join(dir, 'cert.pem')
  // prettier-ignore
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ], { stdio: ['ignore', 'ignore', 'pipe'] })
  return { keyPath, certPath, cert: readFileSync(certPath, 'utf8') }
}
