// The toxic handlers of the stand-in's API: create (two decodes of one body, as
// AddToxicJson does) and update (decoding into the live toxic, as UpdateToxicJson does).
import {
  decodeToxicAttributes,
  decodeToxicHeader,
  decodeToxicUpdate,
} from './api-input.js'
import { ApiError, badBody, notFound, type Reply } from './api-reply.js'
import type { StandInProxy } from './proxy.js'
import { isToxicType, toxicJson, type Toxic } from './toxic.js'

/** ToxicCreate (api.go:371-395) and AddToxicJson (toxic_collection.go:83-132). */
export function createToxic(proxy: StandInProxy, body: Buffer): Promise<Reply> {
  const header = decodeToxicHeader(body)
  if (!header.ok) throw badBody(header.message)
  const { stream, type } = header.value
  // stream.ParseDirection: strings.ToLower, then "downstream" or "upstream".
  const direction = stream.toLowerCase()
  if (direction !== 'upstream' && direction !== 'downstream') {
    throw new ApiError('stream was invalid, can be either upstream or downstream', 400)
  }
  const toxicName = header.value.name === '' ? `${type}_${stream}` : header.value.name
  if (!isToxicType(type)) throw new ApiError('invalid toxic type', 400)
  if (proxy.toxic(toxicName) !== undefined) {
    throw new ApiError('toxic already exists', 409)
  }
  const attributes = decodeToxicAttributes(body, type)
  if (!attributes.ok) throw badBody(attributes.message)
  const toxic: Toxic = {
    name: toxicName,
    type,
    stream,
    direction,
    toxicity: header.value.toxicity,
    attributes: attributes.value,
    addedAtMs: performance.now(),
  }
  proxy.addToxic(toxic)
  return Promise.resolve({ kind: 'json', status: 200, body: toxicJson(toxic) })
}

/** ToxicUpdate (api.go:424-452) and UpdateToxicJson (toxic_collection.go:134-160). */
export function updateToxic(
  proxy: StandInProxy,
  toxicName: string,
  body: Buffer,
): Promise<Reply> {
  const toxic = proxy.toxic(toxicName)
  if (toxic === undefined) throw notFound('toxic')
  // Attributes merge into the live toxic, and stay merged if the request then fails.
  const decoded = decodeToxicUpdate(body, toxic.type, toxic.attributes, toxic.toxicity)
  if (!decoded.ok) throw badBody(decoded.message)
  toxic.toxicity = decoded.value.toxicity
  proxy.updatedToxic(toxic)
  return Promise.resolve({ kind: 'json', status: 200, body: toxicJson(toxic) })
}
