// corral_tls_cert_not_after_seconds: when the admin API's certificate expires, read at
// scrape time (a SIGHUP may have replaced it), for an expiry alert.
import { Gauge, type Registry } from 'prom-client'

/** Registers the gauge on `register`; `notAfter` is the served certificate's expiry. */
export function registerCertExpiry(
  register: Registry,
  notAfter: () => number | undefined,
): Gauge<'server'> {
  return new Gauge({
    name: 'corral_tls_cert_not_after_seconds',
    help: 'When the served TLS certificate expires (notAfter, Unix seconds), by server (admin).',
    labelNames: ['server'],
    registers: [register],
    collect() {
      const at = notAfter()
      if (at !== undefined) this.set({ server: 'admin' }, at)
    },
  })
}
