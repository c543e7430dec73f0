// The config's cross-field rules: what no single key's schema can see (unique listener
// names, ids and binds; member `ports` keys, `discovery[].ports` keys and `health.port`
// naming a listener). schema.ts runs them as a refinement of the whole file.
import { discoveryPortIssues } from './discovery-schema.js'
import { NAME_RE } from './listener-schema.js'
import { MEMBER_ID_RE } from './member-schema.js'

/** One cross-field problem, located like a zod issue. */
export interface CrossFieldIssue {
  readonly path: readonly (string | number)[]
  readonly message: string
  readonly input: unknown
}

/** A listening address as the bind schema outputs it. */
interface Bind {
  readonly host: string
  readonly port: number
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

function asBind(value: unknown): Bind | undefined {
  return isRecord(value) &&
    typeof value.host === 'string' &&
    typeof value.port === 'number'
    ? { host: value.host, port: value.port }
    : undefined
}

function formatBind(b: Bind): string {
  return b.host.includes(':') ? `[${b.host}]:${b.port}` : `${b.host}:${b.port}`
}

/**
 * Whether two binds would collide (EADDRINUSE): same non-zero port and the same host, or a
 * wildcard covering the other ("::" is dual-stack; "0.0.0.0" covers IPv4 and hostnames).
 */
function bindsOverlap(a: Bind, b: Bind): boolean {
  if (a.port === 0 || a.port !== b.port) return false
  const covers = (w: string, h: string) =>
    w === '::' || (w === '0.0.0.0' && !h.includes(':'))
  return a.host === b.host || covers(a.host, b.host) || covers(b.host, a.host)
}

/**
 * The cross-field rules: unique listener names, ids and addresses; member `ports` keys and
 * `health.port` naming a listener. It reads the config as zod left it, which may be partly
 * invalid, so every value is type-checked first, and a value that already failed its own
 * schema is skipped rather than reported twice.
 */
export function crossFieldIssues(config: unknown): CrossFieldIssue[] {
  const issues: CrossFieldIssue[] = []
  if (!isRecord(config)) return issues
  // Listener references can only be judged when every listener has a valid name.
  const listeners = Array.isArray(config.listeners) ? config.listeners : undefined
  let namesKnown = listeners !== undefined
  const names = new Map<string, number>()
  const binds: { bind: Bind; index: number }[] = []
  listeners?.forEach((l: unknown, i) => {
    const name = isRecord(l) ? l.name : undefined
    if (typeof name !== 'string' || !NAME_RE.test(name)) namesKnown = false
    else {
      const first = names.get(name)
      if (first !== undefined) {
        issues.push({
          path: ['listeners', i, 'name'],
          message: `expected a unique listener name, got "${name}" (also listeners[${first}])`,
          input: name,
        })
      } else names.set(name, i)
    }
    const bind = asBind(isRecord(l) ? l.bind : undefined)
    if (bind === undefined) return
    const clash = binds.find(b => bindsOverlap(b.bind, bind))
    if (clash !== undefined) {
      issues.push({
        path: ['listeners', i, 'bind'],
        message: `expected an address no other listener uses, got "${formatBind(bind)}" (listeners[${clash.index}] binds "${formatBind(clash.bind)}")`,
        input: formatBind(bind),
      })
    }
    binds.push({ bind, index: i })
  })
  const known = [...names.keys()].join(', ')

  const adminBind = asBind(isRecord(config.admin) ? config.admin.bind : undefined)
  const adminClash =
    adminBind === undefined ? undefined : binds.find(b => bindsOverlap(b.bind, adminBind))
  if (adminBind !== undefined && adminClash !== undefined) {
    issues.push({
      path: ['admin', 'bind'],
      message: `expected an address no listener uses, got "${formatBind(adminBind)}" (listeners[${adminClash.index}] binds "${formatBind(adminClash.bind)}")`,
      input: formatBind(adminBind),
    })
  }

  const ids = new Map<string, number>()
  const members = Array.isArray(config.members) ? config.members : []
  members.forEach((m: unknown, i) => {
    if (!isRecord(m)) return
    if (typeof m.id === 'string' && MEMBER_ID_RE.test(m.id)) {
      const first = ids.get(m.id)
      if (first !== undefined) {
        issues.push({
          path: ['members', i, 'id'],
          message: `expected a unique member id, got "${m.id}" (also members[${first}])`,
          input: m.id,
        })
      } else ids.set(m.id, i)
    }
    if (!namesKnown || !isRecord(m.ports)) return
    for (const name of Object.keys(m.ports)) {
      if (NAME_RE.test(name) && !names.has(name)) {
        issues.push({
          path: ['members', i, 'ports', name],
          message: `expected a listener name (${known}), got "${name}"`,
          input: name,
        })
      }
    }
  })

  if (namesKnown)
    issues.push(...discoveryPortIssues(config.discovery, new Set(names.keys())))

  const port = isRecord(config.health) ? config.health.port : undefined
  if (namesKnown && typeof port === 'string' && NAME_RE.test(port) && !names.has(port)) {
    issues.push({
      path: ['health', 'port'],
      message: `expected a listener name (${known}) or a port number, got "${port}"`,
      input: port,
    })
  }
  return issues
}
