// Writes JSON the way the recorded server's json.Marshal did (Go 1.19 encoding/json,
// encode.go): compact; <, >, & and U+2028/U+2029 escaped; control characters other than
// \n, \r and \t as \u00xx; object keys in insertion order except maps (sorted by bytes);
// float32 values in their shortest float32 form; int64 values exact (bigint).

/** A number Go holds as float32 (ToxicWrapper.Toxicity): written in float32's shortest form. */
export class Float32 {
  /** The value, already rounded to float32 (Math.fround). */
  readonly value: number
  constructor(value: number) {
    this.value = Math.fround(value)
  }
}

/** A Go map: its keys are written sorted by their UTF-8 bytes, as json.Marshal sorts them. */
export class GoMap {
  constructor(readonly entries: ReadonlyMap<string, unknown>) {}
}

const hex = '0123456789abcdef'

/** Go's encodeState.string with HTML escaping on. */
function goString(s: string): string {
  let out = '"'
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0
    if (ch === '"') out += '\\"'
    else if (ch === '\\') out += '\\\\'
    else if (ch === '\n') out += '\\n'
    else if (ch === '\r') out += '\\r'
    else if (ch === '\t') out += '\\t'
    else if (c < 0x20 || ch === '<' || ch === '>' || ch === '&') {
      out += `\\u00${hex.charAt(c >> 4)}${hex.charAt(c & 15)}`
    } else if (c === 0x2028 || c === 0x2029) out += `\\u${c.toString(16)}`
    else if (c >= 0xd800 && c <= 0xdfff)
      out += '\\ufffd' // a lone surrogate is invalid UTF-8
    else out += ch
  }
  return `${out}"`
}

/**
 * The shortest decimal digits that read back as `f` in float32, and the decimal exponent
 * of the first digit (value = 0.d1d2... × 10^exp), as strconv.FormatFloat(f, _, -1, 32)
 * finds them. Candidates at each precision are the correctly rounded one and its two
 * neighbours: near a power of two the round-trip interval is lopsided, so the nearest
 * decimal may miss while a neighbour fits.
 */
function shortestFloat32Digits(f: number): { digits: string; exp: number } {
  for (let p = 1; p <= 9; p++) {
    const [mantissa = '0', e = '0'] = f.toExponential(p - 1).split('e')
    const m = Number(mantissa.replace('.', ''))
    const scale = Number(e) - (p - 1)
    let best: { n: number; distance: number } | undefined
    for (const n of [m - 1, m, m + 1]) {
      if (n <= 0) continue
      const v = Number(`${String(n)}e${String(scale)}`)
      if (Math.fround(v) !== f) continue
      const distance = Math.abs(v - f)
      // Two candidates half a unit away either side are a tie (double rounding blurs the
      // exact equality): Go's Ryu rounds half to even (strconv/ftoaryu.go, ryuDigits32).
      const unit = 10 ** scale
      const tie = best !== undefined && Math.abs(distance - best.distance) < unit * 1e-6
      if (best === undefined || (tie ? n % 2 === 0 : distance < best.distance)) {
        best = { n, distance }
      }
    }
    if (best !== undefined) {
      const raw = String(best.n)
      const digits = raw.replace(/0+$/, '')
      return { digits, exp: scale + raw.length }
    }
  }
  throw new Error(`float32 ${String(f)} has no 9-digit form (cannot happen)`)
}

/**
 * Formats a float32 value as encoding/json does (floatEncoder, bits 32): 'f' notation,
 * or 'e' below 1e-6 and from 1e21 up, with a one-digit exponent kept as e-7, not e-07.
 */
export function formatFloat32(value: number): string {
  const f = Math.fround(value)
  if (f === 0) return Object.is(f, -0) ? '-0' : '0'
  const sign = f < 0 ? '-' : ''
  const abs = Math.abs(f)
  const { digits, exp } = shortestFloat32Digits(abs)
  if (abs < Math.fround(1e-6) || abs >= Math.fround(1e21)) {
    const e = exp - 1
    const mant = digits.length > 1 ? `${digits.charAt(0)}.${digits.slice(1)}` : digits
    const expText = Math.abs(e) < 10 && e > 0 ? `0${String(e)}` : String(Math.abs(e))
    return `${sign}${mant}e${e < 0 ? '-' : '+'}${expText}`
  }
  if (exp <= 0) return `${sign}0.${'0'.repeat(-exp)}${digits}`
  if (exp >= digits.length) return `${sign}${digits}${'0'.repeat(exp - digits.length)}`
  return `${sign}${digits.slice(0, exp)}.${digits.slice(exp)}`
}

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

/** Serialises like Go's json.Marshal (see the file comment). */
export function goJson(value: unknown): string {
  if (value === null || value === undefined) return 'null'
  if (typeof value === 'string') return goString(value)
  if (typeof value === 'boolean') return value ? 'true' : 'false'
  if (typeof value === 'bigint') return value.toString()
  if (typeof value === 'number') return JSON.stringify(value)
  if (value instanceof Float32) return formatFloat32(value.value)
  if (Array.isArray(value)) return `[${value.map(goJson).join(',')}]`
  if (value instanceof GoMap) {
    const keys = [...value.entries.keys()].sort(compareUtf8)
    return `{${keys.map(k => `${goString(k)}:${goJson(value.entries.get(k))}`).join(',')}}`
  }
  if (typeof value === 'object') {
    const parts = Object.entries(value).map(([k, v]) => `${goString(k)}:${goJson(v)}`)
    return `{${parts.join(',')}}`
  }
  throw new Error(`goJson: cannot encode a ${typeof value}`)
}
