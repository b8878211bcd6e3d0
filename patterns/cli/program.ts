import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import type { Logger } from "pino";
import type { Observable } from "rxjs";
import { MajordomoBroker, MajordomoClient, MajordomoWorker, type RequestHandler } from "../majordomo";
import { ParanoidPirateQueue, ParanoidPirateWorker, type PirateHandler } from "../pirate";
import { PrivateerError } from "../../src";
import { PatternMetrics, serveMetrics, type MetricsServer } from "../metrics";
import { applyConfig, readConfig } from "./config";
import { ExactlyOnceError } from "../exactly-once";
import { runHaDemo, type HaDemoSettings } from "./ha-demo/main";
import { cliLogger, exitOnSignal, integer, loadHandler, LOG_LEVELS, type LogFormat, type LogLevel } from "./runtime";

/** What every command takes. */
interface CommonOptions {
  logLevel: LogLevel;
  logFormat: LogFormat;
  config?: string;
}

/** How a command ends: the process exit code, or "running" for the long-lived ones (they exit on a signal). */
type Outcome = number | "running";

/** Where the program writes results; tests and embedders may swap them. */
export interface ProgramIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const ms = (value: string) => {
  try {
    return integer(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
};

/** An integer option with a floor, e.g. `--workers` (at least 2). */
function atLeast(min: number): (value: string) => number {
  return (value) => {
    const n = ms(value);
    if (n < min) throw new InvalidArgumentError(`must be at least ${min}`);
    return n;
  };
}

/** An option with its `PRIVATEER_…` environment variable. */
function option(flags: string, description: string, env: string): Option {
  return new Option(flags, description).env(`PRIVATEER_${env}`);
}

/** The options every command has: logging and the config file. */
function common(command: Command): Command {
  return command
    .addOption(option("--log-level <level>", "log level", "LOG_LEVEL").choices(LOG_LEVELS).default("info"))
    .addOption(
      option("--log-format <format>", "log lines as JSON, readable, or readable on a terminal", "LOG_FORMAT")
        .choices(["json", "pretty", "auto"])
        .default("auto"),
    )
    .addOption(option("--config <file>", "JSON config file (see docs/cli.md)", "CONFIG"));
}

function shutdownOption(): Option {
  return option("--shutdown-timeout <ms>", "on SIGTERM, how long in-flight work may take before it is handed back", "SHUTDOWN_TIMEOUT")
    .argParser(ms)
    .default(5000);
}

function metricsOption(): Option {
  return option("--metrics <host:port>", "serve Prometheus metrics on http://host:port/metrics (loopback only)", "METRICS");
}

/**
 * Builds the `privateer` program. Commands that start a service resolve
 * "running" once it is up; the others resolve with their exit code.
 */
export function buildProgram(io: ProgramIo, done: (outcome: Outcome) => void): Command {
  const program = new Command("privateer")
    .description("ZeroMQ reliability patterns from the command line: Majordomo brokers and workers, Paranoid Pirate queues")
    .version(version(), "-V, --version")
    .showHelpAfterError()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride();

  // Each command reads the config file before its action, once flags and environment are in.
  program.hook("preAction", (_program, action) => {
    const config = (action.opts() as CommonOptions).config;
    if (config !== undefined) applyConfig(action, readConfig(config));
  });

  common(program.command("broker"))
    .description("run a Majordomo broker (MDP 0.1 and 0.2, with MMI)")
    .addOption(option("--bind <endpoint...>", "endpoints to bind", "BIND").default(["tcp://127.0.0.1:5555"]))
    .addOption(option("--heartbeat-interval <ms>", "ms between heartbeats to workers", "HEARTBEAT_INTERVAL").argParser(ms).default(2500))
    .addOption(option("--heartbeat-liveness <n>", "missed heartbeats before a worker is dropped", "HEARTBEAT_LIVENESS").argParser(ms).default(3))
    .addOption(option("--request-timeout <ms>", "ms a request may wait for a worker; 0 = forever", "REQUEST_TIMEOUT").argParser(ms).default(0))
    .addOption(option("--max-queued <n>", "requests queued per service before new ones are refused; 0 = no limit", "MAX_QUEUED").argParser(ms).default(0))
    .addOption(option("--pair <role>", "run as one broker of a Binary Star pair", "PAIR").choices(["primary", "backup"]))
    .addOption(option("--state-bind <endpoint>", "with --pair: where this broker publishes its state", "STATE_BIND"))
    .addOption(option("--state-connect <endpoint>", "with --pair: the other broker's --state-bind", "STATE_CONNECT"))
    .addOption(option("--pair-heartbeat <ms>", "with --pair: ms between state messages", "PAIR_HEARTBEAT").argParser(ms).default(1000))
    .addOption(metricsOption())
    .addOption(shutdownOption())
    .action(async (o: CommonOptions & BrokerFlags) => done(await broker(o)));

  common(program.command("queue"))
    .description("run a Paranoid Pirate queue (RFC 6/PPP)")
    .addOption(option("--frontend <endpoint>", "where clients connect", "FRONTEND").default("tcp://127.0.0.1:5555"))
    .addOption(option("--backend <endpoint>", "where workers connect", "BACKEND").default("tcp://127.0.0.1:5556"))
    .addOption(option("--heartbeat-interval <ms>", "ms between heartbeats to workers", "HEARTBEAT_INTERVAL").argParser(ms).default(1000))
    .addOption(option("--liveness <n>", "missed heartbeats before a worker is dropped", "LIVENESS").argParser(ms).default(3))
    .addOption(option("--max-queued <n>", "requests held while no worker is idle; 0 = no limit", "MAX_QUEUED").argParser(ms).default(1000))
    .addOption(metricsOption())
    .addOption(shutdownOption())
    .action(async (o: CommonOptions & QueueFlags) => done(await queue(o)));

  common(program.command("worker"))
    .description("serve requests with a handler module (its default export, or `handler`)")
    // Required, but checked in the action: commander checks mandatory options before the config file is read.
    .addOption(option("--module <file>", "the handler module (required)", "MODULE"))
    .addOption(option("--service <name>", "the Majordomo service to register (required with --protocol mdp)", "SERVICE"))
    .addOption(option("--protocol <protocol>", "Majordomo worker, or Paranoid Pirate worker", "PROTOCOL").choices(["mdp", "ppp"]).default("mdp"))
    .addOption(
      option("--connect <endpoint...>", "the broker, both brokers of a pair (mdp), or the queue's backend (ppp)", "CONNECT").default([
        "tcp://127.0.0.1:5555",
      ]),
    )
    .addOption(option("--concurrency <n>", "requests handled at once (mdp)", "CONCURRENCY").argParser(ms).default(1))
    .addOption(option("--heartbeat-interval <ms>", "ms between heartbeats; must match the broker's or queue's", "HEARTBEAT_INTERVAL").argParser(ms))
    .addOption(shutdownOption())
    .action(async (o: CommonOptions & WorkerFlags) => done(await worker(o)));

  common(program.command("call"))
    .description("send one request to a Majordomo service and print the reply, one frame per line")
    .argument("<service>", "the service")
    .argument("[body...]", "the request's frames", [])
    .addOption(option("--broker <endpoint...>", "the broker, or both brokers of a pair", "BROKER").default(["tcp://127.0.0.1:5555"]))
    .addOption(option("--timeout <ms>", "ms to wait for the reply, per attempt", "TIMEOUT").argParser(ms).default(2500))
    .addOption(option("--retries <n>", "attempts after the first", "RETRIES").argParser(ms).default(2))
    .action(async (service: string, body: string[], o: CommonOptions & ClientFlags) => done(await call(service, body, o, io)));

  common(program.command("services"))
    .description("list the broker's services (MMI mmi.services)")
    .addOption(option("--broker <endpoint...>", "the broker, or both brokers of a pair", "BROKER").default(["tcp://127.0.0.1:5555"]))
    .addOption(option("--timeout <ms>", "ms to wait for the reply, per attempt", "TIMEOUT").argParser(ms).default(2500))
    .addOption(option("--retries <n>", "attempts after the first", "RETRIES").argParser(ms).default(2))
    .option("--json", "print the JSON the broker sent")
    .action(async (o: CommonOptions & ClientFlags & { json?: boolean }) => done(await services(o, io)));

  common(program.command("demo"))
    .description(
      "a Binary Star broker pair, workers with an exactly-once SQLite store and clients, each in its own process on 127.0.0.1, " +
        "under faults (kill -9, failover, SIGSTOP); exits 1 if a request was lost or executed twice",
    )
    .addOption(option("--duration <s>", "seconds of load (startup and the final drain not counted)", "DURATION").argParser(atLeast(1)).default(30))
    .addOption(option("--workers <n>", "worker processes (at least 2: one is killed while another serves)", "WORKERS").argParser(atLeast(2)).default(4))
    .addOption(option("--clients <n>", "clients, each keeping one request in flight", "CLIENTS").argParser(atLeast(1)).default(8))
    .addOption(option("--no-faults", "the same load without the faults", "NO_FAULTS"))
    .addOption(option("--no-dedup", "negative control: workers skip the exactly-once store, so faults make requests run twice", "NO_DEDUP"))
    .action(async (o: CommonOptions & DemoFlags) => done(await demo(o, io)));

  return program;
}

/** The package's version: the nearest package.json above this file that is Privateer's (source and build differ in depth). */
function version(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string; version?: string };
      if (manifest.name === "privateer" && manifest.version !== undefined) return manifest.version;
    } catch {
      // No manifest here: look further up.
    }
    if (dirname(dir) === dir) return "unknown";
  }
}

function logger(o: CommonOptions, level?: LogLevel): Logger {
  return cliLogger(level !== undefined && o.logLevel === "info" ? level : o.logLevel, o.logFormat);
}

interface BrokerFlags {
  bind: string[];
  pair?: "primary" | "backup";
  stateBind?: string;
  stateConnect?: string;
  pairHeartbeat: number;
  heartbeatInterval: number;
  heartbeatLiveness: number;
  requestTimeout: number;
  maxQueued: number;
  metrics?: string;
  shutdownTimeout: number;
}

async function startMetrics(address: string | undefined, log: Logger, attach: (metrics: PatternMetrics) => void) {
  if (address === undefined) return undefined;
  const metrics = new PatternMetrics();
  attach(metrics);
  const server = await serveMetrics(metrics.registry, address);
  log.info({ url: server.url }, "metrics served");
  return server;
}

/** The options a command runs with, logged at start so the precedence of flags, environment and file can be seen. */
function settings(o: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([key]) => key !== "config" && key !== "logFormat"));
}

/** Every event is logged at debug by the component itself; workers coming and going, and protocol errors, are worth an info line. */
function logWorkerEvents(events$: Observable<{ readonly type: string }>, log: Logger): void {
  events$.subscribe((event) => {
    if (event.type.startsWith("worker-") || event.type === "protocol-error") log.info(event, event.type);
  });
}

/** On SIGINT or SIGTERM: closes the component, then its metrics endpoint, within the shutdown timeout (and 2 s of slack). */
function closeOnSignal(log: Logger, shutdownTimeout: number, component: { close(): Promise<void> }, metrics: MetricsServer | undefined): void {
  exitOnSignal(log, shutdownTimeout + 2000, async () => {
    await component.close();
    await metrics?.close();
  });
}

async function broker(o: CommonOptions & BrokerFlags): Promise<Outcome> {
  const log = logger(o);
  log.info({ settings: settings(o) }, "broker starting");
  const instance = new MajordomoBroker({
    heartbeatInterval: o.heartbeatInterval,
    heartbeatLiveness: o.heartbeatLiveness,
    requestTimeout: o.requestTimeout,
    maxQueuedRequests: o.maxQueued,
    logger: log,
    ...(o.pair === undefined ? {} : { pair: pairOptions(o) }),
  });
  instance.pair?.events$.subscribe((event) => {
    if (event.type !== "vote" && event.type !== "peer-state") log.info(event, `pair ${event.type}`);
  });
  logWorkerEvents(instance.events$, log);
  const metrics: MetricsServer | undefined = await startMetrics(o.metrics, log, (m) => {
    m.observeBroker(instance);
    if (instance.pair) m.observeBinaryStar(instance.pair);
  });
  for (const endpoint of o.bind) {
    await instance.bind(endpoint);
    log.info({ endpoint: instance.lastEndpoint }, "broker bound");
  }
  // Closing sends DISCONNECT to every worker, so they leave (or move to the other broker of a pair) at once.
  closeOnSignal(log, o.shutdownTimeout, instance, metrics);
  return "running";
}

function pairOptions(o: BrokerFlags) {
  if (o.stateBind === undefined || o.stateConnect === undefined) {
    throw new PrivateerError("EINVAL", "--pair needs --state-bind and --state-connect");
  }
  return { role: o.pair!, statePublisher: o.stateBind, stateSubscriber: o.stateConnect, heartbeat: Math.max(1, o.pairHeartbeat) };
}

interface QueueFlags {
  frontend: string;
  backend: string;
  heartbeatInterval: number;
  liveness: number;
  maxQueued: number;
  metrics?: string;
  shutdownTimeout: number;
}

async function queue(o: CommonOptions & QueueFlags): Promise<Outcome> {
  const log = logger(o);
  log.info({ settings: settings(o) }, "queue starting");
  const instance = new ParanoidPirateQueue({
    frontend: o.frontend,
    backend: o.backend,
    heartbeatInterval: o.heartbeatInterval,
    liveness: o.liveness,
    maxQueuedRequests: o.maxQueued,
    logger: log,
  });
  logWorkerEvents(instance.events$, log);
  const metrics = await startMetrics(o.metrics, log, (m) => m.observeQueue(instance));
  await instance.start();
  log.info({ frontend: instance.frontendEndpoint, backend: instance.backendEndpoint }, "queue bound");
  // PPP has no DISCONNECT: workers notice the silence and reconnect; clients retry.
  closeOnSignal(log, o.shutdownTimeout, instance, metrics);
  return "running";
}

interface WorkerFlags {
  module?: string;
  service?: string;
  protocol: "mdp" | "ppp";
  connect: string[];
  concurrency: number;
  heartbeatInterval?: number;
  shutdownTimeout: number;
}

async function worker(o: CommonOptions & WorkerFlags): Promise<Outcome> {
  if (o.module === undefined) throw new PrivateerError("EINVAL", "--module is required (flag, PRIVATEER_MODULE or the config file)");
  const log = logger(o);
  log.info({ settings: settings(o) }, "worker starting");
  if (o.protocol === "ppp") return pppWorker({ ...o, module: o.module }, log);
  if (o.service === undefined) throw new PrivateerError("EINVAL", "--service is required with --protocol mdp");
  const handler = loadHandler<RequestHandler>(o.module);
  const instance = new MajordomoWorker({
    broker: o.connect,
    service: o.service,
    concurrency: Math.max(1, o.concurrency),
    ...(o.heartbeatInterval === undefined ? {} : { heartbeatInterval: o.heartbeatInterval }),
    logger: log,
  });
  instance.events$.subscribe((event) => {
    if (event.type === "handler-error") log.warn(event, event.type);
    else if (event.type !== "request" && event.type !== "reply") log.info(event, event.type);
  });
  instance.serve(handler);
  log.info({ broker: o.connect, service: o.service }, "worker serving");
  // Finish the request in progress and send its reply, then DISCONNECT; past the timeout the broker gets it back.
  exitOnSignal(log, o.shutdownTimeout + 2000, () => instance.drain(Math.max(1, o.shutdownTimeout)));
  return "running";
}

function pppWorker(o: CommonOptions & WorkerFlags & { module: string }, log: Logger): Outcome {
  const handler = loadHandler<PirateHandler>(o.module);
  if (o.connect.length !== 1) throw new PrivateerError("EINVAL", "a Paranoid Pirate worker connects to one queue");
  const instance = new ParanoidPirateWorker(o.connect[0]!, {
    ...(o.heartbeatInterval === undefined ? {} : { heartbeatInterval: o.heartbeatInterval }),
    logger: log,
  });
  instance.events$.subscribe((event) => {
    if (event.type === "handler-error") log.warn(event, event.type);
    else if (event.type !== "request" && event.type !== "reply-sent") log.info(event, event.type);
  });
  instance.serve(handler);
  log.info({ queue: o.connect }, "worker serving");
  // PPP has no DISCONNECT: finish the request in hand, flush its reply, then close.
  exitOnSignal(log, o.shutdownTimeout + 2000, () => instance.drain(Math.max(1, o.shutdownTimeout)));
  return "running";
}

interface ClientFlags {
  broker: string[];
  timeout: number;
  retries: number;
}

async function call(service: string, body: string[], o: CommonOptions & ClientFlags, io: ProgramIo): Promise<Outcome> {
  const client = new MajordomoClient({ broker: o.broker, timeout: Math.max(1, o.timeout), retries: o.retries, logger: logger(o, "warn") });
  try {
    const reply = await client.call(service, body.length === 0 ? [""] : body);
    for (const frame of reply) io.stdout(`${frame.toString()}\n`);
    return 0;
  } catch (error) {
    io.stderr(`privateer call: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await client.close();
  }
}

async function services(o: CommonOptions & ClientFlags & { json?: boolean }, io: ProgramIo): Promise<Outcome> {
  const client = new MajordomoClient({ broker: o.broker, timeout: Math.max(1, o.timeout), retries: o.retries, logger: logger(o, "warn") });
  try {
    const [frame] = await client.call("mmi.services", "");
    const text = frame?.toString() ?? "[]";
    if (o.json) {
      io.stdout(`${text}\n`);
      return 0;
    }
    const list = JSON.parse(text) as Array<{ name: string; workers: number; idle: number; queued: number }>;
    const rows = [["SERVICE", "WORKERS", "IDLE", "QUEUED"], ...list.map((s) => [s.name, `${s.workers}`, `${s.idle}`, `${s.queued}`])];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
    for (const row of rows) io.stdout(`${row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd()}\n`);
    return 0;
  } catch (error) {
    io.stderr(`privateer services: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await client.close();
  }
}

interface DemoFlags {
  duration: number;
  workers: number;
  clients: number;
  faults: boolean;
  dedup: boolean;
}

async function demo(o: CommonOptions & DemoFlags, io: ProgramIo): Promise<Outcome> {
  const settings: HaDemoSettings = { duration: o.duration, workers: o.workers, clients: o.clients, faults: o.faults, dedup: o.dedup };
  try {
    return await runHaDemo(settings);
  } catch (error) {
    // better-sqlite3 is an optional peer dependency; its message names the install command.
    if (error instanceof ExactlyOnceError && error.reason === "driver-missing") {
      io.stderr(`privateer demo: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}
