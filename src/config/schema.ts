import { z } from 'zod'
import { accessLogSchema } from './access-log-schema.js'
import { adminSchema } from './admin-schema.js'
import { coordinationSchema, redisSchema } from './coordination-schema.js'
import { crossFieldIssues } from './cross-field.js'
import { discoveryListSchema } from './discovery-schema.js'
import { healthSchema } from './health-schema.js'
import { DEFAULT_LISTENERS, listenerSchema } from './listener-schema.js'
import { memberSchema } from './member-schema.js'
import { duration, integer, mapping } from './primitives.js'
import { poolProxyProtocolShape } from './proxy-protocol-schema.js'
import { balanceSchema, limitsSchema, timeoutsSchema } from './traffic-schema.js'

// The single source of truth for corral's YAML config: types come from z.output,
// defaults live here, objects are strict (unknown keys are errors). Every leaf says
// what it expects; format-issues.ts appends what was found. docs/config.md mirrors it.
// Each section's schema lives in its own <section>-schema.ts; this file assembles them
// and runs the cross-field rules (cross-field.ts) over the whole.

/** Most members a config file may list: the pool size measured in docs/performance.md. */
export const MAX_MEMBERS = 1000

/** The whole config file. */
export const configSchema = mapping(
  {
    /** Where clients connect. Default: http on 0.0.0.0:80 and https on 0.0.0.0:443. */
    listeners: z
      .array(listenerSchema, { error: 'expected a list of listeners' })
      .min(1, { error: 'expected at least one listener, got an empty list' })
      .prefault(DEFAULT_LISTENERS),
    /** The replicas connections are spread over. Default: none. */
    members: z
      .array(memberSchema, { error: 'expected a list of members' })
      .max(MAX_MEMBERS, {
        error: issue =>
          `expected at most ${MAX_MEMBERS} members (the size corral is measured at, see docs/performance.md), got ${Array.isArray(issue.input) ? issue.input.length : 'more'}`,
      })
      .default([]),
    /** Members from DNS (Swarm tasks.<service>, headless Services, SRV). Default: none. */
    discovery: discoveryListSchema,
    health: healthSchema,
    balance: balanceSchema,
    /** Weight ramp after readmission (HAProxy slowstart); "0s" disables. Default 0s. */
    slowStart: duration(0).default(0),
    /** When no member is up: "reject" new connections (default) or "fail-open" to every enabled member. */
    allDown: z
      .enum(['reject', 'fail-open'], { error: 'expected "reject" or "fail-open"' })
      .default('reject'),
    timeouts: timeoutsSchema,
    limits: limitsSchema,
    admin: adminSchema,
    /**
     * Data-path processes: "auto" (default, one per core) or a number; 0 = single
     * process (the data path runs inside the control plane). Health checks, the pool and
     * the admin API always run once, in the primary.
     */
    /** The shared pool store (several instances); absent = in memory, one instance. */
    redis: redisSchema.optional(),
    /** How instances sharing a pool combine their views (only with redis). */
    coordination: coordinationSchema,
    /** One JSON line per client connection (docs/access-log.md); off by default. */
    accessLog: accessLogSchema,
    ...poolProxyProtocolShape,
    workers: z
      .union([z.literal('auto'), integer(0, 64)], {
        error: 'expected "auto" or an integer 0-64',
      })
      .default('auto'),
    /**
     * Who moves the bytes of a relay: "native" (the optional splice(2) relay thread of
     * native/, built by `npm run build:native`), "js", or "auto" (default: native where
     * the addon loaded on Linux). Without the addon corral runs on the JS path and says so.
     */
    dataPath: z
      .enum(['auto', 'native', 'js'], { error: 'expected "auto", "native" or "js"' })
      .default('auto'),
  },
  'a mapping of config keys',
).superRefine(
  (config, ctx) => {
    for (const issue of crossFieldIssues(config)) {
      ctx.addIssue({ code: 'custom', ...issue, path: [...issue.path] })
    }
  },
  // zod skips refinements once any field has failed; run anyway, so that cross-field
  // problems are listed together with every other issue instead of one round later.
  { when: () => true },
)

/** The config file as written (durations as strings). */
export type ConfigInput = z.input<typeof configSchema>
/** Parsed config before resolution (durations already in ms). */
export type ParsedConfig = z.output<typeof configSchema>
