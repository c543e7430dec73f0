// The processes one scenario runs: N replicas, Toxiproxy proxies between every LB and
// every replica port (http, https, health), and M corral LBs in the default workers mode.
import { Toxiproxy, type Proxy } from 'toxiproxy-node-client'
import { CorralProcess } from './corral/process.js'
import { lbConfigYaml, type HealthTiming, type MemberPorts } from './corral/config.js'
import { ReplicaProcess } from './replica/process.js'
import type { ChaosCert } from './tls-cert.js'

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
  /** The shared-pool config block (see LbConfigOptions.coordinationYaml); absent: independent pools. */
  readonly coordinationYaml?: string
}

/** A running topology; close() stops everything it started. */
export class Topology {
  readonly replicas: ReplicaProcess[] = []
  readonly lbs: CorralProcess[] = []
  readonly toxiproxy: Toxiproxy
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

  /** Proxy name for an LB → replica port path. */
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
    for (let l = 0; l < lbCount; l++) {
      const lb = new CorralProcess(`lb${l + 1}`, o.dir)
      const members: MemberPorts[] = []
      for (const r of this.replicas) {
        const via = async (port: ReplicaPort, target: number): Promise<number> => {
          const name = Topology.proxyName(lb.name, r.id, port)
          const proxy = await this.toxiproxy.createProxy({
            name,
            listen: '127.0.0.1:0',
            upstream: `127.0.0.1:${target}`,
          })
          this.created.push(name)
          this.proxies.set(name, proxy)
          return Number(proxy.listen.split(':').at(-1))
        }
        const direct = o.directData === true
        members.push({
          id: r.id,
          http: direct ? r.httpPort : await via('http', r.httpPort),
          https: direct ? r.tlsPort : await via('https', r.tlsPort),
          health: await via('health', r.httpPort),
        })
      }
      await lb.start(
        lbConfigYaml({
          members,
          ...(o.health === undefined ? {} : { health: o.health }),
          ...(o.allDown === undefined ? {} : { allDown: o.allDown }),
          ...(o.coordinationYaml === undefined
            ? {}
            : { coordinationYaml: o.coordinationYaml }),
        }),
      )
      this.lbs.push(lb)
    }
    const since = 0
    await Promise.all(
      this.lbs.flatMap(lb =>
        this.replicas.map(r => lb.waitForChange(r.id, 'up', since, 30_000)),
      ),
    )
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
    for (const lb of this.lbs) {
      for (const port of ports) {
        const p = this.proxies.get(Topology.proxyName(lb.name, replica, port))
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

  /** Stops LBs, replicas and the proxies this topology created. */
  async close(): Promise<void> {
    await Promise.allSettled(this.lbs.map(lb => lb.stop()))
    await Promise.allSettled(this.replicas.map(r => r.kill()))
    await Promise.allSettled(
      this.created.map(async name => {
        const p = await this.toxiproxy.get(name)
        await p.remove()
      }),
    )
  }
}
