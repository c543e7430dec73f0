// The toxics Toxiproxy 2.12.0 knows: their attribute keys (in Go struct order, which is
// the JSON order), the Go struct names its decode errors mention, and the toxic object.
import { Float32 } from './go-encode.js'

/** Every toxic type the real server accepts ("noop" is undocumented but accepted). */
export const TOXIC_TYPES = [
  'latency',
  'bandwidth',
  'slow_close',
  'timeout',
  'reset_peer',
  'slicer',
  'limit_data',
  'noop',
] as const

/** One of TOXIC_TYPES. */
export type ToxicType = (typeof TOXIC_TYPES)[number]

/** Which way a toxic acts: upstream = client → upstream server, downstream = back. */
export type Direction = 'upstream' | 'downstream'

/** Type guard for ToxicType. */
export function isToxicType(value: unknown): value is ToxicType {
  return typeof value === 'string' && (TOXIC_TYPES as readonly string[]).includes(value)
}

/** Attribute keys per type (int in slicer.go, int64 elsewhere), in the order the server writes them. */
export const TOXIC_ATTRIBUTES: Readonly<Record<ToxicType, readonly string[]>> = {
  latency: ['latency', 'jitter'],
  bandwidth: ['rate'],
  slow_close: ['delay'],
  timeout: ['timeout'],
  reset_peer: ['timeout'],
  slicer: ['average_size', 'size_variation', 'delay'],
  limit_data: ['bytes'],
  noop: [],
}

/** The Go struct each type decodes into (named in the server's type-error messages). */
export const TOXIC_STRUCTS: Readonly<Record<ToxicType, string>> = {
  latency: 'LatencyToxic',
  bandwidth: 'BandwidthToxic',
  slow_close: 'SlowCloseToxic',
  timeout: 'TimeoutToxic',
  reset_peer: 'ResetToxic',
  slicer: 'SlicerToxic',
  limit_data: 'LimitDataToxic',
  noop: 'NoopToxic',
}

/** A toxic on a proxy; attributes and toxicity change in place on update. */
export interface Toxic {
  readonly name: string
  readonly type: ToxicType
  /** The stream as the client sent it (matched case-insensitively, echoed verbatim). */
  readonly stream: string
  readonly direction: Direction
  /** Go's float32 ToxicWrapper.Toxicity, held already rounded (Math.fround). */
  toxicity: number
  /** int64/int attributes, exact (a JSON body may carry any int64). */
  readonly attributes: Record<string, bigint>
  /** performance.now() when it was added: connections older than this get FIN, not RST. */
  readonly addedAtMs: number
}

/** The JSON shape the server sends: keys in the order attributes, name, type, stream, toxicity. */
export function toxicJson(toxic: Toxic): Record<string, unknown> {
  const attributes: Record<string, bigint> = {}
  for (const key of TOXIC_ATTRIBUTES[toxic.type])
    attributes[key] = toxic.attributes[key] ?? 0n
  return {
    attributes,
    name: toxic.name,
    type: toxic.type,
    stream: toxic.stream,
    toxicity: new Float32(toxic.toxicity),
  }
}

/**
 * Splits `length` bytes into slice boundaries the way Toxiproxy's SlicerToxic.chunk does:
 * halve until a piece is within average + variation, moving each cut by up to ±variation.
 * Returns piece lengths. An average of 0 or less would recurse forever in Go; here it is
 * treated as 1 byte.
 */
export function slicePieces(
  length: number,
  averageSize: number,
  sizeVariation: number,
  random: () => number,
): number[] {
  const average = Math.max(1, averageSize)
  const variation = Math.max(0, sizeVariation)
  const out: number[] = []
  const chunk = (start: number, end: number): void => {
    if (end - start - average <= variation || end - start <= 1) {
      if (end > start) out.push(end - start)
      return
    }
    let mid = start + Math.floor((end - start) / 2)
    if (variation > 0) mid += Math.floor(random() * variation * 2) - variation
    mid = Math.min(end - 1, Math.max(start + 1, mid))
    chunk(start, mid)
    chunk(mid, end)
  }
  chunk(0, length)
  return out
}
