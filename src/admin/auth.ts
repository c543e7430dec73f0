import { createHash, timingSafeEqual } from 'node:crypto'

/** Whether an Authorization header carries the bearer token (constant-time compare). */
export function hasBearerToken(header: string | undefined, token: string): boolean {
  if (header === undefined) return false
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
  if (match?.[1] === undefined) return false
  // Hash both sides so the comparison takes the same time whatever the lengths.
  const given = createHash('sha256').update(match[1]).digest()
  const expected = createHash('sha256').update(token).digest()
  return timingSafeEqual(given, expected)
}

/** Whether an admin bind address only accepts local connections. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

/** What a route needs: nothing (probes), the read scope, or the admin scope (mutations). */
export type Scope = 'open' | 'read' | 'admin'

/** The configured tokens; an absent one leaves its scope open (as before #23). */
export interface Tokens {
  readonly admin?: string
  readonly read?: string
}

/**
 * Whether a request with this Authorization header may use a route of `scope`: "ok", 401
 * (no valid token) or 403 (a valid read token on a mutation). The admin token also reads.
 */
export function authorize(
  scope: Scope,
  header: string | undefined,
  tokens: Tokens,
): 'ok' | 401 | 403 {
  if (scope === 'open') return 'ok'
  const isAdmin = tokens.admin !== undefined && hasBearerToken(header, tokens.admin)
  if (scope === 'admin') {
    if (tokens.admin === undefined || isAdmin) return 'ok'
    return tokens.read !== undefined && hasBearerToken(header, tokens.read) ? 403 : 401
  }
  if (tokens.read === undefined || isAdmin) return 'ok'
  return hasBearerToken(header, tokens.read) ? 'ok' : 401
}
