// JSON the way Toxiproxy's Go server reads and writes it: encoding/json escaping on output,
// and on input the decoder's error classes ("EOF", "unexpected EOF", type mismatches) and
// its habit of applying every well-typed field before reporting the first type error.

/** A JSON object as parsed from an untrusted body. */
export type JsonObject = Record<string, unknown>

/** Serialises like Go's json.Marshal: compact, with <, >, &, U+2028 and U+2029 escaped. */
export function goJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029')
}

/** The outcome of decoding a request body: the value, or Go's decoder message. */
export type Decoded = { ok: true; value: unknown } | { ok: false; message: string }

/**
 * Parses a request body as Go's json.Decoder would report it: an empty (or blank) body is
 * "EOF", a truncated one "unexpected EOF", anything else invalid "invalid character ...".
 */
export function decodeBody(text: string): Decoded {
  if (text.trim() === '') return { ok: false, message: 'EOF' }
  try {
    const value: unknown = JSON.parse(text)
    return { ok: true, value }
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err)
    const position = Number(/at position (\d+)/.exec(reason)?.[1] ?? NaN)
    // json.Decoder reads one value and leaves the rest of the body unread.
    if (reason.includes('non-whitespace character after JSON') && position > 0) {
      return decodeBody(text.slice(0, position))
    }
    if (
      /end of JSON input|Unterminated string/i.test(reason) ||
      position >= text.trimEnd().length
    ) {
      return { ok: false, message: 'unexpected EOF' }
    }
    const token = /Unexpected token '?(.)/.exec(reason)?.[1] ?? text.charAt(position)
    return {
      ok: false,
      message: `invalid character '${token}' looking for beginning of value`,
    }
  }
}

/** The Go name of a JSON value's kind, as used in UnmarshalTypeError messages. */
export function jsonKind(value: unknown): string {
  if (Array.isArray(value)) return 'array'
  if (value === null) return 'null'
  if (typeof value === 'string') return 'string'
  if (typeof value === 'number') return 'number'
  if (typeof value === 'boolean') return 'bool'
  return 'object'
}

/** True for a JSON object (not an array, not null). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A Go struct field's JSON type. */
export type GoFieldType = 'string' | 'bool' | 'int64' | 'float32'

/** One JSON-tagged field of a Go struct. */
export interface GoField {
  readonly key: string
  readonly type: GoFieldType
}

function fits(value: unknown, type: GoFieldType): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string'
    case 'bool':
      return typeof value === 'boolean'
    case 'int64':
      return typeof value === 'number' && Number.isSafeInteger(value)
    case 'float32':
      return typeof value === 'number'
  }
}

/**
 * Finds the body key Go would decode into `key`: an exact match wins, else the first
 * case-insensitive one (encoding/json matches field names case-insensitively).
 */
function findKey(obj: JsonObject, key: string): string | undefined {
  if (Object.hasOwn(obj, key)) return key
  return Object.keys(obj).find(k => k.toLowerCase() === key.toLowerCase())
}

/**
 * Decodes `obj` into `target` (mutated in place) the way encoding/json fills a struct:
 * unknown keys are ignored, null leaves a field alone, a mistyped field is skipped and the
 * first such mistake is returned as Go's message; the other fields are still applied.
 */
export function decodeFields(
  obj: JsonObject,
  fields: readonly GoField[],
  target: Record<string, unknown>,
  structName: string,
): string | undefined {
  let firstError: string | undefined
  for (const field of fields) {
    const key = findKey(obj, field.key)
    if (key === undefined) continue
    const value = obj[key]
    if (value === null) continue
    if (fits(value, field.type)) {
      target[field.key] = value
    } else {
      const kind =
        typeof value === 'number' && !fits(value, field.type) && field.type === 'int64'
          ? `number ${String(value)}`
          : jsonKind(value)
      firstError ??= `json: cannot unmarshal ${kind} into Go struct field ${structName}.${field.key} of type ${field.type}`
    }
  }
  return firstError
}
