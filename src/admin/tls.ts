// HTTPS for the admin API: the certificate pair read from files, checked (the key must
// match the certificate) before use, and its expiry for corral_tls_cert_not_after_seconds.
// A SIGHUP re-reads the files; a bad new pair keeps the old one (see AdminServer).
import { readFileSync } from 'node:fs'
import { createSecureContext, type SecureContextOptions } from 'node:tls'
import { X509Certificate } from 'node:crypto'
import type { AdminTlsConfig } from '../config/admin-schema.js'
import { CorralError } from '../errors.js'

/** A usable certificate pair and when its certificate expires. */
export interface CertificatePair {
  readonly context: SecureContextOptions
  /** The leaf certificate's notAfter, in Unix seconds. */
  readonly notAfter: number
}

function read(key: string, path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err)
    throw new CorralError(
      'CONFIG_INVALID',
      `admin.tls.${key}: cannot read ${path}: ${why}`,
    )
  }
}

/** Reads and checks the pair of `tls`; throws a CorralError saying what is wrong. */
export function loadCertificatePair(tls: AdminTlsConfig): CertificatePair {
  const context: SecureContextOptions = {
    cert: read('cert', tls.cert),
    key: read('key', tls.key),
    ...(tls.ca !== undefined ? { ca: read('ca', tls.ca) } : {}),
  }
  let notAfter: number
  try {
    // Throws for a key that does not match the certificate, or unparsable PEM.
    createSecureContext(context)
    notAfter = Date.parse(new X509Certificate(String(context.cert)).validTo) / 1000
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err)
    throw new CorralError(
      'CONFIG_INVALID',
      `admin.tls: ${tls.cert} and ${tls.key} are not a usable certificate and key (${why})`,
    )
  }
  return { context, notAfter }
}
