#!/usr/bin/env node
// The corral executable: parse argv, run a command, map errors to exit codes.
import { runCli } from './program.js'

process.exitCode = await runCli(process.argv.slice(2))
