// Config keys that shape traffic: `timeouts:`, `limits:` and `balance:`. Kept apart from
// schema.ts, which imports them. docs/config.md documents every key.
import { z } from 'zod'
import { duration, integer, mapping } from './primitives.js'

/** `timeouts:`: connect, idle and shutdown bounds. */
export const timeoutsSchema = mapping(
  {
    /** Upper bound on establishing the member leg of a connection. Default 2s. */
    connect: duration(1).default(2_000),
    /** A connection with no bytes either way for this long is closed (never an absolute cap). Default 10m. */
    idle: duration(1).default(600_000),
    /** On SIGTERM, how long open connections may take to finish. Default 30s. */
    shutdown: duration(0).default(30_000),
  },
  'a mapping',
).prefault({})

/** `limits:`: connection caps and connect attempts. */
export const limitsSchema = mapping(
  {
    /** Most open client connections per listener process; more are closed at once. Default 10000. */
    maxConnections: integer(1, 10_000_000).default(10_000),
    /** Most open connections to one member; a full member is skipped (0 = unlimited). Default 0. */
    maxConnectionsPerMember: integer(0, 10_000_000).default(0),
    /** Members tried for one connection before giving up. Default 3. */
    connectAttempts: integer(1, 16).default(3),
  },
  'a mapping',
).prefault({})

/** `balance:`: the algorithm among up members. */
export const balanceSchema = z
  .enum(['round-robin', 'least-connections', 'consistent-hash'], {
    error: 'expected "round-robin", "least-connections" or "consistent-hash"',
  })
  .default('least-connections')
