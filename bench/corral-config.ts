// corral's YAML config for a workload (the CLI contract of issue #5). Pure.

import { stringify } from 'yaml'
import type { ProxySpec } from './proxy-spec.js'

/** Extra settings beyond the proxy spec. */
export interface CorralOptions {
  readonly adminPort: number
  readonly workers: number
  /** Data path: "corral" systems pin "js" (the default would pick native where built). */
  readonly dataPath: 'js' | 'native'
  /**
   * The access log's file: on at full sampling, empty connections included (every
   * connection pays for its record); absent = off (the default).
   */
  readonly accessLog?: string
}

/** The listener name members' ports refer to. */
export const LISTENER = 'tcp'

/**
 * The config object: one listener, members on 127.0.0.1, HTTP checks of /health every
 * 1 s (rise 1, fall 3, up before the first probe, as HAProxy), round-robin.
 */
export function corralConfig(
  spec: ProxySpec,
  options: CorralOptions,
): Record<string, unknown> {
  return {
    listeners: [{ name: LISTENER, bind: `127.0.0.1:${spec.listenPort}` }],
    members: spec.members.map(m => ({
      id: m.id,
      address: '127.0.0.1',
      ports: { [LISTENER]: m.port },
    })),
    health: {
      // Omitted = probe each member on its own listener port.
      ...(spec.healthPort === 'member' ? {} : { port: spec.healthPort }),
      path: '/health',
      interval: '1s',
      timeout: '500ms',
      rise: 1,
      fall: 3,
      initialState: 'up',
    },
    balance: 'round-robin',
    limits: { maxConnections: Math.max(spec.maxConnections, 10_000) },
    // Short drain on SIGTERM: the harness stops corral after every measurement.
    timeouts: { shutdown: '1s' },
    admin: { bind: `127.0.0.1:${options.adminPort}` },
    workers: options.workers,
    dataPath: options.dataPath,
    ...(options.accessLog === undefined
      ? {}
      : {
          accessLog: {
            enabled: true,
            destination: options.accessLog,
            sample: 1,
            skipEmpty: false,
          },
        }),
  }
}

/** The config as YAML text. */
export function corralConfigYaml(spec: ProxySpec, options: CorralOptions): string {
  return stringify(corralConfig(spec, options))
}
