// Reads a request body the way Toxiproxy's handlers do, with json.NewDecoder(body).Decode:
// one JSON value is read from the front and whatever follows it is never looked at; an
// empty body is "EOF", a cut-off one "unexpected EOF", and a malformed one gets the
// scanner's "invalid character ..." message (Go encoding/json scanner.go). The value keeps
// every object member in order, duplicates included, and numbers as their literal text,
// because Go decodes members in body order and converts numbers from the literal.

/** A JSON value as Go's decoder sees it: members in order, numbers as written. */
export type JsonValue =
  | { readonly kind: 'null' }
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'number'; readonly text: string }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'array'; readonly items: readonly JsonValue[] }
  | {
      readonly kind: 'object'
      readonly members: readonly (readonly [string, JsonValue])[]
    }

/** The outcome of decoding a request body: the first value, or Go's decoder message. */
export type Decoded = { ok: true; value: JsonValue } | { ok: false; message: string }

/** Go's scanner refuses a value nested deeper than this (scanner.go, maxNestingDepth). */
const MAX_NESTING_DEPTH = 10_000

/** A syntax error at the current byte, or the body ended inside the value. */
class ScanError extends Error {}

const isSpace = (c: number): boolean =>
  c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39
const isHex = (c: number): boolean =>
  isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46)

/**
 * How Go's scanner quotes the offending byte (quoteChar): the byte read as a code point,
 * then strconv.Quote without the double quotes; ' and " are special-cased.
 */
export function quoteChar(c: number): string {
  if (c === 0x27) return "'\\''"
  if (c === 0x22) return `'"'`
  const named: Readonly<Record<number, string>> = {
    0x07: '\\a',
    0x08: '\\b',
    0x0c: '\\f',
    0x0a: '\\n',
    0x0d: '\\r',
    0x09: '\\t',
    0x0b: '\\v',
    0x5c: '\\\\',
  }
  const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0')
  const escaped = named[c]
  if (escaped !== undefined) return `'${escaped}'`
  if (c < 0x20 || c === 0x7f) return `'\\x${hex(c, 2)}'`
  // strconv.IsPrint: U+0080-U+00A0 and the soft hyphen U+00AD are not printable.
  if ((c >= 0x80 && c <= 0xa0) || c === 0xad) return `'\\u${hex(c, 4)}'`
  return `'${String.fromCharCode(c)}'`
}

/** Reads one Go-style UTF-8 rune: invalid or overlong sequences give U+FFFD for one byte. */
export function decodeRune(b: Buffer, i: number): { rune: number; size: number } {
  const c0 = b[i] ?? 0
  if (c0 < 0x80) return { rune: c0, size: 1 }
  const bad = { rune: 0xfffd, size: 1 }
  const cont = (k: number): number => {
    const c = b[i + k]
    return c !== undefined && c >= 0x80 && c <= 0xbf ? c & 0x3f : -1
  }
  const take = (n: number, lead: number, min: number): { rune: number; size: number } => {
    let r = lead
    for (let k = 1; k < n; k++) {
      const c = cont(k)
      if (c < 0) return bad
      r = (r << 6) | c
    }
    if (r < min || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff)) return bad
    return { rune: r, size: n }
  }
  if (c0 >= 0xc2 && c0 <= 0xdf) return take(2, c0 & 0x1f, 0x80)
  if (c0 >= 0xe0 && c0 <= 0xef) return take(3, c0 & 0x0f, 0x800)
  if (c0 >= 0xf0 && c0 <= 0xf4) return take(4, c0 & 0x07, 0x10000)
  return bad
}

class Reader {
  pos = 0
  constructor(private readonly b: Buffer) {}

  private peek(): number {
    const c = this.b[this.pos]
    if (c === undefined) throw new ScanError('unexpected EOF')
    return c
  }

  private fail(context: string): never {
    throw new ScanError(`invalid character ${quoteChar(this.peek())} ${context}`)
  }

  private skipSpace(): void {
    while (this.pos < this.b.length && isSpace(this.b[this.pos] ?? 0)) this.pos++
  }

  /**
   * Reads one value. Iterative, with an explicit stack of open containers, so that deep
   * nesting reaches Go's limit (scanner.go maxNestingDepth, 10000) instead of the JS stack.
   */
  value(): JsonValue {
    type Open =
      | { kind: 'array'; items: JsonValue[] }
      | { kind: 'object'; members: (readonly [string, JsonValue])[]; key: string }
    const stack: Open[] = []
    for (;;) {
      this.skipSpace()
      const c = this.peek()
      let value: JsonValue
      if (c === 0x7b || c === 0x5b) {
        if (stack.length >= MAX_NESTING_DEPTH) this.fail('exceeded max depth')
        this.pos++
        this.skipSpace()
        const close = c === 0x7b ? 0x7d : 0x5d
        if (this.peek() === close) {
          this.pos++
          value =
            c === 0x7b ? { kind: 'object', members: [] } : { kind: 'array', items: [] }
        } else {
          stack.push(
            c === 0x7b
              ? { kind: 'object', members: [], key: this.memberKey() }
              : { kind: 'array', items: [] },
          )
          continue
        }
      } else {
        value = this.scalar(c)
      }
      // Hand the finished value to its container; close containers that end here.
      for (;;) {
        const top = stack.at(-1)
        if (top === undefined) return value
        if (top.kind === 'array') top.items.push(value)
        else top.members.push([top.key, value])
        this.skipSpace()
        const sep = this.peek()
        if (sep === 0x2c) {
          this.pos++
          if (top.kind === 'object') top.key = this.memberKey()
          break
        }
        if (sep === (top.kind === 'array' ? 0x5d : 0x7d)) {
          this.pos++
          stack.pop()
          value =
            top.kind === 'array'
              ? { kind: 'array', items: top.items }
              : { kind: 'object', members: top.members }
          continue
        }
        return this.fail(
          top.kind === 'array' ? 'after array element' : 'after object key:value pair',
        )
      }
    }
  }

  /** A member's key and its colon, read after "{" or ",". */
  private memberKey(): string {
    this.skipSpace()
    if (this.peek() !== 0x22) this.fail('looking for beginning of object key string')
    const key = this.string()
    this.skipSpace()
    if (this.peek() !== 0x3a) this.fail('after object key')
    this.pos++
    return key
  }

  private scalar(c: number): JsonValue {
    if (c === 0x22) return { kind: 'string', value: this.string() }
    if (c === 0x2d || isDigit(c)) return this.number()
    if (c === 0x74) return this.literal('true', { kind: 'bool', value: true })
    if (c === 0x66) return this.literal('false', { kind: 'bool', value: false })
    if (c === 0x6e) return this.literal('null', { kind: 'null' })
    return this.fail('looking for beginning of value')
  }

  private literal(word: string, value: JsonValue): JsonValue {
    this.pos++
    for (let k = 1; k < word.length; k++) {
      if (this.peek() !== word.charCodeAt(k)) {
        this.fail(`in literal ${word} (expecting '${word.charAt(k)}')`)
      }
      this.pos++
    }
    return value
  }

  private number(): JsonValue {
    const start = this.pos
    const digits = (): void => {
      while (this.pos < this.b.length && isDigit(this.b[this.pos] ?? 0)) this.pos++
    }
    const at = (): number => this.b[this.pos] ?? -1
    if (at() === 0x2d) {
      this.pos++
      if (!isDigit(this.peek())) this.fail('in numeric literal')
    }
    if (at() === 0x30) this.pos++
    else digits()
    if (at() === 0x2e) {
      this.pos++
      if (!isDigit(this.peek())) this.fail('after decimal point in numeric literal')
      digits()
    }
    if (at() === 0x65 || at() === 0x45) {
      this.pos++
      if (at() === 0x2b || at() === 0x2d) this.pos++
      if (!isDigit(this.peek())) this.fail('in exponent of numeric literal')
      digits()
    }
    return { kind: 'number', text: this.b.toString('latin1', start, this.pos) }
  }

  /** A string literal, unquoted as Go's unquote does (bad UTF-8 and lone surrogates → U+FFFD). */
  private string(): string {
    this.pos++
    let out = ''
    for (;;) {
      const c = this.peek()
      if (c === 0x22) {
        this.pos++
        return out
      }
      if (c < 0x20) this.fail('in string literal')
      if (c === 0x5c) {
        this.pos++
        out += this.escape()
        continue
      }
      const { rune, size } = decodeRune(this.b, this.pos)
      out += String.fromCodePoint(rune)
      this.pos += size
    }
  }

  private escape(): string {
    const c = this.peek()
    const simple: Readonly<Record<number, string>> = {
      0x22: '"',
      0x5c: '\\',
      0x2f: '/',
      0x62: '\b',
      0x66: '\f',
      0x6e: '\n',
      0x72: '\r',
      0x74: '\t',
    }
    const s = simple[c]
    this.pos++
    if (s !== undefined) return s
    if (c !== 0x75) {
      this.pos--
      this.fail('in string escape code')
    }
    const unit = this.hex4()
    if (unit < 0xd800 || unit > 0xdfff) return String.fromCharCode(unit)
    // A high surrogate followed by an escaped low one is a pair; anything else is U+FFFD.
    const save = this.pos
    if (
      unit <= 0xdbff &&
      this.b[this.pos] === 0x5c &&
      this.b[this.pos + 1] === 0x75 &&
      [2, 3, 4, 5].every(k => isHex(this.b[this.pos + k] ?? 0))
    ) {
      const low = Number.parseInt(
        this.b.toString('latin1', this.pos + 2, this.pos + 6),
        16,
      )
      if (low >= 0xdc00 && low <= 0xdfff) {
        this.pos += 6
        return String.fromCharCode(unit, low)
      }
    }
    this.pos = save
    return '\ufffd'
  }

  private hex4(): number {
    let n = 0
    for (let k = 0; k < 4; k++) {
      const c = this.peek()
      if (!isHex(c)) this.fail('in \\u hexadecimal character escape')
      n = n * 16 + Number.parseInt(String.fromCharCode(c), 16)
      this.pos++
    }
    return n
  }
}

/**
 * Decodes the first JSON value of a body as json.Decoder.Decode does: leading whitespace
 * is skipped, trailing bytes are ignored (Decode never reads past the value), an empty or
 * blank body is "EOF" and a value cut short is "unexpected EOF".
 */
export function decodeBody(body: Buffer | string): Decoded {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body
  if (bytes.every(isSpace)) return { ok: false, message: 'EOF' }
  try {
    return { ok: true, value: new Reader(bytes).value() }
  } catch (err) {
    if (err instanceof ScanError) return { ok: false, message: err.message }
    throw err
  }
}
