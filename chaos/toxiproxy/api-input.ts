// The request bodies of Toxiproxy 2.12.0's API, decoded into the Go types its handlers
// use (api.go, proxy_collection.go, toxic_collection.go), with the same defaults, the
// same partial-decode results and the same error text.
import { decodeBody, type JsonValue } from './go-json.js'
import {
  decodeBool,
  decodeFloat32,
  decodeInt,
  decodeString,
  decodeStruct,
  DecodeErrors,
  kindName,
  type FieldContext,
  type StructSpec,
} from './go-struct.js'
import { TOXIC_ATTRIBUTES, TOXIC_STRUCTS, type ToxicType } from './toxic.js'

/** A decode result: the value, or the text after "bad request body: ". */
export type Input<T> = { ok: true; value: T } | { ok: false; message: string }

/** The fields of toxiproxy.Proxy a request can set; enabled undefined = a nil *bool. */
export interface ProxyInput {
  name: string
  listen: string
  upstream: string
  enabled: boolean | undefined
}

/** The JSON-visible fields of toxiproxy.Proxy (proxy.go:22-34), writing into `into`. */
function proxyFields(
  into: ProxyInput,
  errors: DecodeErrors,
  enabledIsPointer: boolean,
): StructSpec['fields'] {
  const str =
    (key: 'name' | 'listen' | 'upstream') =>
    (v: JsonValue, ctx: FieldContext): void => {
      const s = decodeString(v, ctx, errors)
      if (s !== undefined) into[key] = s
    }
  return new Map([
    ['name', str('name')],
    ['listen', str('listen')],
    ['upstream', str('upstream')],
    [
      'enabled',
      (v: JsonValue, ctx: FieldContext) => {
        // populate's Enabled *bool: null sets it back to nil (then it defaults to true).
        if (v.kind === 'null' && enabledIsPointer) into.enabled = undefined
        const b = decodeBool(v, ctx, errors)
        if (b !== undefined) into.enabled = b
      },
    ],
    // Proxy.Logger *zerolog.Logger has no JSON tag and no exported fields: an object is
    // accepted and ignored, anything else but null is a type error.
    [
      'Logger',
      (v: JsonValue, ctx: FieldContext) => {
        decodeStruct(v, OPAQUE_LOGGER, ctx, errors)
      },
    ],
  ])
}

const OPAQUE_LOGGER: StructSpec = {
  name: 'Logger',
  goType: 'zerolog.Logger',
  fields: new Map(),
}

/**
 * ProxyCreate / ProxyUpdate (api.go:206-207, 310-311): Decode(&input) over the given
 * defaults. null keeps them all; a type error fails the request (input is a copy).
 */
export function decodeProxyInput(body: Buffer, defaults: ProxyInput): Input<ProxyInput> {
  const decoded = decodeBody(body)
  if (!decoded.ok) return decoded
  const input = { ...defaults }
  const errors = new DecodeErrors()
  const spec: StructSpec = {
    name: 'Proxy',
    goType: 'toxiproxy.Proxy',
    fields: proxyFields(input, errors, false),
  }
  decodeStruct(decoded.value, spec, undefined, errors)
  return errors.first === undefined
    ? { ok: true, value: input }
    : { ok: false, message: errors.first }
}

const POPULATE_ENTRY = 'struct { toxiproxy.Proxy; Enabled *bool "json:\\"enabled\\"" }'

/**
 * PopulateJson (proxy_collection.go:78-86): a []struct{Proxy; Enabled *bool}. null is an
 * empty list, a null entry a zero entry; any type error fails the whole request.
 */
export function decodePopulateInput(body: Buffer): Input<ProxyInput[]> {
  const decoded = decodeBody(body)
  if (!decoded.ok) return decoded
  const errors = new DecodeErrors()
  const entries: ProxyInput[] = []
  const value = decoded.value
  if (value.kind === 'array') {
    for (const item of value.items) {
      const entry: ProxyInput = { name: '', listen: '', upstream: '', enabled: undefined }
      entries.push(entry)
      const spec: StructSpec = {
        name: '',
        goType: POPULATE_ENTRY,
        fields: proxyFields(entry, errors, true),
      }
      decodeStruct(item, spec, undefined, errors)
    }
  } else if (value.kind !== 'null') {
    errors.save(kindName(value), `[]${POPULATE_ENTRY}`, undefined)
  }
  return errors.first === undefined
    ? { ok: true, value: entries }
    : { ok: false, message: errors.first }
}

/** The Go integer type of a toxic's attributes (toxics/*.go: slicer's are int). */
function attributeGoType(type: ToxicType): 'int' | 'int64' {
  return type === 'slicer' ? 'int' : 'int64'
}

/** The struct a toxic's attributes decode into, writing into `into`. */
function attributesSpec(
  type: ToxicType,
  into: Record<string, bigint>,
  errors: DecodeErrors,
): StructSpec {
  const fields = new Map<string, (v: JsonValue, ctx: FieldContext) => void>()
  for (const key of TOXIC_ATTRIBUTES[type]) {
    fields.set(key, (v, ctx) => {
      const n = decodeInt(v, attributeGoType(type), ctx, errors)
      if (n !== undefined) into[key] = n
    })
  }
  return { name: TOXIC_STRUCTS[type], goType: `toxics.${TOXIC_STRUCTS[type]}`, fields }
}

/**
 * The `attributes` field when it is an interface holding a *XToxic: null empties the
 * interface (later members then decode into nothing); an object fills the toxic; any
 * other value is a type error naming the toxic struct, or `nilType` once emptied.
 */
function attributesField(
  live: StructSpec,
  nilType: string | undefined,
  errors: DecodeErrors,
): (v: JsonValue, ctx: FieldContext) => void {
  let empty = false
  return (v, ctx) => {
    if (v.kind === 'null') empty = true
    else if (!empty) decodeStruct(v, live, ctx, errors)
    else if (nilType !== undefined) errors.save(kindName(v), nilType, ctx)
  }
}

/** ToxicWrapper fields as read by the first decode of AddToxicJson. */
export interface ToxicHeader {
  name: string
  type: string
  stream: string
  toxicity: number
}

/**
 * AddToxicJson's first decode (toxic_collection.go:90-99): into a ToxicWrapper defaulting
 * to stream "downstream", toxicity 1 and a NoopToxic, which accepts any attribute object.
 */
export function decodeToxicHeader(body: Buffer): Input<ToxicHeader> {
  const decoded = decodeBody(body)
  if (!decoded.ok) return decoded
  const errors = new DecodeErrors()
  const header: ToxicHeader = { name: '', type: '', stream: 'downstream', toxicity: 1 }
  const str =
    (key: 'name' | 'type' | 'stream') =>
    (v: JsonValue, ctx: FieldContext): void => {
      const s = decodeString(v, ctx, errors)
      if (s !== undefined) header[key] = s
    }
  const noop: StructSpec = {
    name: 'NoopToxic',
    goType: 'toxics.NoopToxic',
    fields: new Map(),
  }
  const spec: StructSpec = {
    name: 'ToxicWrapper',
    goType: 'toxics.ToxicWrapper',
    fields: new Map([
      // The embedded Toxic interface (json:"attributes"): once set to nil by a null, an
      // object has nothing to decode into ("of type toxics.Toxic").
      ['attributes', attributesField(noop, 'toxics.Toxic', errors)],
      ['name', str('name')],
      ['type', str('type')],
      ['stream', str('stream')],
      [
        'toxicity',
        (v: JsonValue, ctx: FieldContext) => {
          const f = decodeFloat32(v, ctx, errors)
          if (f !== undefined) header.toxicity = f
        },
      ],
    ]),
  }
  decodeStruct(decoded.value, spec, undefined, errors)
  return errors.first === undefined
    ? { ok: true, value: header }
    : { ok: false, message: errors.first }
}

/**
 * AddToxicJson's second decode (toxic_collection.go:119-128): the same body into
 * struct{Attributes interface{}} holding the new toxic, whose attributes start at 0.
 */
export function decodeToxicAttributes(
  body: Buffer,
  type: ToxicType,
): Input<Record<string, bigint>> {
  const decoded = decodeBody(body)
  if (!decoded.ok) return decoded
  const errors = new DecodeErrors()
  const attributes: Record<string, bigint> = {}
  for (const key of TOXIC_ATTRIBUTES[type]) attributes[key] = 0n
  const spec: StructSpec = {
    name: '',
    goType: 'struct { Attributes interface {} "json:\\"attributes\\"" }',
    fields: new Map([
      [
        'attributes',
        attributesField(attributesSpec(type, attributes, errors), undefined, errors),
      ],
    ]),
  }
  decodeStruct(decoded.value, spec, undefined, errors)
  return errors.first === undefined
    ? { ok: true, value: attributes }
    : { ok: false, message: errors.first }
}

/**
 * UpdateToxicJson (toxic_collection.go:143-154): decodes straight into the live toxic's
 * attributes, so well-typed ones stay applied even when the request fails; toxicity is
 * decoded into a copy and returned only on success.
 */
export function decodeToxicUpdate(
  body: Buffer,
  type: ToxicType,
  attributes: Record<string, bigint>,
  toxicity: number,
): Input<{ toxicity: number }> {
  const decoded = decodeBody(body)
  if (!decoded.ok) return decoded
  const errors = new DecodeErrors()
  let next = toxicity
  const spec: StructSpec = {
    name: '',
    goType:
      'struct { Attributes interface {} "json:\\"attributes\\""; Toxicity float32 "json:\\"toxicity\\"" }',
    fields: new Map([
      [
        'attributes',
        attributesField(attributesSpec(type, attributes, errors), undefined, errors),
      ],
      [
        'toxicity',
        (v: JsonValue, ctx: FieldContext) => {
          const f = decodeFloat32(v, ctx, errors)
          if (f !== undefined) next = f
        },
      ],
    ]),
  }
  decodeStruct(decoded.value, spec, undefined, errors)
  return errors.first === undefined
    ? { ok: true, value: { toxicity: next } }
    : { ok: false, message: errors.first }
}
