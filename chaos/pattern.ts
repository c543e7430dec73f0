// Deterministic byte streams both ends can compute: a replica streams pattern(seed, n) and
// the load generator checks the SHA-256 of what arrived against the one it expects.
import { createHash } from 'node:crypto'

/** Bytes [offset, offset + length) of the stream for `seed` (a repeating affine pattern). */
export function patternBytes(seed: number, offset: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length)
  for (let i = 0; i < length; i++) out[i] = ((offset + i) * 131 + seed * 7) & 0xff
  return out
}

/** Hex SHA-256 of the whole stream for `seed` of `total` bytes, computed in 64 KiB pieces. */
export function patternSha256(seed: number, total: number): string {
  const hash = createHash('sha256')
  for (let offset = 0; offset < total; offset += 65_536) {
    hash.update(patternBytes(seed, offset, Math.min(65_536, total - offset)))
  }
  return hash.digest('hex')
}

/** Hex SHA-256 of a buffer. */
export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex')
}
