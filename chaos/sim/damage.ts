// Store damage for the simulation: garbage values, keys of the wrong Redis type, deleted
// keys and garbage on the pub/sub channel, written straight into the shared pool's Redis
// (docs/coordination.md: damage is repaired or ignored, never acted on).
import { Redis } from 'ioredis'
import { poolKeys } from '../../src/coordination/keys.js'
import { SIM_PREFIX } from './config.js'
import type { DamageKind } from './ops.js'

/** Values no record schema accepts: not JSON, the wrong shape, an unknown version. */
const GARBAGE = [
  'garbage',
  '{"v":1}',
  '[1,2,3]',
  '{"v":99,"member":{"id":"x"}}',
  'null',
  '{"v":1,"admin":"sideways"}',
] as const

/** A short-lived client for one damage step (no offline queue, bounded retries). */
function client(url: string): Redis {
  return new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
  })
}

/** Writes the damage; resolves a short description of what was hit. */
export async function damageStore(
  url: string,
  kind: DamageKind,
  ids: { readonly lbs: readonly string[]; readonly members: readonly string[] },
): Promise<string> {
  const k = poolKeys(SIM_PREFIX)
  const redis = client(url)
  await redis.connect()
  try {
    const garbage = (i: number): string => GARBAGE[i % GARBAGE.length] ?? 'garbage'
    switch (kind) {
      case 'member-garbage': {
        const fields = await redis.hkeys(k.members)
        for (const [i, f] of fields.entries()) await redis.hset(k.members, f, garbage(i))
        return `${fields.length} member records overwritten`
      }
      case 'members-wrong-type':
        await redis.del(k.members)
        await redis.rpush(k.members, 'garbage')
        return `${k.members} is now a list`
      case 'members-deleted':
        await redis.del(k.members)
        return `${k.members} deleted`
      case 'lease-garbage':
        for (const [i, id] of ids.members.entries())
          await redis.hset(k.drains, id, garbage(i))
        return `${ids.members.length} lease fields overwritten`
      case 'drains-deleted':
        await redis.del(k.drains)
        return `${k.drains} deleted`
      case 'instance-garbage':
        for (const [i, lb] of ids.lbs.entries())
          await redis.set(k.instance(lb), garbage(i))
        await redis.zadd(k.instances, Date.now(), 'ghost-instance')
        return 'instance records overwritten, a ghost instance listed'
      case 'observation-garbage':
        for (const lb of ids.lbs)
          for (const [i, id] of ids.members.entries())
            await redis.hset(k.observations(lb), id, garbage(i))
        return 'observations overwritten'
      case 'sidecar-garbage':
        for (const [i, id] of ids.members.entries())
          await redis.hset(k.sidecars, id, garbage(i))
        return 'sidecar records overwritten'
      case 'channel-garbage':
        for (const g of GARBAGE) await redis.publish(k.events, g)
        await redis.publish(k.events, 'x'.repeat(100_000))
        return `${GARBAGE.length + 1} garbage messages published`
    }
  } finally {
    redis.disconnect()
  }
}

/** The raw store: member records and drain leases (id → stored value). */
export interface RawStore {
  /** Undefined if the members key is not a hash (damaged, not yet repaired). */
  readonly members: ReadonlyMap<string, string> | undefined
  readonly leases: ReadonlyMap<string, string>
}

/** Reads the members and drains hashes as stored, for the store invariants. */
export async function readRawStore(url: string): Promise<RawStore> {
  const redis = client(url)
  await redis.connect()
  try {
    const k = poolKeys(SIM_PREFIX)
    const hash = async (key: string): Promise<Map<string, string> | undefined> => {
      const type = await redis.type(key)
      if (type === 'none') return new Map()
      if (type !== 'hash') return undefined
      return new Map(Object.entries(await redis.hgetall(key)))
    }
    return {
      members: await hash(k.members),
      leases: (await hash(k.drains)) ?? new Map(),
    }
  } finally {
    redis.disconnect()
  }
}
