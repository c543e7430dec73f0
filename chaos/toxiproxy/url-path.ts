// Request paths as the real server sees them: Go's url.ParseRequestURI percent-decodes the
// path (a bad escape is a 400 from net/http itself), and gorilla/mux 1.8 (mux.go,
// Router.ServeHTTP and cleanPath) answers any path that path.Clean would change with a
// 301 to the cleaned one, before routing, so with no request id and no browser check.
import { decodeRune } from './go-json.js'

/** A request target split into its decoded path and raw query. */
export interface RequestPath {
  /** The percent-decoded path; bytes that are not UTF-8 become a lone surrogate (U+D800). */
  readonly path: string
  /** The decoded path's bytes as a latin1 string: what path.Clean and the redirect work on. */
  readonly bytePath: string
  /** The raw query after "?", or undefined when there was no "?". */
  readonly query: string | undefined
}

/**
 * Splits and decodes a request target; undefined for a bad percent escape (Go: 400).
 * Invalid UTF-8 can name no proxy (every stored name is valid UTF-8), so it is mapped to
 * a lone surrogate, which no stored name holds either.
 */
export function parseRequestPath(target: string): RequestPath | undefined {
  const q = target.indexOf('?')
  const raw = q < 0 ? target : target.slice(0, q)
  const query = q < 0 ? undefined : target.slice(q + 1)
  // Node hands over the request line's bytes as latin1 characters.
  const rawBytes = Buffer.from(raw, 'latin1')
  const bytes: number[] = []
  for (let i = 0; i < rawBytes.length; i++) {
    const c = rawBytes[i] ?? 0
    if (c === 0x25) {
      const h = rawBytes.toString('latin1', i + 1, i + 3)
      if (!/^[0-9a-fA-F]{2}$/.test(h)) return undefined
      bytes.push(Number.parseInt(h, 16))
      i += 2
    } else {
      bytes.push(c)
    }
  }
  const buf = Buffer.from(bytes)
  let path = ''
  for (let i = 0; i < buf.length;) {
    const { rune, size } = decodeRune(buf, i)
    path += rune === 0xfffd && size === 1 ? '\ud800' : String.fromCodePoint(rune)
    i += size
  }
  return { path, bytePath: buf.toString('latin1'), query }
}

/** Go's path.Clean: one slash between elements, no "." and no resolvable "..". */
export function goPathClean(p: string): string {
  if (p === '') return '.'
  const rooted = p.startsWith('/')
  const out: string[] = []
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop()
      else if (!rooted) out.push('..')
    } else out.push(part)
  }
  const joined = out.join('/')
  if (rooted) return `/${joined}`
  return joined === '' ? '.' : joined
}

/** gorilla/mux cleanPath: path.Clean that keeps a trailing slash. */
export function muxCleanPath(p: string): string {
  if (p === '') return '/'
  const rooted = p.startsWith('/') ? p : `/${p}`
  const np = goPathClean(rooted)
  return rooted.endsWith('/') && np !== '/' ? `${np}/` : np
}

/** Go's url escape(path, encodePath) over a latin1 byte string: "/" and $&+,:;=@ stay. */
export function escapePath(bytePath: string): string {
  let out = ''
  for (const byte of Buffer.from(bytePath, 'latin1')) {
    const c = String.fromCharCode(byte)
    out += /[A-Za-z0-9\-_.~$&+,/:;=@]/.test(c)
      ? c
      : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

/**
 * The Location of mux's clean-path redirect (the cleaned path, escaped, then "?" and the
 * query if the target had a "?", as url.URL.String() writes it), or undefined if clean.
 */
export function cleanRedirect(req: RequestPath): string | undefined {
  const cleaned = muxCleanPath(req.bytePath)
  if (cleaned === req.bytePath) return undefined
  return escapePath(cleaned) + (req.query === undefined ? '' : `?${req.query}`)
}
