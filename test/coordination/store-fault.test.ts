// The Redis connect-error classification: each error ioredis or Node reports maps to one
// cause, and only configuration causes are retried slowly.
import t from 'tap'
import { classifyStoreError } from '../../src/coordination/store-fault.js'

function coded(code: string, message: string): Error {
  return Object.assign(new Error(message), { code })
}

void t.test('each reported error maps to its cause', t => {
  const table: [string, unknown, string, boolean][] = [
    [
      'unknown CA',
      coded('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'),
      'bad_ca',
      true,
    ],
    [
      'self-signed in chain',
      coded('SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain'),
      'bad_ca',
      true,
    ],
    ['expired', coded('CERT_HAS_EXPIRED', 'certificate has expired'), 'bad_ca', true],
    [
      'name mismatch',
      coded(
        'ERR_TLS_CERT_ALTNAME_INVALID',
        "Hostname/IP does not match certificate's altnames",
      ),
      'name_mismatch',
      true,
    ],
    [
      'client certificate required (TLS 1.3 alert)',
      coded(
        'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
        'error:0A00045C:SSL routines::tlsv13 alert certificate required',
      ),
      'client_cert_required',
      true,
    ],
    [
      'plain server on a TLS connection',
      coded('ERR_SSL_WRONG_VERSION_NUMBER', 'wrong version number'),
      'tls_handshake',
      false,
    ],
    [
      'wrong password',
      new Error('WRONGPASS invalid username-password pair or user is disabled.'),
      'wrong_password',
      true,
    ],
    [
      'no password given',
      new Error('NOAUTH Authentication required.'),
      'wrong_password',
      true,
    ],
    [
      'ACL without a command',
      new Error("NOPERM User corral has no permissions to run the 'evalsha' command"),
      'no_permission',
      true,
    ],
    [
      'refused',
      coded('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:6390'),
      'refused',
      false,
    ],
    ['timeout', coded('ETIMEDOUT', 'connect ETIMEDOUT'), 'timeout', false],
    ['anything else', new Error('Connection is closed.'), 'other', false],
    ['not an Error', 'a string', 'other', false],
  ]
  for (const [name, err, cause, config] of table) {
    const fault = classifyStoreError(err)
    t.equal(fault.cause, cause, `${name} → ${cause}`)
    t.equal(fault.config, config, `${name}: ${config ? '' : 'not '}a configuration error`)
    t.ok(fault.hint.length > 0, `${name}: a hint`)
  }
  t.end()
})

void t.test('the message is kept as reported', t => {
  const fault = classifyStoreError(new Error('WRONGPASS invalid username-password pair'))
  t.equal(fault.message, 'WRONGPASS invalid username-password pair')
  t.end()
})
