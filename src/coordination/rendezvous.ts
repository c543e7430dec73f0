// PURE. Probe assignment by rendezvous (highest-random-weight) hashing: each member goes
// to the live instance with the highest hash(member, instance). Every instance computes
// the same answer from the same live list without talking, and when an instance joins or
// leaves only the members it gains or held move (Thaler & Ravishankar, 1998).

/** 64-bit FNV-1a over the UTF-16 code units of `text`, as a bigint-free pair of 32-bit halves. */
function fnv1a(text: string): number {
  // 32-bit FNV-1a followed by a murmur3 finaliser: cheap, and well mixed in every bit,
  // which plain FNV is not for inputs that differ only in their last characters.
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** The instance that owns `member` among `instances` (undefined if none is live). */
export function ownerOf(
  member: string,
  instances: readonly string[],
): string | undefined {
  let best: string | undefined
  let bestScore = -1
  for (const instance of instances) {
    const score = fnv1a(`${member}\u0000${instance}`)
    // Ties (vanishingly rare) go to the smaller id, so every instance agrees.
    if (
      score > bestScore ||
      (score === bestScore && best !== undefined && instance < best)
    ) {
      best = instance
      bestScore = score
    }
  }
  return best
}
