import type { z } from 'zod'

/** Renders a key path as written in YAML terms: members[2].ports.http */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`
    else out += out === '' ? String(key) : `.${String(key)}`
  }
  return out === '' ? '(top level)' : out
}

/** Describes a found value briefly for an error message: "abc" → "\"abc\"", 3 → "3". */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing'
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'a mapping'
  const text = JSON.stringify(value)
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

/**
 * Turns zod issues into one line each: `<path>: <what was expected>, got <what was found>`.
 * Parse with `{ reportInput: true }` so the found value is known.
 */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  const lines: string[] = []
  for (const issue of issues) {
    if (
      issue.code === 'invalid_union' &&
      issue.errors.length > 0 &&
      issue.message === 'Invalid input'
    ) {
      // zod reports each branch; the branch with the deepest path is the useful one.
      const branch = issue.errors.flat().sort((a, b) => b.path.length - a.path.length)
      lines.push(
        ...formatIssues(branch.map(i => ({ ...i, path: [...issue.path, ...i.path] }))),
      )
      continue
    }
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        lines.push(
          `${formatPath([...issue.path, key])}: unknown key (remove it or check its spelling)`,
        )
      }
      continue
    }
    const found =
      'input' in issue && !issue.message.includes(', got ')
        ? `, got ${describeValue(issue.input)}`
        : ''
    const suffix =
      issue.code === 'custom' && !issue.message.startsWith('expected') ? '' : found
    lines.push(`${formatPath(issue.path)}: ${issue.message}${suffix}`)
  }
  return [...new Set(lines)]
}
