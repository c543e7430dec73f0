// Config keys for sharing one pool between several instances: `redis` (where) and
// `coordination` (how). Kept apart from schema.ts, which imports them. docs/config.md
// documents every key; docs/coordination.md explains the model.
import { z } from 'zod'
import { duration, integer, mapping } from './primitives.js'

const PREFIX_RE = /^[A-Za-z0-9][A-Za-z0-9:._-]{0,99}$/

const filePath = z
  .string({ error: 'expected a file path' })
  .min(1, { error: 'expected a file path' })
  .max(4096)

/** `redis.tls`: PEM files; hostname verification stays on unless `insecure`. */
const redisTlsSchema = mapping(
  {
    /** CA bundle to verify the server with. Default: Node's built-in roots. */
    ca: filePath.optional(),
    /** Client certificate (with key) when Redis requires one (tls-auth-clients). */
    cert: filePath.optional(),
    key: filePath.optional(),
    /** Name to verify the certificate against (and SNI). Default: the host. */
    servername: z.string({ error: 'expected a host name' }).min(1).max(255).optional(),
    /** Skip certificate and name verification. Testing only: logged at every start. */
    insecure: z.boolean({ error: 'expected true or false' }).default(false),
  },
  'a mapping with ca, cert, key, servername, insecure',
).superRefine((t, ctx) => {
  if ((t.cert === undefined) !== (t.key === undefined)) {
    ctx.addIssue({
      code: 'custom',
      message:
        'expected both cert and key (a client certificate needs its key), or neither',
      input: t,
    })
  }
})

/** `redis:`: the shared store. Absent: the pool lives in memory, as a single instance. */
export const redisSchema = mapping(
  {
    /** redis://[user:password@]host:port/db or rediss:// for TLS. Either this or sentinels. */
    url: z
      .string({ error: 'expected a redis:// or rediss:// URL' })
      .regex(/^rediss?:\/\/[^\s]+$/, {
        error: 'expected a redis:// or rediss:// URL, e.g. "redis://127.0.0.1:6379/0"',
      })
      .optional(),
    /** Key prefix; several pools can share one Redis. Default "corral". */
    prefix: z
      .string({ error: 'expected a key prefix' })
      .regex(PREFIX_RE, {
        error:
          'expected a key prefix of letters, digits, ":", ".", "_", "-" (≤ 100 chars)',
      })
      .default('corral'),
    /**
     * Password (use "${REDIS_PASSWORD}"); overrides one in the URL; "" means none (so
     * "${REDIS_PASSWORD:-}" works unset). Never logged.
     */
    password: z.string({ error: 'expected a string' }).max(512).optional(),
    /** A file holding the password (Docker/Kubernetes secret); instead of password. */
    passwordFile: filePath.optional(),
    /** ACL user (Redis 6+); default: the URL's user, else "default". */
    username: z
      .string({ error: 'expected an ACL user name' })
      .regex(/^[^\s]{1,128}$/, { error: 'expected an ACL user name without spaces' })
      .optional(),
    /** TLS for every connection (commands, subscriber, Sentinel). */
    tls: redisTlsSchema.optional(),
    /** Redis Sentinel instead of url: [{host, port}], with `name`. */
    sentinels: z
      .array(
        mapping(
          {
            host: z.string({ error: 'expected a hostname or address' }).min(1).max(255),
            port: integer(1, 65535),
          },
          'a mapping with host and port',
        ),
        { error: 'expected a list of {host, port}' },
      )
      .min(1, { error: 'expected at least one sentinel' })
      .optional(),
    /** The Sentinel master name. Default "mymaster". */
    name: z.string({ error: 'expected a master name' }).min(1).max(128).optional(),
    /** Database number with sentinels (a url carries its own). Default 0. */
    db: integer(0, 15).optional(),
  },
  'a mapping with url (or sentinels) and prefix',
).superRefine((r, ctx) => {
  if (r.password !== undefined && r.passwordFile !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['passwordFile'],
      message: 'expected password or passwordFile, not both',
      input: r.passwordFile,
    })
  }
  if ((r.url === undefined) === (r.sentinels === undefined)) {
    ctx.addIssue({
      code: 'custom',
      message: 'expected exactly one of url or sentinels',
      input: r,
    })
  }
})

/** Resolved `redis:`. */
export type RedisConfig = z.output<typeof redisSchema>

/** `coordination:`: how instances sharing a pool combine what they see. */
export const coordinationSchema = mapping(
  {
    /**
     * "quorum" (default): a member is down everywhere once a majority of live instances
     * see it down, and wherever this instance cannot reach it. "local": own checks only.
     */
    policy: z
      .enum(['quorum', 'local'], { error: 'expected "quorum" or "local"' })
      .default('quorum'),
    /**
     * "shared" (default under quorum): one instance (rendezvous hashing) runs each member's
     * /health probe, the others check reachability only. "all": every instance probes all.
     */
    probes: z.enum(['shared', 'all'], { error: 'expected "shared" or "all"' }).optional(),
    /** This instance's id in the shared pool. Default: hostname-pid. */
    instanceId: z
      .string({ error: 'expected an id' })
      .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,62}$/, {
        error: 'expected an id of letters, digits, ".", "_", ":", "-" (≤ 63 chars)',
      })
      .optional(),
    /** How often this instance refreshes its heartbeat. Default 1s. */
    heartbeat: duration(100).default(1_000),
    /** A heartbeat older than this no longer counts (instance considered gone). Default 3s. */
    ttl: duration(300).default(3_000),
    /** Full re-read of the shared pool, whatever the notices said. Default 5s. */
    resync: duration(200).default(5_000),
    /** Warm start from shared verdicts younger than this; "0s" disables. Default 5m. */
    warmStart: duration(0).default(300_000),
    /** How long a drain lease lasts without renewal. Default 10m. */
    drainLease: duration(1_000).default(600_000),
    /** Whether a drain by the admin API must fit the fleet-wide budget. Default true. */
    drainBudget: z.boolean({ error: 'expected true or false' }).default(true),
  },
  'a mapping of coordination settings',
)
  .superRefine((c, ctx) => {
    if (c.ttl <= c.heartbeat) {
      ctx.addIssue({
        code: 'custom',
        path: ['ttl'],
        message: `expected more than heartbeat (${c.heartbeat}ms), so one late heartbeat does not drop an instance`,
        input: c.ttl,
      })
    }
  })
  .prefault({})

/** Resolved `coordination:`. */
export type CoordinationConfig = z.output<typeof coordinationSchema>
