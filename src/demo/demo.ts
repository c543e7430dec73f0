// `npm run demo`: three local replicas with /health and a corral in front of them, on
// the embedded defaults (in-memory pool, no Redis). Prints what to try; Ctrl-C stops.
import { createServer } from 'node:net'
import { PinoPretty } from 'pino-pretty'
import { App } from '../app/app.js'
import { monotonicClock } from '../clock.js'
import { parseConfig } from '../config/load.js'
import { corralVersion } from '../cli/lb.js'
import { createLogger } from '../log.js'
import {
  chooseDataPath,
  type DataPathChoice,
  type DataPathSetting,
} from '../proxy/native-loader.js'
import { startReplica } from './replica.js'

async function freePort(preferred: number): Promise<number> {
  return new Promise(resolve => {
    const probe = createServer()
    probe.once('error', () => {
      resolve(0)
    })
    probe.listen(preferred, '127.0.0.1', () => {
      probe.close(() => {
        resolve(preferred)
      })
    })
  })
}

/**
 * The data path lines of the banner: which one runs, why, and how to get the other (the
 * same choice App made: the addon is loaded once per process).
 */
function describeDataPath(setting: DataPathSetting, choice: DataPathChoice): string {
  if (choice.path === 'native')
    return '  data path: native (epoll + splice relay thread); DEMO_DATA_PATH=js npm run demo runs the JS path'
  const how =
    setting === 'js'
      ? 'unset DEMO_DATA_PATH'
      : 'install python3, make and g++, run npm run build:native, restart the demo'
  return `  data path: JS (${choice.reason})\n  for the native path: ${how}`
}

async function main(): Promise<void> {
  const replicas = await Promise.all(
    ['replica-1', 'replica-2', 'replica-3'].map(id => startReplica(id)),
  )
  const lbPort = await freePort(Number(process.env.DEMO_PORT ?? 8080))
  const adminPort = await freePort(Number(process.env.DEMO_ADMIN_PORT ?? 9901))
  const yaml = `
listeners:
  - { name: http, bind: "127.0.0.1:${lbPort}" }
members:
${replicas.map(r => `  - { id: ${r.id}, address: 127.0.0.1, ports: { http: ${r.port} } }`).join('\n')}
health: { path: /health, interval: 1s, timeout: 500ms, rise: 2, fall: 2 }
balance: round-robin
admin: { bind: "127.0.0.1:${adminPort}" }
# DEMO_DATA_PATH=js|native pins the data path (docs/config.md, dataPath).
dataPath: ${process.env.DEMO_DATA_PATH ?? 'auto'}
# One process, so round-robin visibly takes turns (production default: one per core).
workers: 0
`
  const config = parseConfig(yaml)
  const log = createLogger(
    'info',
    PinoPretty({
      colorize: process.stdout.isTTY,
      translateTime: 'HH:MM:ss',
      ignore: 'pid,hostname',
      singleLine: true,
    }),
  )
  const app = new App(config, { log, clock: monotonicClock, version: corralVersion() })
  const addresses = await app.start()
  const lb = addresses.listeners[0]?.port ?? lbPort
  const admin = `http://127.0.0.1:${addresses.adminPort}`
  const r2 = replicas[1]?.port ?? 0
  process.stdout.write(`
corral demo is running: 3 replicas behind a load balancer on 127.0.0.1:${lb}
${describeDataPath(config.dataPath, chooseDataPath(config.dataPath))}

  Try:
    curl http://127.0.0.1:${lb}/                      # answered by replica-1, -2, -3 in turn
    curl ${admin}/api/v1/pool                          # pool state, last checks, connections
    open ${admin}/                                     # live status page
    curl -X POST http://127.0.0.1:${r2}/fail                # replica-2's /health → 503: out within ~2s
    curl -X POST http://127.0.0.1:${r2}/recover             # back after 2 good checks
    curl -X POST ${admin}/api/v1/members/replica-3/drain    # no new connections to replica-3
    curl -X POST ${admin}/api/v1/members/replica-3/enable
    curl -X PUT -H 'content-type: application/json' \\
         -d '{"address":"127.0.0.1","ports":{"http":${replicas[0]?.port ?? 0}}}' ${admin}/api/v1/members/replica-4
    curl -X DELETE ${admin}/api/v1/members/replica-4
    curl ${admin}/metrics | grep ^corral_pool

  Ctrl-C stops everything.

`)
  const stop = (): void => {
    void (async () => {
      await app.close()
      await Promise.all(replicas.map(r => r.kill()))
      process.stdout.write('demo stopped\n')
    })()
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

await main()
