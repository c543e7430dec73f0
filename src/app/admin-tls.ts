// Wiring of the admin API's security (#23): the options AdminServer gets from the config,
// the start-time log lines (TLS on, the insecure-bind override: at every start), the
// certificate-expiry gauge, and the certificate reload on SIGHUP.
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import type { AdminServer, AdminServerOptions } from '../admin/server.js'
import type { Config } from '../config/types.js'
import { registerCertExpiry } from '../metrics/tls.js'

/** The security part of AdminServerOptions from the resolved config. */
export function adminSecurity(
  a: Config['admin'],
): Pick<AdminServerOptions, 'token' | 'readToken' | 'tls' | 'insecureBind'> {
  return {
    ...(a.token !== undefined ? { token: a.token } : {}),
    ...(a.readToken !== undefined ? { readToken: a.readToken } : {}),
    ...(a.tls !== undefined ? { tls: a.tls } : {}),
    ...(a.insecureBind === true ? { insecureBind: true } : {}),
  }
}

/** Logs how the admin API is protected (never a token) and registers the expiry gauge. */
export function announceAdminSecurity(
  admin: AdminServer,
  a: Config['admin'],
  register: Registry,
  log: Logger,
): void {
  if (a.insecureBind === true) {
    log.warn(
      { address: a.host, tls: a.tls !== undefined, token: a.token !== undefined },
      'admin.insecureBind: true: the admin API may be reachable from the network without TLS or a token (explicit override)',
    )
  }
  if (a.tls === undefined) return
  registerCertExpiry(register, () => admin.certNotAfter)
  log.info(
    {
      cert: a.tls.cert,
      clientAuth: a.tls.clientAuth,
      notAfter: new Date((admin.certNotAfter ?? 0) * 1000).toISOString(),
    },
    'admin api serves https',
  )
}

/** SIGHUP: re-reads the admin certificate pair; a bad one keeps the old and says why. */
export function reloadAdminCertificates(
  admin: AdminServer | undefined,
  log: Logger,
): void {
  const result = admin?.reloadCertificates()
  if (result === undefined) return
  if (result.ok) {
    log.info(
      { notAfter: new Date(result.notAfter * 1000).toISOString() },
      'admin certificate reloaded',
    )
  } else {
    log.error(
      { error: result.error },
      'admin certificate reload failed: still serving the previous certificate',
    )
  }
}
