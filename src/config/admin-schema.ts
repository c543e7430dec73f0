// Config key `admin:`: the address of the admin API and its security keys (TLS, token
// scopes, token files, the insecure-bind override), and the token files read at load time.
// Kept apart from schema.ts, which imports it. docs/config.md documents every key.
import { z } from 'zod'
import { bindSchema } from './listener-schema.js'
import { mapping } from './primitives.js'

const filePath = z
  .string({ error: 'expected a file path' })
  .min(1, { error: 'expected a file path' })
  .max(4096)

const token = z
  .string({ error: 'expected a non-empty string' })
  .min(1, { error: 'expected a non-empty string' })

/** `admin.tls`: serve HTTPS; certificate and key reload on SIGHUP. */
export const adminTlsSchema = mapping(
  {
    /** Server certificate chain (PEM file). */
    cert: filePath,
    /** Its private key (PEM file). */
    key: filePath,
    /** CA bundle client certificates are verified against (with clientAuth). */
    ca: filePath.optional(),
    /** "none" (default), "optional" (verified if sent) or "require". */
    clientAuth: z
      .enum(['none', 'optional', 'require'], {
        error: 'expected "none", "optional" or "require"',
      })
      .default('none'),
  },
  'a mapping with cert, key, ca, clientAuth',
).superRefine((t, ctx) => {
  if (t.clientAuth !== 'none' && t.ca === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['ca'],
      message: `expected a CA file to verify client certificates with (clientAuth: ${t.clientAuth})`,
      input: t,
    })
  }
})

/** The keys adminSchema spreads into `admin:` beside bind and token. */
export const adminSecurityShape = {
  /** A file holding the admin token (Docker/Kubernetes secret); instead of token. */
  tokenFile: filePath.optional(),
  /** Bearer token for reads (pool, metrics, status page); the admin token works too. */
  readToken: token.optional(),
  /** A file holding the read token; instead of readToken. */
  readTokenFile: filePath.optional(),
  tls: adminTlsSchema.optional(),
  /** Accept a non-loopback bind without TLS and a token: logged at every start. */
  insecureBind: z.boolean({ error: 'expected true or false' }).default(false),
}

/** Issues with both forms of one token. */
export function tokenIssues(a: {
  token?: string | undefined
  tokenFile?: string | undefined
  readToken?: string | undefined
  readTokenFile?: string | undefined
}): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = []
  if (a.token !== undefined && a.tokenFile !== undefined)
    issues.push({ path: 'tokenFile', message: 'expected token or tokenFile, not both' })
  if (a.readToken !== undefined && a.readTokenFile !== undefined)
    issues.push({
      path: 'readTokenFile',
      message: 'expected readToken or readTokenFile, not both',
    })
  return issues
}

/** `admin:`: the admin HTTP API. */
export const adminSchema = mapping(
  {
    /** Address of the admin HTTP API. Default 127.0.0.1:9901. */
    bind: bindSchema.default({ host: '127.0.0.1', port: 9901 }),
    /** Bearer token required for mutations; required when bind is not loopback. */
    token: z
      .string({ error: 'expected a non-empty string' })
      .min(1, { error: 'expected a non-empty string' })
      .optional(),
    ...adminSecurityShape,
  },
  'a mapping',
)
  .superRefine((a, ctx) => {
    for (const i of tokenIssues(a))
      ctx.addIssue({ code: 'custom', path: [i.path], message: i.message, input: a })
  })
  .prefault({})

/** Reads one token file (one trailing newline dropped); an issue line when unusable. */
export function readTokenFile(
  key: string,
  path: string,
  readFile: (path: string) => string,
): { value?: string; issue?: string } {
  try {
    const value = readFile(path).replace(/\r?\n$/, '')
    if (value === '')
      return { issue: `admin.${key}: ${path} is empty: write the token into it` }
    return { value }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    return { issue: `admin.${key}: cannot read ${path}: ${message}` }
  }
}

/** Resolved `admin.tls`. */
export type AdminTlsConfig = z.output<typeof adminTlsSchema>
