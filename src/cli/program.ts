import { Command, InvalidArgumentError, Option } from 'commander'
import { LOG_LEVELS, type LogLevel } from '../log.js'
import { checkConfig, type CommandIo } from './check-config.js'
import { corralVersion, runLb } from './lb.js'
import { runSidecar } from './sidecar.js'

const DEFAULT_CONFIG = 'corral.yaml'

function logLevel(value: string): LogLevel {
  const level = LOG_LEVELS.find(l => l === value)
  if (level === undefined)
    throw new InvalidArgumentError(`expected one of ${LOG_LEVELS.join(', ')}`)
  return level
}

/** Runs the corral CLI with `argv` (without node and script); resolves the exit code. */
export async function runCli(argv: readonly string[], io?: CommandIo): Promise<number> {
  const out: CommandIo = io ?? {
    stdout: text => process.stdout.write(text),
    stderr: text => process.stderr.write(text),
  }
  let exitCode = 0
  const program = new Command()
    .name('corral')
    .description('Health-aware layer-4 (TCP) load balancer for replicated services.')
    .version(corralVersion())
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: out.stdout, writeErr: out.stderr })

  program
    .command('lb')
    .description(
      'Run the load balancer: listeners, health checks, admin API. SIGHUP reloads, SIGTERM drains.',
    )
    .option('-c, --config <file>', 'YAML config file', DEFAULT_CONFIG)
    .addOption(
      new Option('--log-level <level>', `log level (${LOG_LEVELS.join(', ')})`)
        .default('info')
        .argParser(logLevel),
    )
    .addOption(
      new Option('--log-format <format>', 'log output')
        .choices(['json', 'pretty'])
        .default('json'),
    )
    .action(
      async (opts: {
        config: string
        logLevel: LogLevel
        logFormat: 'json' | 'pretty'
      }) => {
        exitCode = await runLb(opts, out)
      },
    )

  program
    .command('sidecar')
    .description(
      'Run beside one replica: check it, register it in the shared pool, drain it on SIGTERM.',
    )
    .option('-c, --config <file>', 'sidecar YAML config file')
    .option(
      '--set <key=value>',
      'override a config key, e.g. --set member.address=10.0.0.11 (repeatable)',
      (value: string, previous: string[]) => [...previous, value],
      [],
    )
    .addOption(
      new Option('--log-level <level>', `log level (${LOG_LEVELS.join(', ')})`)
        .default('info')
        .argParser(logLevel),
    )
    .action(async (opts: { config?: string; set: string[]; logLevel: LogLevel }) => {
      exitCode = await runSidecar(
        {
          ...(opts.config !== undefined ? { config: opts.config } : {}),
          set: opts.set,
          logLevel: opts.logLevel,
        },
        out,
      )
    })

  program
    .command('check-config')
    .description(
      'Validate a config file and print it resolved (exit 0), or print every error (exit 1).',
    )
    .option('-c, --config <file>', 'YAML config file', DEFAULT_CONFIG)
    .action((opts: { config: string }) => {
      exitCode = checkConfig(opts.config, out)
    })

  try {
    await program.parseAsync([...argv], { from: 'user' })
  } catch (err) {
    if (err instanceof Error && 'exitCode' in err && typeof err.exitCode === 'number') {
      // commander already printed help, the version or the usage error.
      return err.exitCode
    }
    throw err
  }
  return exitCode
}
