// Registry push and pull (issue #13): three real docker-registry replicas on one shared
// filesystem storage, TLS on the replicas (the proxy passes it through), skopeo pushing
// and pulling a fresh random layer. The storage, the image pushed and the copy pulled sit
// in RAM (a tmpfs, issue #19): on disk the same push scattered by ±25% between runs. Not
// the registry's inmemory driver: each replica would have its own, and a push's requests
// land on all three.

import { execFileSync } from 'node:child_process'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { Backends } from '../backends.js'
import type { RunContext } from '../context.js'
import { OCI_TAG, writeRandomImage } from '../oci-layout.js'
import { makeRamDir } from '../ram-dir.js'
import { freePort, freePorts, isListening } from '../ports.js'
import { measureCpu } from '../proc-stats.js'
import { Child, runCommand } from '../procs.js'
import { sleep, startSystem } from '../systems.js'
import type { Metrics, Workload } from './workload.js'

/** Layer size of a full run: an image layer of the size registries move daily. */
export const LAYER_BYTES = 256 * 2 ** 20
/** Layer size of a smoke run: every step once, in a few seconds. */
export const SMOKE_LAYER_BYTES = 4 * 2 ** 20
const REPLICAS = 3
const START_TIMEOUT_MS = 10_000
/** Shared by the replicas: each one must accept upload state another one signed. */
const HTTP_SECRET = 'corral-bench-shared-secret'

/** The registry workload. */
export const registryWorkload: Workload = {
  id: 'registry',
  timeoutMs: () => 300_000,
  unavailable: env => {
    const missing = (
      [
        ['docker-registry', env.tools.dockerRegistry],
        ['skopeo', env.tools.skopeo],
        ['openssl', env.tools.openssl],
      ] as const
    )
      .filter(([, path]) => path === undefined)
      .map(([name]) => name)
    return missing.length === 0 ? undefined : `${missing.join(', ')} not found`
  },
  run: runRegistry,
}

/** docker-registry's config for one replica (distribution 2.x format). */
export function registryConfig(options: {
  readonly port: number
  readonly storageDir: string
  readonly certFile: string
  readonly keyFile: string
}): string {
  return stringify({
    version: 0.1,
    log: { level: 'error', accesslog: { disabled: true } },
    storage: {
      filesystem: { rootdirectory: options.storageDir },
      // Not a race with another replica's upload during the run.
      maintenance: { uploadpurging: { enabled: false } },
    },
    http: {
      addr: `127.0.0.1:${options.port}`,
      secret: HTTP_SECRET,
      tls: { certificate: options.certFile, key: options.keyFile },
    },
  })
}

async function runRegistry(ctx: RunContext): Promise<Metrics> {
  const { dockerRegistry, skopeo, openssl } = ctx.env.tools
  if (dockerRegistry === undefined || skopeo === undefined || openssl === undefined)
    throw new Error('docker-registry, skopeo or openssl not found')
  const bytes = ctx.smoke ? SMOKE_LAYER_BYTES : LAYER_BYTES
  // The image, the registry's copy and the pulled copy, plus headroom for metadata.
  const ram = makeRamDir(`corral-bench-registry-${ctx.system}-r${ctx.round}-`, 4 * bytes)
  if ('why' in ram)
    ctx.note(
      `registry: storage on disk (${ram.why}): push and pull times include disk noise.`,
    )
  const dir =
    'dir' in ram ? ram.dir : join(ctx.env.workDir, `registry-${ctx.system}-r${ctx.round}`)
  const storageDir = join(dir, 'storage')
  mkdirSync(storageDir, { recursive: true })
  // 256 MiB of image and twice as much again stored and pulled, in RAM: never leave it.
  ctx.scope.add({
    name: 'registry files',
    stop: () => {
      rmSync(dir, { recursive: true, force: true })
      return Promise.resolve()
    },
  })
  const certFile = join(dir, 'cert.pem')
  const keyFile = join(dir, 'key.pem')
  execFileSync(
    openssl,
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  )
  const ports = await freePorts(REPLICAS)
  for (const [i, port] of ports.entries()) {
    const config = join(dir, `registry-${i + 1}.yml`)
    const text = registryConfig({ port, storageDir, certFile, keyFile })
    writeFileSync(config, text)
    if (i === 0) ctx.attach('registry-1.yml', text)
    const child = ctx.scope.add(
      new Child(dockerRegistry, ['serve', config], {
        name: `registry-${i + 1}`,
        cpus: ctx.env.pin.load,
        logDir: ctx.env.logDir,
      }),
    )
    if (i === 0) ctx.record(child.argv)
    await waitForListener(port, child)
  }
  // The replicas answer TLS only; checks go to a plain /health server, as in bulk.
  const health = await Backends.start(ctx, [{ kind: 'http' }])
  const system = await startSystem(ctx.system, ctx, {
    listenPort: await freePort(),
    members: ports.map((port, i) => ({ id: `r${i + 1}`, port })),
    healthPort: health.port(0),
    maxConnections: 1_000,
  })
  const imageDir = join(dir, 'image')
  const layerBytes = await writeRandomImage(imageDir, bytes)
  const ref = `docker://127.0.0.1:${system.port}/bench/layer:r${ctx.round}`
  const copy = (args: readonly string[]) =>
    runCommand(skopeo, ['copy', '--insecure-policy', '--quiet', ...args], {
      name: 'skopeo',
      cpus: ctx.env.pin.load,
      logDir: ctx.env.logDir,
      timeoutMs: 120_000,
    }).then(result => {
      ctx.record(result.argv)
      if (result.code !== 0)
        throw new Error(`skopeo copy exited ${result.code}; see ${ctx.env.logDir}`)
    })
  const push = await measureCpu(system.pid, () =>
    copy(['--dest-tls-verify=false', `oci:${imageDir}:${OCI_TAG}`, ref]),
  )
  const pull = await measureCpu(system.pid, () =>
    copy(['--src-tls-verify=false', ref, `dir:${join(dir, 'pulled')}`]),
  )
  const gb = layerBytes / 1e9
  const metrics: Record<string, number> = {
    pushS: push.wallSeconds,
    pullS: pull.wallSeconds,
  }
  if (system.pid !== undefined) {
    metrics.pushCpuSPerGB = (push.cpuSeconds ?? NaN) / gb
    metrics.pullCpuSPerGB = (pull.cpuSeconds ?? NaN) / gb
    metrics.faultsPerGB = ((push.minorFaults ?? NaN) + (pull.minorFaults ?? NaN)) / gb / 2
  }
  return metrics
}

async function waitForListener(port: number, child: Child): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (child.hasExited)
      throw new Error(`${child.argv.join(' ')} exited; see ${child.logPath}`)
    if (isListening(port)) return
    await sleep(50)
  }
  throw new Error(`docker-registry not listening on ${port}; see ${child.logPath}`)
}
