// examples/swarm/: the stack file is a compose v3 file with `deploy:` that Docker accepts
// (`docker stack config`, when the CLI is installed), and the corral config it mounts
// parses and follows tasks.<a service of the stack> on the port that service listens on.
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { parse } from 'yaml'
import { parseConfig } from '../../src/config/load.js'

const dir = fileURLToPath(new URL('../../../examples/swarm/', import.meta.url))

interface Stack {
  version: string
  services: Record<
    string,
    {
      deploy?: Record<string, unknown>
      configs?: { source: string; target: string }[]
      command?: string[]
      ports?: { target: number }[]
    }
  >
  configs: Record<string, { file: string }>
}

const stack = parse(readFileSync(`${dir}stack.yaml`, 'utf8')) as Stack

void t.test('the stack is compose v3 with deploy on every service', t => {
  t.match(stack.version, /^3\.\d+$/)
  for (const [name, s] of Object.entries(stack.services))
    t.ok(s.deploy, `${name}: deploy`)
  t.end()
})

void t.test(
  'the corral config it mounts parses and follows a service of the stack',
  t => {
    const corral = stack.services.corral
    const mount = corral?.configs?.[0]
    const file = mount === undefined ? undefined : stack.configs[mount.source]?.file
    t.equal(file, './corral.yaml')
    t.strictSame(corral?.command?.slice(-1), [mount?.target], 'lb --config <the mount>')
    const config = parseConfig(readFileSync(`${dir}corral.yaml`, 'utf8'), {
      env: { CORRAL_ADMIN_TOKEN: 'example' },
    })
    const [d] = config.discovery
    t.equal(d?.dns, 'tasks.registry')
    t.ok(stack.services.registry, 'tasks.registry names a service of the stack')
    t.strictSame(d?.servers, ['127.0.0.11'], "Swarm's embedded DNS")
    t.equal(d?.ports.registry, 5000, 'registry:2 listens on 5000')
    const published = (corral?.ports ?? []).map(p => p.target).sort()
    t.strictSame(
      published,
      [config.admin.port, ...config.listeners.map(l => l.port)].sort(),
      'the stack publishes every listener and the admin API',
    )
    t.end()
  },
)

const docker = await promisify(execFile)('docker', ['--version']).then(
  () => true,
  () => false,
)
void t.test(
  'docker stack config accepts it',
  { skip: docker ? false : 'the docker CLI is not installed' },
  async t => {
    const { stdout } = await promisify(execFile)(
      'docker',
      ['stack', 'config', '-c', `${dir}stack.yaml`],
      { timeout: 20_000, env: { ...process.env, DOCKER_HOST: 'unix:///nonexistent' } },
    )
    t.match(stdout, /tasks|registry/)
  },
)
