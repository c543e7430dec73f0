// The simulation's real parts: one redis-server, N chaos replicas (their /hello names
// them, so every connection shows which member it reached), 3 corral LBs (the built CLI,
// default workers mode) and a `corral sidecar` beside some replicas, all on 127.0.0.1 with
// ports the OS hands out. Faults act on these processes; store damage is in damage.ts.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startRedis, type RedisProcess } from '../../test/helpers/redis-server.js'
import type { MemberPorts } from '../corral/config.js'
import { CorralProcess } from '../corral/process.js'
import { ReplicaProcess } from '../replica/process.js'
import type { ChaosCert } from '../tls-cert.js'
import { simLbYaml, simSidecarYaml, SIM_SIDECAR_DRAIN_MS } from './config.js'
import type { Universe } from './ops.js'

/** What the simulation knows of one replica process. */
export interface ReplicaState {
  running: boolean
  healthy: boolean
  /** performance.now() of its last fault or recovery (health verdicts lag behind). */
  changedAt: number
}

/** Running processes of one simulation; close() stops all of them. */
export class Fleet {
  readonly replicas = new Map<string, ReplicaProcess>()
  readonly replicaState = new Map<string, ReplicaState>()
  readonly lbs = new Map<string, CorralProcess>()
  /** Every sidecar process ever started, by replica (running or not). */
  readonly sidecars = new Map<string, CorralProcess>()
  /** The member ids in each LB's config file. */
  readonly files = new Map<string, readonly string[]>()
  redis: RedisProcess | undefined

  private constructor(
    private readonly dir: string,
    private readonly cert: ChaosCert,
    readonly universe: Universe,
  ) {}

  /** Starts everything the universe names and waits until each LB has its members. */
  static async start(dir: string, cert: ChaosCert, universe: Universe): Promise<Fleet> {
    const fleet = new Fleet(dir, cert, universe)
    try {
      await fleet.build()
    } catch (err) {
      await fleet.close()
      throw err
    }
    return fleet
  }

  private async build(): Promise<void> {
    const u = this.universe
    await Promise.all(
      u.replicas.map(async id => {
        const r = new ReplicaProcess(id, {
          certPath: this.cert.certPath,
          keyPath: this.cert.keyPath,
        })
        this.replicas.set(id, r)
        await r.start()
        this.replicaState.set(id, { running: true, healthy: true, changedAt: 0 })
      }),
    )
    this.redis = await startRedis()
    // One after the other: the first seeds the pool from its file, the others adopt it.
    for (const lb of u.lbs) {
      const p = new CorralProcess(lb, this.dir)
      this.lbs.set(lb, p)
      this.files.set(lb, u.fileMembers)
      await p.start(this.lbYaml(lb))
    }
    for (const id of u.sidecarReplicas) await this.startSidecar(id)
  }

  /** The redis-server (throws before start: a simulator bug). */
  get store(): RedisProcess {
    if (this.redis === undefined) throw new Error('redis not started')
    return this.redis
  }

  /** How the LBs reach replica `id` (its own ports: no proxy in between). */
  memberPorts(id: string): MemberPorts {
    const r = this.replicas.get(id)
    if (r === undefined) throw new Error(`no replica ${id}`)
    return { id, http: r.httpPort, https: r.tlsPort, health: r.httpPort }
  }

  /** The LB's current config (its file's members; the same ports after a restart). */
  lbYaml(lb: string): string {
    const p = this.lbs.get(lb)
    const started = p !== undefined && p.adminPort !== 0
    return simLbYaml({
      lb,
      redisUrl: this.store.url,
      members: (this.files.get(lb) ?? []).map(id => this.memberPorts(id)),
      ...(started ? { binds: { listeners: p.ports, admin: p.adminPort } } : {}),
    })
  }

  /** The LB process (throws on an unknown name: a simulator bug). */
  lb(name: string): CorralProcess {
    const p = this.lbs.get(name)
    if (p === undefined) throw new Error(`no LB ${name}`)
    return p
  }

  /** Starts the sidecar of `replica` (again); resolves once it registered its member. */
  async startSidecar(replica: string): Promise<void> {
    const sc =
      this.sidecars.get(replica) ??
      new CorralProcess(`sidecar-${replica}`, this.dir, {
        command: 'sidecar',
        // A member already there with an operator's admin state is kept without a write,
        // and without the "registered" line: the settle waits for the pool instead.
        readyMessages: [
          'member registered in the shared pool',
          'shared pool store connected: registering',
        ],
      })
    this.sidecars.set(replica, sc)
    await sc.start(
      simSidecarYaml({ redisUrl: this.store.url, member: this.memberPorts(replica) }),
      20_000,
    )
  }

  /** Whether the sidecar of `replica` runs. */
  sidecarRunning(replica: string): boolean {
    return this.sidecars.get(replica)?.running === true
  }

  /** SIGTERMs the sidecar; resolves its exit code (0: drained and deregistered). */
  async stopSidecar(replica: string): Promise<number | null> {
    const sc = this.sidecars.get(replica)
    if (sc === undefined) return null
    return sc.signalAndWait('SIGTERM', SIM_SIDECAR_DRAIN_MS + 2_000 + 8_000)
  }

  /** SIGKILLs the sidecar. */
  async killSidecar(replica: string): Promise<void> {
    await this.sidecars.get(replica)?.signalAndWait('SIGKILL', 5_000)
  }

  /** Records a replica fault or recovery. */
  private mark(id: string, change: Partial<ReplicaState>): void {
    const s = this.replicaState.get(id)
    if (s !== undefined) Object.assign(s, change, { changedAt: performance.now() })
  }

  /** SIGKILLs a replica (it stays down until restartReplica). */
  async killReplica(id: string): Promise<void> {
    await this.replicas.get(id)?.kill()
    this.mark(id, { running: false })
  }

  /** (Re)starts a replica on its ports, healthy. */
  async restartReplica(id: string): Promise<void> {
    const r = this.replicas.get(id)
    if (r === undefined) return
    await r.kill()
    await r.start()
    this.mark(id, { running: true, healthy: true })
  }

  /** Switches a running replica's /health. */
  async setReplicaHealth(id: string, healthy: boolean): Promise<void> {
    const s = this.replicaState.get(id)
    if (s?.running !== true) return
    await this.replicas.get(id)?.setHealth({ mode: healthy ? 'healthy' : 'unhealthy' })
    this.mark(id, { healthy })
  }

  /** SIGSTOPs a running replica for `holdMs`, then SIGCONTs it. */
  async pauseReplica(id: string, holdMs: number): Promise<void> {
    const r = this.replicas.get(id)
    if (r === undefined || this.replicaState.get(id)?.running !== true) return
    r.signal('SIGSTOP')
    this.mark(id, {})
    await new Promise(resolve => setTimeout(resolve, holdMs))
    r.signal('SIGCONT')
    this.mark(id, {})
  }

  /** SIGKILLs an LB (primary and workers) and starts it again on the same ports. */
  async crashLb(name: string, downMs: number): Promise<void> {
    const p = this.lb(name)
    await p.crash()
    await new Promise(resolve => setTimeout(resolve, downMs))
    await p.start(this.lbYaml(name))
  }

  /** Rewrites the LB's file with `members` and sends SIGHUP; resolves on its reload line. */
  async reloadLb(name: string, members: readonly string[]): Promise<void> {
    const p = this.lb(name)
    this.files.set(name, members)
    const from = p.logs.length
    // The config path is fixed per process name; start() wrote it, we rewrite it.
    writeFileSync(join(this.dir, `${name}.yaml`), this.lbYaml(name))
    p.signal('SIGHUP')
    await p.waitForLog(
      l => l.msg === 'config reloaded' || String(l.msg).startsWith('config reload'),
      10_000,
      from,
    )
  }

  /** Stops sidecars, LBs, replicas and Redis. */
  async close(): Promise<void> {
    await Promise.allSettled(
      [...this.sidecars.values()].map(s => s.signalAndWait('SIGKILL', 5_000)),
    )
    await Promise.allSettled([...this.lbs.values()].map(p => p.stop()))
    await this.redis?.kill()
    await Promise.allSettled([...this.replicas.values()].map(r => r.kill()))
  }
}
