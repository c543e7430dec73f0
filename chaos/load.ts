// The chaos load generator: a steady rate of new connections, each one request over
// plain TCP (HTTP) or TLS (HTTPS) that is verified (a hello, or a checksummed echo), plus
// long-lived streams checked byte for byte. Every attempt is recorded with its outcome,
// cause and time; the run is bounded in count and in time.
import { randomBytes } from 'node:crypto'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { patternSha256, sha256 } from './pattern.js'

/** Where the load goes: one LB's plain and TLS listener ports. */
export interface LoadTarget {
  readonly lb: string
  readonly httpPort: number
  readonly httpsPort: number
}

/** Plain TCP (HTTP) or TLS (HTTPS). */
export type Transport = 'tcp' | 'tls'

/** One connection's outcome. */
export interface Attempt {
  /** Start time, epoch ms. */
  readonly atMs: number
  readonly lb: string
  readonly transport: Transport
  readonly kind: 'hello' | 'echo'
  readonly ok: boolean
  /** Why it failed: an errno code, timeout, status-NNN, checksum, short-body. */
  readonly cause?: string
  readonly latencyMs: number
  /** The replica that answered, when one did. */
  readonly replica?: string
}

/** One long-lived stream's outcome. */
export interface StreamResult {
  readonly atMs: number
  readonly lb: string
  readonly transport: Transport
  readonly ok: boolean
  readonly cause?: string
  readonly bytes: number
  readonly durationMs: number
  readonly replica?: string
}

/** Load settings. */
export interface LoadOptions {
  /** New connections per second, over all targets and both transports. */
  readonly ratePerSec: number
  /** Give up on one request after this long (cause "timeout"). */
  readonly requestTimeoutMs: number
  /** Hard caps: the generator stops itself at either. */
  readonly maxAttempts: number
  readonly maxDurationMs: number
  /** CA (PEM) to verify the replicas' TLS certificate. */
  readonly ca: string
}

interface Outcome {
  ok: boolean
  cause?: string
  replica?: string
  body: Buffer
  headers: IncomingMessage['headers']
}

/** Sends one request on a new connection and collects the response. */
function requestOnce(
  transport: Transport,
  port: number,
  path: string,
  method: string,
  body: Buffer | undefined,
  timeoutMs: number,
  ca: string,
): Promise<Outcome> {
  return new Promise(resolve => {
    let settled = false
    const done = (o: Outcome): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve(o)
    }
    const common = {
      host: '127.0.0.1',
      port,
      path,
      method,
      agent: false as const,
      headers: {
        connection: 'close',
        ...(body === undefined ? {} : { 'content-length': body.length }),
      },
    }
    const req =
      transport === 'tcp'
        ? httpRequest(common)
        : httpsRequest({ ...common, ca, servername: 'localhost' })
    const timer = setTimeout(() => {
      req.destroy()
      done({ ok: false, cause: 'timeout', body: Buffer.alloc(0), headers: {} })
    }, timeoutMs)
    req.on('error', (err: NodeJS.ErrnoException) => {
      done({
        ok: false,
        cause: err.code ?? err.message,
        body: Buffer.alloc(0),
        headers: {},
      })
    })
    req.on('response', res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('error', (err: NodeJS.ErrnoException) => {
        done({
          ok: false,
          cause: err.code ?? err.message,
          body: Buffer.alloc(0),
          headers: {},
        })
      })
      res.on('end', () => {
        const replica = res.headers['x-replica']
        done({
          ok: res.statusCode === 200,
          ...(res.statusCode === 200 ? {} : { cause: `status-${res.statusCode ?? 0}` }),
          ...(typeof replica === 'string' ? { replica } : {}),
          body: Buffer.concat(chunks),
          headers: res.headers,
        })
      })
    })
    req.end(body)
  })
}

/** Runs the load; call stop() (or let the caps end it), then read attempts and streams. */
export class LoadGenerator {
  readonly attempts: Attempt[] = []
  readonly streams: StreamResult[] = []
  private timer: NodeJS.Timeout | undefined
  private readonly inFlight = new Set<Promise<void>>()
  private next = 0
  private startedAtMs = 0

  constructor(
    private readonly targets: readonly LoadTarget[],
    private readonly options: LoadOptions,
  ) {}

  /** Starts opening connections at the configured rate. */
  start(): void {
    this.startedAtMs = Date.now()
    const periodMs = 1_000 / this.options.ratePerSec
    this.timer = setInterval(() => {
      const over =
        this.attempts.length + this.inFlight.size >= this.options.maxAttempts ||
        Date.now() - this.startedAtMs > this.options.maxDurationMs
      if (over) {
        clearInterval(this.timer)
        return
      }
      this.track(this.attempt(this.next++))
    }, periodMs)
  }

  /** Stops opening connections and waits for those in flight (each bounded by its timeout). */
  async stop(): Promise<void> {
    clearInterval(this.timer)
    await Promise.all([...this.inFlight])
  }

  /** Opens `count` long-lived streams spread over targets and transports. */
  startStreams(
    count: number,
    options: { bytes: number; chunk: number; intervalMs: number; timeoutMs: number },
  ): void {
    for (let i = 0; i < count; i++) this.track(this.stream(i, options))
  }

  /** Waits for every stream and request in flight. */
  async settle(): Promise<void> {
    await Promise.all([...this.inFlight])
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p)
    void p.finally(() => this.inFlight.delete(p))
  }

  private pick(n: number): { target: LoadTarget; transport: Transport } {
    const target = this.targets[n % this.targets.length]
    if (target === undefined) throw new Error('load generator: no targets')
    const transport: Transport =
      Math.floor(n / this.targets.length) % 2 === 0 ? 'tcp' : 'tls'
    return { target, transport }
  }

  private async attempt(n: number): Promise<void> {
    const { target, transport } = this.pick(n)
    const port = transport === 'tcp' ? target.httpPort : target.httpsPort
    const kind = Math.floor(n / (this.targets.length * 2)) % 2 === 0 ? 'hello' : 'echo'
    const atMs = Date.now()
    const start = performance.now()
    let outcome: Outcome
    if (kind === 'hello') {
      outcome = await requestOnce(
        transport,
        port,
        '/hello',
        'GET',
        undefined,
        this.options.requestTimeoutMs,
        this.options.ca,
      )
      const m = /^hello from (\S+)\n$/.exec(outcome.body.toString('utf8'))
      if (outcome.ok && m?.[1] === undefined) {
        outcome = { ...outcome, ok: false, cause: 'bad-body' }
      } else if (m?.[1] !== undefined) {
        outcome.replica = m[1]
      }
    } else {
      const payload = randomBytes(1_024 + (n % 8) * 512)
      outcome = await requestOnce(
        transport,
        port,
        '/echo',
        'POST',
        payload,
        this.options.requestTimeoutMs,
        this.options.ca,
      )
      if (outcome.ok) {
        const want = sha256(payload)
        if (outcome.headers['x-sha256'] !== want || sha256(outcome.body) !== want) {
          outcome = { ...outcome, ok: false, cause: 'checksum' }
        }
      }
    }
    this.attempts.push({
      atMs,
      lb: target.lb,
      transport,
      kind,
      ok: outcome.ok,
      ...(outcome.cause === undefined ? {} : { cause: outcome.cause }),
      latencyMs: performance.now() - start,
      ...(outcome.replica === undefined ? {} : { replica: outcome.replica }),
    })
  }

  private async stream(
    n: number,
    o: { bytes: number; chunk: number; intervalMs: number; timeoutMs: number },
  ): Promise<void> {
    const { target, transport } = this.pick(n)
    const port = transport === 'tcp' ? target.httpPort : target.httpsPort
    const seed = n + 1
    const atMs = Date.now()
    const start = performance.now()
    const path = `/stream?seed=${seed}&bytes=${o.bytes}&chunk=${o.chunk}&intervalMs=${o.intervalMs}`
    const outcome = await requestOnce(
      transport,
      port,
      path,
      'GET',
      undefined,
      o.timeoutMs,
      this.options.ca,
    )
    let ok = outcome.ok
    let cause = outcome.cause
    if (ok && outcome.body.length !== o.bytes) {
      ok = false
      cause = `short-body-${outcome.body.length}`
    } else if (ok && sha256(outcome.body) !== patternSha256(seed, o.bytes)) {
      ok = false
      cause = 'checksum'
    }
    this.streams.push({
      atMs,
      lb: target.lb,
      transport,
      ok,
      ...(cause === undefined ? {} : { cause }),
      bytes: outcome.body.length,
      durationMs: performance.now() - start,
      ...(outcome.replica === undefined ? {} : { replica: outcome.replica }),
    })
  }
}

/** Counts failures by cause, e.g. { ECONNRESET: 3, timeout: 1 }. */
export function causes(
  attempts: readonly { ok: boolean; cause?: string }[],
): Record<string, number> {
  const out: Record<string, number> = {}
  for (const a of attempts)
    if (!a.ok) out[a.cause ?? 'unknown'] = (out[a.cause ?? 'unknown'] ?? 0) + 1
  return out
}
