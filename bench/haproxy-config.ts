// haproxy.cfg for the HAProxy baseline. Pure: spec in, config text out.

import type { ProxySpec } from './proxy-spec.js'

/**
 * One thread, `mode tcp`, roundrobin, HTTP checks of /health every 1 s (rise 1, fall 3,
 * as corral's config in the same run). Timeouts are long so idle connections held by the
 * idle-memory workload are not cut.
 */
export function haproxyConfig(spec: ProxySpec): string {
  const maxconn = Math.max(spec.maxConnections, 1_000)
  const lines = [
    'global',
    '  nbthread 1',
    `  maxconn ${maxconn}`,
    '',
    'defaults',
    '  mode tcp',
    `  maxconn ${maxconn}`,
    '  timeout connect 5s',
    '  timeout client 10m',
    '  timeout server 10m',
    '  timeout check 500ms',
    '',
    'frontend fe',
    `  bind 127.0.0.1:${spec.listenPort}`,
    '  default_backend members',
    '',
    'backend members',
    '  balance roundrobin',
    '  option httpchk GET /health',
    '  default-server inter 1s rise 1 fall 3',
  ]
  const checkPort = spec.healthPort === 'member' ? '' : ` port ${spec.healthPort}`
  for (const m of spec.members) {
    lines.push(`  server ${m.id} 127.0.0.1:${m.port} check${checkPort}`)
  }
  return lines.join('\n') + '\n'
}
