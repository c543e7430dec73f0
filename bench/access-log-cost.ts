// Issue #22's bench: what the access log costs. Two corral instances (default workers,
// same data path) in front of one HTTP member, the access log off in one and on at full
// sampling (to a file, skipEmpty off) in the other, measured in the same run with wrk
// alternating between them: new connection per request, and keep-alive. Prints each
// round and the medians' ratio (target: on ≥ 0.9 × off).
//   npm run build && node dist/bench/access-log-cost.js [rounds=3] [seconds=5]
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseWrk } from './tools/wrk.js'

const here = fileURLToPath(new URL('.', import.meta.url))
const cli = join(here, '../src/cli/main.js')
const children: ChildProcess[] = []
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL')
})

/** Spawns `args`; resolves with the first stdout line `pick` returns a value for. */
function start<T>(args: string[], pick: (line: string) => T | undefined): Promise<T> {
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] })
  children.push(child)
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`${args.join(' ')}: not ready in 20 s`))
    }, 20_000)
    createInterface({ input: child.stdout }).on('line', line => {
      const got = pick(line)
      if (got !== undefined) {
        clearTimeout(timer)
        resolve(got)
      }
    })
  })
}

function json(line: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(line)
    return typeof v === 'object' && v !== null
      ? (v as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

async function corral(
  dir: string,
  name: string,
  member: number,
  log: string,
): Promise<number> {
  const config = join(dir, `${name}.yaml`)
  writeFileSync(
    config,
    `listeners: [{ name: http, bind: "127.0.0.1:0" }]
members: [{ id: m, address: 127.0.0.1, ports: { http: ${String(member)} } }]
health: { port: http, path: /health, interval: 1s, initialState: up }
admin: { bind: "127.0.0.1:0" }
${log}
dataPath: ${process.env.CORRAL_DATA_PATH ?? 'auto'}
`,
  )
  return start([cli, 'lb', '--config', config], line => {
    const l = json(line)
    const listeners = l?.msg === 'corral ready' ? l.listeners : undefined
    if (!Array.isArray(listeners)) return undefined
    const first: unknown = listeners[0]
    return typeof first === 'object' && first !== null && 'port' in first
      ? Number(first.port)
      : undefined
  })
}

function wrk(port: number, connections: number, seconds: number, close: boolean): number {
  const args = ['-t1', `-c${String(connections)}`, `-d${String(seconds)}s`, '--latency']
  if (close) args.push('-H', 'Connection: close')
  args.push(`http://127.0.0.1:${String(port)}/`)
  const out = spawnSyncText('wrk', args)
  return parseWrk(out).rps
}

function spawnSyncText(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000 })
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`)
  return r.stdout
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] ?? 0
}

const rounds = Number(process.argv[2] ?? 3)
const seconds = Number(process.argv[3] ?? 5)
const dir = mkdtempSync(join(tmpdir(), 'corral-access-log-bench-'))
const logPath = join(dir, 'access.log')
const [member] = await start(
  [join(here, 'backend-server.js'), JSON.stringify([{ kind: 'http' }])],
  line => {
    const l = json(line)
    return Array.isArray(l?.ports) ? (l.ports as number[]) : undefined
  },
)
if (member === undefined) throw new Error('no member port')
const off = await corral(dir, 'off', member, '')
const on = await corral(
  dir,
  'on',
  member,
  `accessLog: { enabled: true, destination: "${logPath}", sample: 1, skipEmpty: false }`,
)
for (const port of [off, on]) wrk(port, 8, 1, true) // warm-up
const results: Record<string, number[]> = {}
for (let round = 1; round <= rounds; round++) {
  for (const [workload, connections, close] of [
    ['new-connection', 16, true],
    ['keep-alive', 64, false],
  ] as const) {
    const order = round % 2 === 1 ? (['off', 'on'] as const) : (['on', 'off'] as const)
    for (const which of order) {
      const rps = wrk(which === 'off' ? off : on, connections, seconds, close)
      ;(results[`${workload} ${which}`] ??= []).push(rps)
      console.log(
        `round ${String(round)} ${workload} log ${which}: ${rps.toFixed(0)} req/s`,
      )
    }
  }
}
for (const workload of ['new-connection', 'keep-alive']) {
  const a = median(results[`${workload} off`] ?? [])
  const b = median(results[`${workload} on`] ?? [])
  console.log(
    `${workload}: off ${a.toFixed(0)}, on ${b.toFixed(0)} req/s (median of ${String(rounds)}): on/off ${(b / a).toFixed(3)}`,
  )
}
const lines = readFileSync(logPath, 'utf8').split('\n').length - 1
console.log(`access-log lines written: ${String(lines)}`)
process.exit(0)
