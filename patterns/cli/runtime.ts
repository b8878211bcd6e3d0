import { createRequire } from "node:module";
import { resolve } from "node:path";
import pino, { type DestinationStream, type Logger } from "pino";
import { PrivateerError } from "../../src";

/** Log levels `--log-level` accepts. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** How log lines are written: JSON lines, readable lines (pino-pretty), or readable only when stderr is a terminal. */
export type LogFormat = "json" | "pretty" | "auto";

/**
 * The command's logger, on stderr (stdout carries results: a reply, a
 * service list). JSON lines unless stderr is a terminal and the optional
 * pino-pretty is installed, or `format` asks otherwise. Writes are
 * synchronous, so the last lines before an exit are not lost.
 */
export function cliLogger(level: LogLevel, format: LogFormat = "auto"): Logger {
  const pretty = format === "pretty" || (format === "auto" && process.stderr.isTTY === true);
  const stream = pretty ? prettyStream() : undefined;
  return pino({ level, base: { pid: process.pid } }, stream ?? pino.destination({ fd: 2, sync: true }));
}

/** pino-pretty writing to stderr, if it is installed (it is an optional dependency). */
function prettyStream(): DestinationStream | undefined {
  try {
    const load = createRequire(__filename);
    const pretty = load("pino-pretty") as (options: Record<string, unknown>) => DestinationStream;
    return pretty({ destination: 2, sync: true, colorize: process.stderr.isTTY === true });
  } catch {
    return undefined;
  }
}

/**
 * Loads a user's handler module: its default export, or its export named
 * `handler`, must be a function. Relative paths are taken from the working
 * directory. CommonJS modules load everywhere; ES modules where Node's
 * require() takes them (Node 20.19 and later, no top-level await).
 */
export function loadHandler<T extends (...args: never[]) => unknown>(path: string): T {
  const file = resolve(process.cwd(), path);
  let loaded: unknown;
  try {
    loaded = createRequire(__filename)(file);
  } catch (error) {
    throw new PrivateerError("ENOENT", `cannot load handler module ${file}`, { cause: error });
  }
  const exports = loaded as { default?: unknown; handler?: unknown } | undefined;
  const candidate =
    typeof loaded === "function" ? loaded : typeof exports?.default === "function" ? exports.default : exports?.handler;
  if (typeof candidate !== "function") {
    throw new PrivateerError("EINVAL", `handler module ${file} exports no function (as default, module.exports or "handler")`);
  }
  return candidate as T;
}

/**
 * Stops the command on SIGTERM or SIGINT: logs, runs `stop` (which stops
 * taking new work and finishes or hands back what is in flight), and exits
 * 0 once it is done. If `stop` fails, or has not finished `hardLimit` ms
 * after the signal, the process exits 1. A second signal exits 1 at once.
 */
export function exitOnSignal(logger: Logger, hardLimit: number, stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, "shutting down");
    const hard = setTimeout(() => {
      logger.error({ limit: hardLimit }, "shutdown did not finish in time");
      process.exit(1);
    }, hardLimit);
    stop().then(
      () => {
        clearTimeout(hard);
        logger.info("stopped");
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}

/** Parses a non-negative integer option (ms, counts). */
export function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new PrivateerError("EINVAL", `expected a non-negative integer, got "${value}"`);
  return n;
}
