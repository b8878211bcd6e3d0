#!/usr/bin/env node
/**
 * The `privateer` command (the package's `bin`): see docs/cli.md.
 * Long-running commands (broker, queue, worker) keep the process alive and
 * exit on SIGTERM or SIGINT; the others exit with their status.
 */
import { CommanderError } from "commander";
import { buildProgram } from "./program";

const io = {
  stdout: (text: string) => void process.stdout.write(text),
  stderr: (text: string) => void process.stderr.write(text),
};

const program = buildProgram(io, (outcome) => {
  if (outcome !== "running") process.exitCode = outcome;
});

program.parseAsync(process.argv).catch((error: unknown) => {
  // --help and --version end through here with code 0; a usage error was already printed by commander.
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode;
    return;
  }
  io.stderr(`privateer: ${(error as Error).message}\n`);
  process.exitCode = 1;
  // A service that failed to start may hold sockets open: do not wait for them.
  process.exit();
});
