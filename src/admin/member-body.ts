import { formatIssues } from '../config/format-issues.js'
import { memberSchema } from '../config/member-schema.js'
import type { MemberEndpoint } from '../pool/types.js'
import { AdminRequestError } from './errors.js'

/**
 * Validates a PUT /api/v1/members/{id} body ({address, ports?, weight?, proxyProtocol?})
 * with the same rules as a config `members[]` entry; the id comes from the path.
 */
export function parseMemberBody(
  id: string,
  body: unknown,
  listenerNames: readonly string[],
): MemberEndpoint {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new AdminRequestError(
      400,
      'ADMIN_BAD_REQUEST',
      'expected a JSON object {address, ports?, weight?, proxyProtocol?}',
    )
  }
  const given: Record<string, unknown> = { ...body }
  if ('id' in given && given.id !== id) {
    throw new AdminRequestError(
      400,
      'ADMIN_BAD_REQUEST',
      `id: body says ${JSON.stringify(given.id)} but the path says "${id}" (omit id from the body)`,
    )
  }
  const result = memberSchema.safeParse({ ...given, id }, { reportInput: true })
  if (!result.success) {
    const details = formatIssues(result.error.issues)
    throw new AdminRequestError(
      400,
      'ADMIN_BAD_REQUEST',
      `invalid member: ${details.join('; ')}`,
      details,
    )
  }
  const unknownPorts = Object.keys(result.data.ports).filter(
    name => !listenerNames.includes(name),
  )
  if (unknownPorts.length > 0) {
    const details = unknownPorts.map(
      name =>
        `ports.${name}: no listener named "${name}" (listeners: ${listenerNames.join(', ')})`,
    )
    throw new AdminRequestError(
      400,
      'ADMIN_BAD_REQUEST',
      `invalid member: ${details.join('; ')}`,
      details,
    )
  }
  return { ...result.data, source: 'api' }
}
