// The Dockerfile cannot be built here (no Docker engine); .ci/dockerfile-steps replays it
// outside Docker in CI. This test keeps the two in step and checks the image's contract.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { mergeGlibcTunables } from '../../src/proxy/malloc-tunables.js'

const dockerfile = readFileSync('Dockerfile', 'utf8')
const replay = readFileSync('.ci/dockerfile-steps', 'utf8')

void t.test(
  'the Dockerfile is multi-stage, non-root, with a health check and SIGTERM',
  t => {
    t.equal((dockerfile.match(/^FROM /gm) ?? []).length, 2, 'two stages')
    t.match(dockerfile, /^USER node$/m, 'runs as the unprivileged node user')
    t.match(
      dockerfile,
      /^HEALTHCHECK [^\n]*\\\n\s+CMD .*\/healthz/m,
      'HEALTHCHECK on /healthz',
    )
    t.match(dockerfile, /^STOPSIGNAL SIGTERM$/m)
    t.match(
      dockerfile,
      /^ENTRYPOINT \["node", "dist\/src\/cli\/main\.js"\]$/m,
      'node is PID 1 (exec form)',
    )
    t.match(
      dockerfile,
      /ip_unprivileged_port_start/,
      'documents binding 80/443 unprivileged',
    )
    t.end()
  },
)

void t.test(
  'the image sets the data-path malloc settings and gives node no file capability',
  t => {
    const env = /^ENV GLIBC_TUNABLES=(\S+)$/m.exec(dockerfile)?.[1]
    t.equal(env, mergeGlibcTunables(undefined), 'the values workers get')
    // A file capability puts glibc in secure mode: it would ignore GLIBC_TUNABLES.
    t.notMatch(dockerfile, /^\s*(RUN|&&).*setcap /m, 'no setcap on node')
    t.end()
  },
)

void t.test('every build-stage RUN command is replayed by .ci/dockerfile-steps', t => {
  const build = dockerfile.split(/^FROM /m)[1] ?? ''
  const commands = [...build.matchAll(/^RUN (.+)$/gm)].flatMap(m =>
    (m[1] ?? '').split(' && '),
  )
  t.ok(commands.length >= 3, `found ${commands.length} commands`)
  for (const command of commands)
    t.ok(replay.includes(command.trim()), `replayed: ${command}`)
  const copies = [...build.matchAll(/^COPY (.+) \S+$/gm)].flatMap(m =>
    (m[1] ?? '').split(' '),
  )
  for (const file of copies) t.ok(replay.includes(file), `copied in the replay: ${file}`)
  t.end()
})
