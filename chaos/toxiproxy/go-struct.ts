// How encoding/json (Go 1.19, decode.go) stores a decoded value into Go struct fields:
// members are applied in body order (a later duplicate wins), keys match a field exactly
// or else case-insensitively, unknown keys are skipped, null leaves a field alone, and a
// mistyped member is skipped while decoding goes on: only the first such error is
// reported (decodeState.saveError), so the well-typed members around it are still set.
import type { JsonValue } from './go-json.js'

/** Where a value sits, for messages: the innermost struct's name and the key path from the root. */
export interface FieldContext {
  readonly struct: string
  readonly path: readonly string[]
}

/** The Go name of a JSON value's kind in UnmarshalTypeError ("number", "array", ...). */
export function kindName(v: JsonValue): string {
  return v.kind
}

/** Keeps the first type error of a decode, worded as UnmarshalTypeError.Error. */
export class DecodeErrors {
  first: string | undefined

  /** Records "cannot unmarshal <value> into ..." unless an earlier error was recorded. */
  save(value: string, goType: string, ctx: FieldContext | undefined): void {
    if (this.first !== undefined) return
    this.first =
      ctx === undefined
        ? `json: cannot unmarshal ${value} into Go value of type ${goType}`
        : `json: cannot unmarshal ${value} into Go struct field ${ctx.struct}.${ctx.path.join('.')} of type ${goType}`
  }
}

/** Decodes a value meant for a Go string; undefined = leave the field as it is. */
export function decodeString(
  v: JsonValue,
  ctx: FieldContext | undefined,
  errors: DecodeErrors,
): string | undefined {
  if (v.kind === 'string') return v.value
  if (v.kind !== 'null') errors.save(kindName(v), 'string', ctx)
  return undefined
}

/** Decodes a value meant for a Go bool; undefined = leave the field as it is. */
export function decodeBool(
  v: JsonValue,
  ctx: FieldContext | undefined,
  errors: DecodeErrors,
): boolean | undefined {
  if (v.kind === 'bool') return v.value
  if (v.kind !== 'null') errors.save(kindName(v), 'bool', ctx)
  return undefined
}

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

/**
 * Decodes a value meant for a Go int or int64 (64-bit): the literal must be an integer
 * (strconv.ParseInt), so 1.0 and 1e3 are errors that quote the literal ("number 1.0").
 */
export function decodeInt(
  v: JsonValue,
  goType: 'int' | 'int64',
  ctx: FieldContext | undefined,
  errors: DecodeErrors,
): bigint | undefined {
  if (v.kind === 'null') return undefined
  if (v.kind !== 'number') {
    errors.save(kindName(v), goType, ctx)
    return undefined
  }
  const n = /^-?\d+$/.test(v.text) ? BigInt(v.text) : undefined
  if (n === undefined || n < INT64_MIN || n > INT64_MAX) {
    errors.save(`number ${v.text}`, goType, ctx)
    return undefined
  }
  return n
}

/**
 * Decodes a value meant for a Go float32 (strconv.ParseFloat(s, 32)): rounded to float32;
 * a literal beyond float32's range is an error quoting it ("number 1e39").
 */
export function decodeFloat32(
  v: JsonValue,
  ctx: FieldContext | undefined,
  errors: DecodeErrors,
): number | undefined {
  if (v.kind === 'null') return undefined
  if (v.kind !== 'number') {
    errors.save(kindName(v), 'float32', ctx)
    return undefined
  }
  const f = Math.fround(Number(v.text))
  if (!Number.isFinite(f)) {
    errors.save(`number ${v.text}`, 'float32', ctx)
    return undefined
  }
  return f
}

/** A Go struct type: its reflect Name() and String(), and a decoder per JSON field name. */
export interface StructSpec {
  /** reflect.Type.Name(): "Proxy", or "" for an anonymous struct. */
  readonly name: string
  /** reflect.Type.String(): "toxiproxy.Proxy", "struct { ... }". */
  readonly goType: string
  readonly fields: ReadonlyMap<string, (v: JsonValue, ctx: FieldContext) => void>
}

/** Go's case folding for field names: ASCII case, plus K (U+212A) = k and ſ (U+017F) = s. */
function foldKey(key: string): string {
  return key.replace(/[A-Z\u212a\u017f]/g, c =>
    c === '\u212a' ? 'k' : c === '\u017f' ? 's' : c.toLowerCase(),
  )
}

function findField(spec: StructSpec, key: string): string | undefined {
  if (spec.fields.has(key)) return key
  const folded = foldKey(key)
  return [...spec.fields.keys()].find(name => name.toLowerCase() === folded)
}

/**
 * Decodes `v` into a struct: null does nothing, a non-object is a type error naming the
 * struct type, and each member goes to its field's decoder with the field's context.
 */
export function decodeStruct(
  v: JsonValue,
  spec: StructSpec,
  ctx: FieldContext | undefined,
  errors: DecodeErrors,
): void {
  if (v.kind === 'null') return
  if (v.kind !== 'object') {
    errors.save(kindName(v), spec.goType, ctx)
    return
  }
  for (const [key, value] of v.members) {
    const name = findField(spec, key)
    if (name === undefined) continue
    spec.fields.get(name)?.(value, {
      struct: spec.name,
      path: [...(ctx?.path ?? []), name],
    })
  }
}
