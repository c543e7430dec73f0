import { CorralError } from '../errors.js'

/** A 4xx (or 503: the shared store is unreachable) answer of the admin API: status, stable code, message, optional details. */
export class AdminRequestError extends CorralError {
  constructor(
    readonly status: number,
    code:
      | 'ADMIN_BAD_REQUEST'
      | 'ADMIN_UNAUTHORIZED'
      | 'ADMIN_NOT_FOUND'
      | 'ADMIN_CONFLICT'
      | 'STORE_UNAVAILABLE',
    message: string,
    readonly details?: readonly string[],
    /** With a 405: the methods the path allows (the `Allow` header). */
    readonly allow?: readonly string[],
  ) {
    super(code, message)
  }
}
