// Splits an HTTP request target into the path the route table matches and the query.
// The path is taken verbatim: no URL parsing (which reads "//x" as an authority), no
// percent-decoding and no dot-segment removal, so only the exact documented paths match.
import { AdminRequestError } from './errors.js'

/** The origin-form parts of a request target; `path` is never empty and starts with "/". */
export interface RequestTarget {
  readonly path: string
  readonly query: string
}

const MAX_SHOWN = 120

/** Shows at most MAX_SHOWN characters of a client-supplied string in an error message. */
function shown(text: string): string {
  const cut = text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text
  return JSON.stringify(cut)
}

/**
 * Parses an origin-form request target (RFC 9112 §3.2.1: "/path?query"); throws a 400
 * AdminRequestError for any other form ("*", "http://host/…", "host:port").
 */
export function parseRequestTarget(target: string): RequestTarget {
  if (!target.startsWith('/')) {
    throw new AdminRequestError(
      400,
      'ADMIN_BAD_REQUEST',
      `request target must be a path starting with "/", got ${shown(target)}`,
    )
  }
  const q = target.indexOf('?')
  return q < 0
    ? { path: target, query: '' }
    : { path: target.slice(0, q), query: target.slice(q + 1) }
}

/** A request target or path trimmed for an error message (JSON-quoted, bounded). */
export function describeTarget(text: string): string {
  return shown(text)
}
