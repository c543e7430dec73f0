// The processes one scenario runs: N replicas, Toxiproxy proxies between every LB and
// every replica port (http, https, health), and M corral LBs in the default workers mode.
// With `shared`, the LBs share one pool through a real redis-server (each LB reaching it
// through its own Toxiproxy proxy, so one LB can be partitioned alone), every LB reaches a
// replica through the same proxies (a shared pool has one address per member), and with
// `shared.sidecars` a `corral sidecar` beside each replica registers it.
import { Toxiproxy, type Proxy } from 'toxiproxy-node-client'
import { startRedis, type RedisProcess } from '../test/helpers/redis-server.js'
import { CorralProcess } from './corral/process.js'
import {
  coordinationYaml,
  lbConfigYaml,
  sidecarConfigYaml,
  type HealthTiming,
  type LbConfigOptions,
  type MemberPorts,
} from './corral/config.js'
import { ReplicaProcess } from './replica/process.js'
import type { ChaosCert } from './tls-cert.js'

/** The proxy-name segment of proxies every LB shares. */
const SHARED = 'all'

/** A replica port an LB reaches through Toxiproxy. */
export type ReplicaPort = 'http' | 'https' | 'health'

/** What a scenario asks for. */
export interface TopologyOptions {
  readonly dir: string
  readonly cert: ChaosCert
  readonly toxiproxyUrl: string
  readonly replicas?: number
  readonly lbs?: number
  readonly health?: HealthTiming
  readonly allDown?: 'reject' | 'fail-open'
  /** Replicas' accept backlog (small makes a SIGSTOPped replica a black hole sooner). */
  readonly backlog?: number
  /**
   * Data ports (http, https) straight to the replicas instead of through Toxiproxy; the
   * health port still goes through it. Toxiproxy completes every TCP handshake itself,
   * so a replica behind it can never look like a black hole to corral.
   */
  readonly directData?: boolean
  /** One pool shared through Redis (see the file comment); absent: independent pools. */
  readonly shared?: { readonly sidecars?: boolean }
}

/** A running topology; close() stops everything it started. */
export class Topology {
  readonly replicas: ReplicaProcess[] = []
  readonly lbs: CorralProcess[] = []
  /** One per replica, with `shared.sidecars`. */
  readonly sidecars = new Map<string, CorralProcess>()
  readonly toxiproxy: Toxiproxy
  /** The shared pool's redis-server, with `shared`. */
  redis: RedisProcess | undefined
  private readonly lbConfigs = new Map<string, LbConfigOptions>()
  private readonly members = new Map<string, MemberPorts>()
  private readonly proxies = new Map<string, Proxy>()
  private readonly created: string[] = []

  private constructor(private readonly options: TopologyOptions) {
    this.toxiproxy = new Toxiproxy(options.toxiproxyUrl)
  }

  /** Starts replicas, proxies and LBs, and waits until every LB has every member up. */
  static async start(options: TopologyOptions): Promise<Topology> {
    const topo = new Topology(options)
    try {
      await topo.build()
    } catch (err) {
      await topo.close()
      throw err
    }
    return topo
  }

  /** Proxy name for an LB (or "all": every LB) → replica port path. */
  static proxyName(lb: string, replica: string, port: ReplicaPort): string {
    return `chaos-${lb}-${replica}-${port}`
  }

  private async build(): Promise<void> {
    const o = this.options
    const replicaCount = o.replicas ?? 3
    const lbCount = o.lbs ?? 2
    await Promise.all(
      Array.from({ length: replicaCount }, async (_, i) => {
        const r = new ReplicaProcess(`r${i + 1}`, {
          certPath: o.cert.certPath,
          keyPath: o.cert.keyPath,
          ...(o.backlog === undefined ? {} : { backlog: o.backlog }),
        })
        this.replicas[i] = r
        await r.start()
      }),
    )
    const shared = o.shared
    if (shared !== undefined) {
      this.redis = await startRedis()
      for (const r of this.replicas)
        this.members.set(r.id, await this.memberPorts(SHARED, r))
    }
    for (let l = 0; l < lbCount; l++) {
      const lb = new CorralProcess(`lb${l + 1}`, o.dir)
      const members: MemberPorts[] = []
      for (const r of this.replicas)
        members.push(this.members.get(r.id) ?? (await this.memberPorts(lb.name, r)))
      const redis = this.redis
      const config: LbConfigOptions = {
        members: shared?.sidecars === true ? [] : members,
        ...(o.health === undefined ? {} : { health: o.health }),
        ...(o.allDown === undefined ? {} : { allDown: o.allDown }),
        ...(redis === undefined
          ? {}
          : {
              coordinationYaml: coordinationYaml(
                `redis://127.0.0.1:${await this.proxy(`chaos-${lb.name}-redis`, redis.port)}/0`,
                lb.name,
              ),
            }),
      }
      this.lbConfigs.set(lb.name, config)
      await lb.start(lbConfigYaml(config))
      this.lbs.push(lb)
    }
    if (shared?.sidecars === true) {
      await Promise.all(this.replicas.map(r => this.startSidecar(r.id)))
    }
    const since = 0
    await Promise.all(
      this.lbs.flatMap(lb =>
        this.replicas.map(r => lb.waitForChange(r.id, 'up', since, 30_000)),
      ),
    )
  }

  /** Creates a proxy to 127.0.0.1:target; resolves its listen port. */
  private async proxy(name: string, target: number): Promise<number> {
    const proxy = await this.toxiproxy.createProxy({
      name,
      listen: '127.0.0.1:0',
      upstream: `127.0.0.1:${target}`,
    })
    this.created.push(name)
    this.proxies.set(name, proxy)
    return Number(proxy.listen.split(':').at(-1))
  }

  /** The ports `lb` (or SHARED) uses to reach replica r, creating their proxies. */
  private async memberPorts(lb: string, r: ReplicaProcess): Promise<MemberPorts> {
    const direct = this.options.directData === true
    const via = (port: ReplicaPort, target: number): Promise<number> =>
      this.proxy(Topology.proxyName(lb, r.id, port), target)
    return {
      id: r.id,
      http: direct ? r.httpPort : await via('http', r.httpPort),
      https: direct ? r.tlsPort : await via('https', r.tlsPort),
      health: await via('health', r.httpPort),
    }
  }

  /** Starts (or restarts) the sidecar of `replica`; resolves once it registered. */
  async startSidecar(replica: string): Promise<CorralProcess> {
    const redis = this.redis
    const member = this.members.get(replica)
    if (redis === undefined || member === undefined)
      throw new Error('sidecars need a shared topology')
    const sc =
      this.sidecars.get(replica) ??
      new CorralProcess(`sidecar-${replica}`, this.options.dir, { command: 'sidecar' })
    this.sidecars.set(replica, sc)
    await sc.start(
      sidecarConfigYaml({
        redisUrl: redis.url,
        member,
        localHealthPort: this.replica(replica).httpPort,
        ...(this.options.health === undefined ? {} : { health: this.options.health }),
      }),
    )
    return sc
  }

  /**
   * Starts a stopped LB again with the same config on the same ports (its clients keep
   * their addresses, as behind a VIP); resolves on its ready line.
   */
  async restartLb(name: string): Promise<void> {
    const lb = this.lbs.find(l => l.name === name)
    const config = this.lbConfigs.get(name)
    if (lb === undefined || config === undefined) throw new Error(`no LB ${name}`)
    await lb.start(
      lbConfigYaml({ ...config, binds: { listeners: lb.ports, admin: lb.adminPort } }),
    )
  }

  /** The Toxiproxy proxy between `lb` and Redis (shared topologies). */
  redisProxy(lb: string): Proxy {
    const p = this.proxies.get(`chaos-${lb}-redis`)
    if (p === undefined) throw new Error(`no Redis proxy for ${lb}`)
    return p
  }

  /** The replica with this id (throws on a typo: a scenario bug). */
  replica(id: string): ReplicaProcess {
    const r = this.replicas.find(x => x.id === id)
    if (r === undefined) throw new Error(`no replica ${id}`)
    return r
  }

  /** The Toxiproxy proxies from every LB to `replica` on `ports`. */
  proxiesTo(replica: string, ports: readonly ReplicaPort[]): Proxy[] {
    const out: Proxy[] = []
    for (const lb of [...this.lbs.map(l => l.name), SHARED]) {
      for (const port of ports) {
        const p = this.proxies.get(Topology.proxyName(lb, replica, port))
        if (p !== undefined) out.push(p)
      }
    }
    return out
  }

  /** Adds the same toxic to every proxy from every LB to `replica` on `ports`. */
  async addToxic(
    replica: string,
    ports: readonly ReplicaPort[],
    toxic: {
      name: string
      type:
        | 'latency'
        | 'bandwidth'
        | 'slow_close'
        | 'timeout'
        | 'slicer'
        | 'limit_data'
        | 'reset_peer'
      stream: 'upstream' | 'downstream'
      attributes: Record<string, number>
      toxicity?: number
    },
  ): Promise<void> {
    await Promise.all(
      this.proxiesTo(replica, ports).map(p => p.addToxic({ toxicity: 1, ...toxic })),
    )
  }

  /** Removes a toxic from every proxy to `replica` on `ports`. */
  async removeToxic(
    replica: string,
    ports: readonly ReplicaPort[],
    name: string,
  ): Promise<void> {
    await Promise.all(
      this.proxiesTo(replica, ports).map(async p => {
        const t = await p.getToxic(name)
        await t.remove()
      }),
    )
  }

  /** Enables or disables every proxy to `replica` on `ports`. */
  async setEnabled(
    replica: string,
    ports: readonly ReplicaPort[],
    enabled: boolean,
  ): Promise<void> {
    await Promise.all(
      this.proxiesTo(replica, ports).map(p =>
        p.update({ enabled, listen: p.listen, upstream: p.upstream }),
      ),
    )
  }

  /** Stops sidecars, LBs, replicas, Redis and the proxies this topology created. */
  async close(): Promise<void> {
    await Promise.allSettled(
      [...this.sidecars.values()].map(s => s.signalAndWait('SIGKILL', 5_000)),
    )
    await Promise.allSettled(this.lbs.map(lb => lb.stop()))
    await this.redis?.kill()
    await Promise.allSettled(this.replicas.map(r => r.kill()))
    await Promise.allSettled(
      this.created.map(async name => {
        const p = await this.toxiproxy.get(name)
        await p.remove()
      }),
    )
  }
}
