// admin token files, the read token, admin.tls and the override key: parsed, read at load
// time, and every mistake named.
import t from 'tap'
import { parseConfig } from '../../src/config/load.js'
import { ConfigError } from '../../src/errors.js'

const files: Record<string, string> = {
  '/s/admin': 'admin-secret\n',
  '/s/read': 'read-secret',
  '/s/empty': '',
}
const readFile = (path: string): string => {
  const text = files[path]
  if (text === undefined) throw new Error(`ENOENT: no such file, open '${path}'`)
  return text
}
const yaml = (admin: string): string =>
  `listeners: [{ name: http, bind: "127.0.0.1:0" }]\nadmin: ${admin}\n`

function issues(admin: string): string {
  try {
    parseConfig(yaml(admin), { readFile, env: {} })
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.join('\n')
    throw err
  }
  return ''
}

void t.test('token files are read at load time', t => {
  const c = parseConfig(
    yaml(
      '{ tokenFile: /s/admin, readTokenFile: /s/read, tls: { cert: /c, key: /k }, insecureBind: true }',
    ),
    { readFile, env: {} },
  )
  t.equal(c.admin.token, 'admin-secret', 'one trailing newline dropped')
  t.equal(c.admin.readToken, 'read-secret')
  t.same(c.admin.tls, { cert: '/c', key: '/k', clientAuth: 'none' })
  t.equal(c.admin.insecureBind, true)
  t.end()
})

void t.test('mistakes are named', t => {
  t.match(
    issues('{ token: a, tokenFile: /s/admin }'),
    /tokenFile: expected token or tokenFile, not both/,
  )
  t.match(
    issues('{ readToken: a, readTokenFile: /s/read }'),
    /readTokenFile: expected readToken or readTokenFile/,
  )
  t.match(issues('{ tokenFile: /s/nope }'), /admin\.tokenFile: cannot read \/s\/nope/)
  t.match(
    issues('{ readTokenFile: /s/empty }'),
    /admin\.readTokenFile: \/s\/empty is empty/,
  )
  t.match(issues('{ tls: { cert: /c } }'), /admin\.tls\.key/)
  t.match(
    issues('{ tls: { cert: /c, key: /k, clientAuth: require } }'),
    /admin\.tls\.ca: expected a CA file to verify client certificates with/,
  )
  t.match(
    issues('{ tls: { cert: /c, key: /k, clientAuth: sometimes } }'),
    /"none", "optional" or "require"/,
  )
  t.end()
})
