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

/** The build stage's apt-get lines: the replay runs where these are installed already. */
const isPackageCommand = (command: string): boolean =>
  /^(apt-get |rm -rf \/var\/lib\/apt\/lists)/.test(command.trim())

void t.test('every build-stage RUN command is replayed by .ci/dockerfile-steps', t => {
  const build = dockerfile.split(/^FROM /m)[1] ?? ''
  const commands = [...build.matchAll(/^RUN (.+)$/gm)].flatMap(m =>
    (m[1] ?? '').split(' && '),
  )
  t.ok(commands.length >= 3, `found ${commands.length} commands`)
  for (const command of commands.filter(c => !isPackageCommand(c)))
    t.ok(replay.includes(command.trim()), `replayed: ${command}`)
  // Each package the stage installs is a tool the replay checks for instead.
  const install = commands.find(c => c.trim().startsWith('apt-get install')) ?? ''
  const packages = install
    .trim()
    .split(/\s+/)
    .slice(2)
    .filter(word => !word.startsWith('-'))
  t.strictSame(packages, ['python3', 'make', 'g++'], 'the native toolchain')
  const checked = /^for tool in (.+); do$/m.exec(replay)?.[1]?.split(' ') ?? []
  t.strictSame(checked, packages, 'the replay checks each installed tool is present')
  const copies = [...build.matchAll(/^COPY (.+) \S+$/gm)].flatMap(m =>
    (m[1] ?? '').split(' '),
  )
  for (const file of copies) t.ok(replay.includes(file), `copied in the replay: ${file}`)
  t.end()
})

void t.test(
  'the build stage compiles native/ strictly and the runtime stage runs it',
  t => {
    const [, build = '', runtime = ''] = dockerfile.split(/^FROM /m)
    t.match(build, /^RUN npm ci --ignore-scripts /m, 'npm ci before the native sources')
    t.match(build, /node scripts\/build-native\.mjs --strict/, 'a failed build fails')
    t.notMatch(runtime, /apt-get|python3|g\+\+/, 'no compiler in the runtime image')
    // src/proxy/native-loader.ts looks for the addon at ../../../native/build/Release
    // from dist/src/proxy (the image's WORKDIR is /app).
    const loader = readFileSync('src/proxy/native-loader.ts', 'utf8')
    t.match(loader, /'\.\.\/\.\.\/\.\.\/native\/build\/Release\/corral_native\.node'/)
    t.match(
      runtime,
      /^COPY --from=build \S+\/corral_native\.node \.\/native\/build\/Release\/corral_native\.node$/m,
      'the addon where the loader looks',
    )
    t.match(
      replay,
      /"\$app\/native\/build\/Release\/corral_native\.node"/,
      'the replay puts it in the same place',
    )
    t.match(replay, /summary\.dataPath/, 'the replay checks corral reports native')
    t.end()
  },
)
