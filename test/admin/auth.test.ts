// Token scopes of the admin API: probes open, reads need the read (or admin) token once a
// read token is set, mutations need the admin token; a read token on a mutation is 403.
import t from 'tap'
import { authorize } from '../../src/admin/auth.js'

const both = { admin: 'A', read: 'R' }
const bearer = (token: string): string => `Bearer ${token}`

void t.test('read and admin scopes', t => {
  t.equal(authorize('open', undefined, both), 'ok', 'probes need nothing')
  t.equal(authorize('read', undefined, both), 401, 'a read without a token')
  t.equal(authorize('read', bearer('R'), both), 'ok', 'the read token reads')
  t.equal(authorize('read', bearer('A'), both), 'ok', 'the admin token reads')
  t.equal(authorize('read', bearer('X'), both), 401, 'a wrong token does not read')
  t.equal(authorize('admin', bearer('A'), both), 'ok', 'the admin token mutates')
  t.equal(authorize('admin', bearer('R'), both), 403, 'the read token cannot mutate')
  t.equal(authorize('admin', undefined, both), 401, 'no token cannot mutate')
  t.equal(authorize('admin', bearer('X'), both), 401, 'a wrong token cannot mutate')
  t.end()
})

void t.test('an unset token leaves its scope open, as before', t => {
  t.equal(authorize('read', undefined, { admin: 'A' }), 'ok', 'no read token: reads open')
  t.equal(authorize('admin', undefined, {}), 'ok', 'no tokens at all: loopback default')
  t.equal(authorize('admin', bearer('R'), { read: 'R' }), 'ok', 'no admin token')
  t.end()
})
