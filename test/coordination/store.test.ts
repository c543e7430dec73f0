// One table of PoolStore behaviours, run against both implementations: MemoryStore (an
// injected clock) and RedisStore (a real redis-server on a free port). Whatever one does,
// the other must do too.
import { Redis } from 'ioredis'
import t from 'tap'
import { redisSchema } from '../../src/config/coordination-schema.js'
import type { InstanceRecord, Observation } from '../../src/coordination/codec.js'
import { MemoryStore } from '../../src/coordination/memory-store.js'
import { RedisStore } from '../../src/coordination/redis-store.js'
import {
  StoreUnavailableError,
  type DrainRequest,
  type MemberWrite,
  type PoolStore,
  type StoreEvents,
  type StoreNotice,
} from '../../src/coordination/store.js'
import { startRedis } from '../helpers/redis-server.js'

const TTL = 5_000

/** What a behaviour needs from its implementation. */
interface Harness {
  /** A started store on a fresh, empty pool. */
  readonly store: PoolStore
  /** Another started handle on the same pool (RedisStore: a second connection). */
  peer(events?: Partial<StoreEvents>): Promise<PoolStore>
  /** A store that was never connected. */
  unreachable(): PoolStore
  /** The store's clock now (wall ms). */
  now(): number
  /**
   * Lets `ms` of store time pass until `check` holds: the memory clock jumps, Redis is
   * polled against its own clock (bounded, generous for a loaded machine).
   */
  after(ms: number, check: () => Promise<boolean>): Promise<boolean>
}

const write = (id: string, extra: Partial<MemberWrite> = {}): MemberWrite => ({
  member: { id, address: '10.0.0.1', ports: { web: 8080 }, weight: 1 },
  admin: 'enabled',
  removing: false,
  reason: 'test',
  ...extra,
})

const drainOf = (
  id: string,
  holder: string,
  extra: Partial<Omit<DrainRequest, 'write' | 'holder'>> = {},
): DrainRequest => ({
  write: write(id, { admin: 'draining', reason: 'deploy' }),
  holder,
  ttlMs: TTL,
  down: [],
  force: false,
  ...extra,
})

const instance = (id: string): InstanceRecord => ({
  v: 1,
  id,
  host: 'h',
  pid: 1,
  version: '0.1.0',
  startedAt: 0,
  appliedVersion: 0,
  loads: {},
  routable: [],
  fenced: false,
})

const obs = (at: number): Observation => ({
  v: 1,
  health: 'down',
  probe: 'http',
  reason: 'status 503',
  at,
})

const noEvents: StoreEvents = { status: () => undefined, notice: () => undefined }

/** Resolves with the first notice `store` delivers to a new subscriber, or rejects in time. */
async function nextNotice(h: Harness): Promise<() => Promise<StoreNotice>> {
  let resolve: (n: StoreNotice) => void = () => undefined
  const got = new Promise<StoreNotice>(r => (resolve = r))
  await h.peer({
    notice: n => {
      resolve(n)
    },
  })
  return () =>
    Promise.race([
      got,
      new Promise<never>((_, reject) =>
        setTimeout(() => {
          reject(new Error('no notice within 5s'))
        }, 5_000).unref(),
      ),
    ])
}

interface Behaviour {
  name: string
  run(h: Harness): Promise<unknown>
  want: unknown
}

const BEHAVIOURS: Behaviour[] = [
  {
    name: "a member's proxyProtocol is stored and read back (issue #23), a drain keeps it",
    run: async h => {
      const v2 = (extra: Partial<MemberWrite> = {}): MemberWrite =>
        write('p', {
          ...extra,
          member: {
            id: 'p',
            address: '10.0.0.1',
            ports: {},
            weight: 1,
            proxyProtocol: 'v2',
          },
        })
      await h.store.putMember(v2(), 'lb1')
      await h.store.putMember(write('plain'), 'lb1')
      await h.store.putMember(write('third'), 'lb1') // 3 members: a drain budget of 1
      const put = (await h.store.snapshot(TTL)).members
      await h.store.drain(
        { ...drainOf('p', 'lb1'), write: v2({ admin: 'draining' }) },
        'lb1',
      )
      const drained = (await h.store.snapshot(TTL)).members?.get('p')
      return {
        put: put?.get('p')?.member.proxyProtocol,
        plain: put?.get('plain')?.member.proxyProtocol ?? 'absent',
        drained: [drained?.admin, drained?.member.proxyProtocol],
      }
    },
    want: { put: 'v2', plain: 'absent', drained: ['draining', 'v2'] },
  },
  {
    name: 'a fresh pool is empty, unseeded, at version 0',
    run: async h => {
      const s = await h.store.snapshot(TTL)
      return {
        version: s.version,
        seeded: s.seeded,
        members: [...(s.members?.keys() ?? [])],
        membersMissing: s.membersMissing,
        instances: s.instances.size,
        invalid: s.invalid,
      }
    },
    want: {
      version: 0,
      seeded: false,
      members: [],
      membersMissing: true,
      instances: 0,
      invalid: [],
    },
  },
  {
    name: 'seed writes only once; the first membership stays',
    run: async h => {
      const first = await h.store.seed([write('a'), write('b')], 'lb1')
      const second = await h.store.seed([write('c')], 'lb2')
      const s = await h.store.snapshot(TTL)
      const a = s.members?.get('a')
      return {
        first,
        second,
        version: s.version,
        seeded: s.seeded,
        members: [...(s.members?.keys() ?? [])].sort(),
        a: { rev: a?.rev, by: a?.by, admin: a?.admin, removing: a?.removing },
      }
    },
    want: {
      first: true,
      second: false,
      version: 1,
      seeded: true,
      members: ['a', 'b'],
      a: { rev: 1, by: 'lb1', admin: 'enabled', removing: false },
    },
  },
  {
    name: 'a forced seed replaces the whole membership (repair)',
    run: async h => {
      await h.store.seed([write('a'), write('b')], 'lb1')
      const forced = await h.store.seed([write('c')], 'lb2', true)
      const s = await h.store.snapshot(TTL)
      return {
        forced,
        version: s.version,
        members: [...(s.members?.keys() ?? [])],
        by: s.members?.get('c')?.by,
      }
    },
    want: { forced: true, version: 2, members: ['c'], by: 'lb2' },
  },
  {
    name: 'putMember bumps the version, returns it as rev and marks the pool seeded',
    run: async h => {
      const r1 = await h.store.putMember(write('a'), 'lb1')
      const r2 = await h.store.putMember(write('a', { admin: 'draining' }), 'lb2')
      const s = await h.store.snapshot(TTL)
      const stored = s.members?.get('a')
      return {
        revs: [r1.rev, r2.rev],
        version: s.version,
        seeded: s.seeded,
        stored: { rev: stored?.rev, admin: stored?.admin, by: stored?.by },
        returnedMatchesStored: JSON.stringify(stored) === JSON.stringify(r2),
        seedAfter: await h.store.seed([write('z')], 'lb3'),
      }
    },
    want: {
      revs: [1, 2],
      version: 2,
      seeded: true,
      stored: { rev: 2, admin: 'draining', by: 'lb2' },
      returnedMatchesStored: true,
      seedAfter: false,
    },
  },
  {
    name: 'a known version skips re-reading the members',
    run: async h => {
      await h.store.putMember(write('a'), 'lb1')
      const same = await h.store.snapshot(TTL, 1)
      const older = await h.store.snapshot(TTL, 0)
      return {
        same: same.members === undefined,
        older: [...(older.members?.keys() ?? [])],
      }
    },
    want: { same: true, older: ['a'] },
  },
  {
    name: 'deleteMember returns the new version (undefined if absent) and drops its lease',
    run: async h => {
      await h.store.putMember(write('a'), 'lb1')
      await h.store.drain(drainOf('a', 'lb1', { force: true }), 'lb1')
      const deleted = await h.store.deleteMember('a', 'lb1')
      const absent = await h.store.deleteMember('a', 'lb1')
      const s = await h.store.snapshot(TTL)
      return {
        deleted,
        absent,
        version: s.version,
        membersMissing: s.membersMissing,
        drains: s.drains.size,
      }
    },
    want: { deleted: 3, absent: undefined, version: 3, membersMissing: true, drains: 0 },
  },
  {
    name: 'deleteMember with keepLease leaves the drain lease (a replica out for upgrade)',
    run: async h => {
      await h.store.putMember(write('a'), 'sidecar:a')
      await h.store.drain(drainOf('a', 'sidecar:a', { force: true }), 'sidecar:a')
      await h.store.deleteMember('a', 'sidecar:a', true)
      const s = await h.store.snapshot(TTL)
      return { member: s.members?.has('a'), lease: s.drains.get('a')?.holder }
    },
    want: { member: false, lease: 'sidecar:a' },
  },
  {
    name: 'every started subscriber hears a membership change',
    run: async h => {
      const first = await nextNotice(h)
      const second = await nextNotice(h)
      await h.store.putMember(write('a'), 'lb1')
      return await Promise.all([first(), second()])
    },
    want: [
      { kind: 'members', from: 'lb1' },
      { kind: 'members', from: 'lb1' },
    ],
  },
  {
    name: 'a heartbeat makes an instance live with its observations; leave removes it',
    run: async h => {
      await h.store.heartbeat(instance('lb1'), TTL)
      await h.store.heartbeat(instance('lb2'), TTL)
      await h.store.putObservation('lb1', 'a', obs(7), TTL)
      const s = await h.store.snapshot(TTL)
      await h.store.leave('lb1')
      const after = await h.store.snapshot(TTL)
      return {
        live: [...s.instances.keys()].sort(),
        record: s.instances.get('lb1')?.host,
        lb1: [...(s.observations.get('lb1')?.entries() ?? [])],
        lb2: [...(s.observations.get('lb2')?.entries() ?? [])],
        verdict: s.verdicts.get('a'),
        liveAfterLeave: [...after.instances.keys()],
        observationsAfterLeave: [...after.observations.keys()],
      }
    },
    want: {
      live: ['lb1', 'lb2'],
      record: 'h',
      lb1: [['a', obs(7)]],
      lb2: [],
      verdict: { v: 1, health: 'down', by: 'lb1', at: 7 },
      liveAfterLeave: ['lb2'],
      observationsAfterLeave: ['lb2'],
    },
  },
  {
    name: 'observations of an instance that never heartbeats are not listed',
    run: async h => {
      await h.store.putObservation('ghost', 'a', obs(1), TTL)
      const s = await h.store.snapshot(TTL)
      return {
        observations: [...s.observations.keys()],
        verdict: s.verdicts.get('a')?.by,
      }
    },
    want: { observations: [], verdict: 'ghost' },
  },
  {
    name: 'an instance whose heartbeat is older than the TTL is no longer live',
    run: async h => {
      await h.store.heartbeat(instance('lb1'), 300)
      const before = (await h.store.snapshot(300)).instances.size
      const expired = await h.after(
        300,
        async () => (await h.store.snapshot(300)).instances.size === 0,
      )
      return { before, expired }
    },
    want: { before: 1, expired: true },
  },
  {
    name: 'observations expire with their TTL while the instance stays live',
    run: async h => {
      await h.store.heartbeat(instance('lb1'), 60_000)
      await h.store.putObservation('lb1', 'a', obs(1), 300)
      const expired = await h.after(300, async () => {
        const s = await h.store.snapshot(60_000)
        return s.instances.has('lb1') && s.observations.get('lb1')?.size === 0
      })
      return { expired }
    },
    want: { expired: true },
  },
  {
    name: 'sidecars are listed until their own TTL, and deleted on request',
    run: async h => {
      const now = h.now()
      await h.store.putSidecar('a', {
        v: 1,
        id: 'sc-a',
        health: 'up',
        reason: 'ok',
        at: now,
        ttlMs: 60_000,
      })
      await h.store.putSidecar('b', {
        v: 1,
        id: 'sc-b',
        health: 'down',
        reason: 'stale',
        at: now - 10_000,
        ttlMs: 1_000,
      })
      const s = await h.store.snapshot(TTL)
      await h.store.deleteSidecar('a')
      const after = await h.store.snapshot(TTL)
      return { listed: [...s.sidecars.keys()], afterDelete: [...after.sidecars.keys()] }
    },
    want: { listed: ['a'], afterDelete: [] },
  },
  {
    name: 'a drain writes its lease and the draining record in one step, within the budget',
    run: async h => {
      for (const id of ['a', 'b', 'c']) await h.store.putMember(write(id), 'lb1')
      const a = await h.store.drain(drainOf('a', 'api@lb1'), 'lb1')
      const b = await h.store.drain(drainOf('b', 'api@lb2'), 'lb2')
      const forced = await h.store.drain(drainOf('b', 'api@lb2', { force: true }), 'lb2')
      const missing = await h.store.drain(drainOf('zz', 'api@lb2'), 'lb2')
      const s = await h.store.snapshot(TTL)
      return {
        a: a.ok && { holder: a.lease.holder, admin: a.record.admin, rev: a.record.rev },
        b: !b.ok && b.missing !== true && { budget: b.budget, out: b.out },
        forced: forced.ok,
        missing,
        admins: [...(s.members?.values() ?? [])]
          .map(r => `${r.member.id}:${r.admin}`)
          .sort(),
        leases: [...s.drains].map(([id, l]) => `${id}:${l.holder}`).sort(),
      }
    },
    want: {
      a: { holder: 'api@lb1', admin: 'draining', rev: 4 },
      b: { budget: 1, out: [{ member: 'a', why: 'draining', holder: 'api@lb1' }] },
      forced: true,
      missing: { ok: false, missing: true },
      admins: ['a:draining', 'b:draining', 'c:enabled'],
      leases: ['a:api@lb1', 'b:api@lb2'],
    },
  },
  {
    name: 'the budget counts members really out: disabled, down, left with a lease',
    run: async h => {
      for (const id of ['a', 'b', 'c', 'd', 'e'])
        await h.store.putMember(write(id), 'lb1')
      await h.store.putMember(write('a', { admin: 'disabled' }), 'lb1')
      const downOne = await h.store.drain(drainOf('b', 'x', { down: ['c'] }), 'lb1')
      await h.store.putMember(write('b'), 'lb1')
      const fits = await h.store.drain(drainOf('b', 'x'), 'lb1')
      await h.store.deleteMember('b', 'x', true)
      const left = await h.store.drain(drainOf('c', 'y'), 'lb1')
      const removing = await h.store.putMember(
        write('a', { removing: true, admin: 'draining' }),
        'lb1',
      )
      await h.store.putMember(write('f'), 'lb1')
      const afterRemoval = await h.store.drain(drainOf('c', 'y'), 'lb1')
      return {
        downOne: !downOne.ok && downOne.missing !== true && downOne.out,
        fits: fits.ok,
        left: !left.ok && left.missing !== true && { budget: left.budget, out: left.out },
        removing: removing.removing,
        afterRemoval: afterRemoval.ok,
      }
    },
    want: {
      downOne: [
        { member: 'a', why: 'disabled' },
        { member: 'c', why: 'down' },
      ],
      fits: true,
      left: {
        budget: 2,
        out: [
          { member: 'a', why: 'disabled' },
          { member: 'b', why: 'left', holder: 'x' },
        ],
      },
      removing: true,
      afterRemoval: true,
    },
  },
  {
    name: 'enabling releases any lease on the member, whoever holds it (#18)',
    run: async h => {
      for (const id of ['a', 'b', 'c', 'd']) await h.store.putMember(write(id), 'lb1')
      await h.store.drain(drainOf('a', 'api@lb1'), 'lb1')
      // A second drain of the same member from another instance takes the lease over.
      const again = await h.store.drain(drainOf('a', 'api@lb2'), 'lb2')
      const heldBy = (await h.store.snapshot(TTL)).drains.get('a')?.holder
      await h.store.putMember(write('a'), 'lb1')
      const after = [...(await h.store.snapshot(TTL)).drains.keys()]
      const next = await h.store.drain(drainOf('b', 'api@lb1'), 'lb1')
      return { again: again.ok, heldBy, after, next: next.ok }
    },
    want: { again: true, heldBy: 'api@lb2', after: [], next: true },
  },
  {
    name: 'a lease whose member is enabled is void: the next read reaps it',
    run: async h => {
      await h.store.putMember(write('a'), 'sidecar:a')
      await h.store.drain(drainOf('a', 'sidecar:a', { force: true }), 'sidecar:a')
      await h.store.deleteMember('a', 'sidecar:a', true)
      const kept = [...(await h.store.snapshot(TTL)).drains.keys()]
      await h.store.putMember(write('a'), 'sidecar:a')
      const afterRegister = [...(await h.store.snapshot(TTL)).drains.keys()]
      return { kept, afterRegister }
    },
    want: { kept: ['a'], afterRegister: [] },
  },
  {
    name: 'a delete leaves a tombstone; a later write of the member clears it',
    run: async h => {
      await h.store.putMember(write('a'), 'lb1')
      await h.store.putMember(write('b'), 'lb1')
      const v = await h.store.deleteMember('a', 'lb1')
      const s1 = await h.store.snapshot(TTL)
      await h.store.putMember(write('a'), 'lb1')
      const s2 = await h.store.snapshot(TTL)
      return { tomb: s1.removed.get('a') === v, after: [...s2.removed.keys()] }
    },
    want: { tomb: true, after: [] },
  },
  {
    name: 'repairMembers puts back a vanished record unless a readable delete came after the copy',
    run: async h => {
      const a = await h.store.putMember(write('a'), 'lb1')
      const b = await h.store.putMember(write('b'), 'lb1')
      await h.store.deleteMember('b', 'lb1')
      const repaired = await h.store.repairMembers(
        [
          { write: write('b'), found: undefined, rev: b.rev },
          { write: write('c'), found: undefined, rev: 1 },
          { write: write('a'), found: undefined, rev: a.rev },
        ],
        'lb2',
      )
      const s = await h.store.snapshot(TTL)
      return { repaired, members: [...(s.members?.keys() ?? [])].sort() }
    },
    want: { repaired: 1, members: ['a', 'c'] },
  },
  {
    name: 'keepAdmin keeps a stored drain: an endpoint update never undoes it (lost update)',
    run: async h => {
      for (const id of ['a', 'b', 'c']) await h.store.putMember(write(id), 'lb1')
      await h.store.drain(drainOf('a', 'api@lb1'), 'lb1')
      const moved = { ...write('a', { keepAdmin: true }) }
      const put = await h.store.putMember(
        { ...moved, member: { ...moved.member, address: '10.0.0.9' } },
        'lb2',
      )
      const fresh = await h.store.putMember(write('d', { keepAdmin: true }), 'lb2')
      await h.store.putMember(write('b', { removing: true, admin: 'draining' }), 'lb1')
      const back = await h.store.putMember(write('b', { keepAdmin: true }), 'lb2')
      const s = await h.store.snapshot(TTL)
      return {
        a: [put.admin, put.member.address],
        lease: s.drains.has('a'),
        d: fresh.admin,
        b: [back.admin, back.removing],
      }
    },
    want: {
      a: ['draining', '10.0.0.9'],
      lease: true,
      d: 'enabled',
      b: ['enabled', false],
    },
  },
  {
    name: 'a removal stays: neither a drain nor a disable from an older view cancels it',
    run: async h => {
      for (const id of ['a', 'b', 'c']) await h.store.putMember(write(id), 'lb1')
      await h.store.putMember(write('a', { admin: 'draining', removing: true }), 'lb1')
      const drained = await h.store.drain(drainOf('a', 'api@lb2', { force: true }), 'lb2')
      const disabled = await h.store.putMember(
        write('a', { admin: 'disabled', keepRemoving: true }),
        'lb2',
      )
      const enabled = await h.store.putMember(write('a'), 'lb2')
      const s = await h.store.snapshot(TTL)
      return {
        drained: drained.ok && drained.record.removing,
        disabled: [disabled.admin, disabled.removing],
        enabled: [enabled.admin, enabled.removing],
        leases: [...s.drains.keys()],
      }
    },
    want: {
      drained: true,
      disabled: ['disabled', true],
      enabled: ['enabled', false],
      leases: [],
    },
  },
  {
    name: "a sidecar's write does not mark the pool seeded (load balancers re-seed it)",
    run: async h => {
      await h.store.putMember(write('a', { unseeded: true }), 'sidecar:a')
      const before = (await h.store.snapshot(TTL)).seeded
      const seeded = await h.store.seed([write('b', { admin: 'draining' })], 'lb1')
      // The sidecar of b read before the seed: its first registration must not win.
      const late = await h.store.putMember(
        write('b', { unseeded: true, ifAbsent: true }),
        's',
      )
      const after = await h.store.snapshot(TTL)
      return {
        before,
        seeded,
        late: [late.admin, late.by],
        members: [...(after.members?.keys() ?? [])].sort(),
      }
    },
    want: { before: false, seeded: true, late: ['draining', 'lb1'], members: ['a', 'b'] },
  },
  {
    name: 'an expired drain lease of a member that left frees its unit of budget',
    run: async h => {
      for (const id of ['a', 'b', 'c', 'd']) await h.store.putMember(write(id), 'lb1')
      await h.store.drain(drainOf('a', 'sidecar:a', { ttlMs: 300 }), 'sidecar:a')
      await h.store.deleteMember('a', 'sidecar:a', true)
      const held = (await h.store.drain(drainOf('b', 'lb2'), 'lb2')).ok
      const freed = await h.after(
        300,
        async () => (await h.store.drain(drainOf('b', 'lb2'), 'lb2')).ok,
      )
      return { held, freed }
    },
    want: { held: false, freed: true },
  },
  {
    name: 'an unreachable store fails fast with StoreUnavailableError',
    run: async h => {
      const s = h.unreachable()
      const results = await Promise.allSettled([
        s.snapshot(TTL),
        s.putMember(write('a'), 'lb1'),
        s.seed([write('a')], 'lb1'),
        s.heartbeat(instance('lb1'), TTL),
      ])
      return {
        connected: s.connected,
        errors: results.map(r =>
          r.status === 'rejected' && r.reason instanceof StoreUnavailableError
            ? r.reason.code
            : r.status,
        ),
      }
    },
    want: {
      connected: false,
      errors: [
        'STORE_UNAVAILABLE',
        'STORE_UNAVAILABLE',
        'STORE_UNAVAILABLE',
        'STORE_UNAVAILABLE',
      ],
    },
  },
]

/** Polls `check` every 25 ms until it holds or the deadline passes. */
async function poll(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return true
    if (Date.now() > deadline) return false
    await new Promise(r => setTimeout(r, 25))
  }
}

void t.test('MemoryStore', async t => {
  t.plan(BEHAVIOURS.length)
  for (const b of BEHAVIOURS) {
    let now = 1_700_000_000_000
    const clock = { now: () => now }
    const store = new MemoryStore(clock)
    await store.start(noEvents)
    const h: Harness = {
      store,
      peer: async events => {
        await store.start({ ...noEvents, ...events })
        return store
      },
      unreachable: () => new MemoryStore(clock),
      now: () => now,
      after: async (ms, check) => {
        now += ms + 1
        return await check()
      },
    }
    t.strictSame(await b.run(h), b.want, b.name)
  }
})

void t.test('RedisStore', async t => {
  const redis = await startRedis()
  t.teardown(() => redis.kill())
  t.plan(BEHAVIOURS.length)
  let n = 0
  for (const b of BEHAVIOURS) {
    const config = redisSchema.parse({ url: redis.url, prefix: `s${n++}` })
    const opened: PoolStore[] = []
    const open = async (events: StoreEvents): Promise<PoolStore> => {
      const s = new RedisStore(config)
      opened.push(s)
      await s.start(events)
      return s
    }
    const store = await open(noEvents)
    const h: Harness = {
      store,
      peer: async events => {
        const s = await open({ ...noEvents, ...events })
        // The subscription is set up asynchronously: wait until it counts (bounded).
        await poll(
          async () =>
            (await redisNumsub(redis.port, `${config.prefix}:events`)) >= opened.length,
          5_000,
        )
        return s
      },
      unreachable: () => new RedisStore(config),
      now: () => Date.now(),
      after: (ms, check) => poll(check, ms + 5_000),
    }
    t.strictSame(await b.run(h), b.want, b.name)
    await Promise.all(opened.map(s => s.close()))
  }
})

/** PUBSUB NUMSUB for one channel, on a short-lived connection. */
async function redisNumsub(port: number, channel: string): Promise<number> {
  const c = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await c.connect()
    const reply = await c.pubsub('NUMSUB', channel)
    const count = reply[1]
    return typeof count === 'number' ? count : Number(count)
  } finally {
    c.disconnect()
  }
}
