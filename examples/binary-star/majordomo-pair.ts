/**
 * Majordomo on Binary Star, in one command: a pair of brokers, a pool of
 * three workers and a client, each in its own process on free loopback
 * ports. After a few replies the active broker is killed (SIGKILL): the
 * client's next retry makes the backup active, the workers move to it, and
 * the requests go on. Then the dead broker is restarted (it comes back
 * passive) and the process stops. Every line is printed as it happens.
 *
 *   node dist/examples/binary-star/majordomo-pair.js [--heartbeat 250]
 *
 * The same file is each process: `broker primary|backup`, `workers`,
 * `client` (the first argument picks the part; the orchestrator passes the
 * endpoints). The pair's heartbeat is --heartbeat; the client's timeout is
 * two pair windows, the MDP heartbeat and the workers' reconnect interval
 * are the pair's heartbeat.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import * as readline from "node:readline";
import { MajordomoBroker, MajordomoClient, MajordomoWorker, type BrokerEvent, type BinaryStarEvent } from "privateer";

function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : undefined;
}

const heartbeat = Number(option("heartbeat") ?? "250") || 250;
const window = 2 * heartbeat;

function say(line: string): void {
  process.stdout.write(`${new Date().toISOString().slice(11, 23)} ${line}\n`);
}

// ---- broker -----------------------------------------------------------------

function describeBroker(event: BrokerEvent): string | undefined {
  switch (event.type) {
    case "worker-ready":
      return `worker ${event.worker} ready for "${event.service}"`;
    case "worker-disconnected":
      return event.reason === "broker-passive" || event.reason === "broker-fenced" ? `turned worker ${event.worker} away (${event.reason})` : undefined;
    case "request-dropped":
      return `dropped request ${event.trace} (${event.reason}): its client retries on the other broker`;
    default:
      return undefined; // one line per request would drown the failover
  }
}

function describePair(event: BinaryStarEvent): string | undefined {
  switch (event.type) {
    case "state-changed":
      return `pair: ${event.from} → ${event.to} (${event.cause}, term ${event.term})`;
    case "peer-dead":
      return `pair: peer silent for ${event.silentMs} ms`;
    case "split-brain":
      return `pair: SPLIT BRAIN ${event.kind}: ${event.resolution}`;
    case "stalled":
      return `pair: stalled for ${event.gapMs} ms, fenced`;
    default:
      return undefined;
  }
}

async function broker(role: "primary" | "backup"): Promise<void> {
  const [frontend, statePublisher, stateSubscriber] = [option("frontend")!, option("pub")!, option("sub")!];
  const broker = new MajordomoBroker({ heartbeatInterval: heartbeat, pair: { role, statePublisher, stateSubscriber, heartbeat } });
  const print = (line: string | undefined) => line && say(`[${role} broker] ${line}`);
  broker.events$.subscribe((event) => print(describeBroker(event)));
  broker.pair!.events$.subscribe((event) => print(describePair(event)));
  await broker.bind(frontend);
  print(`serving on ${frontend} when active`);
  process.once("SIGTERM", () => void broker.close().then(() => process.exit(0)));
}

// ---- workers and client -------------------------------------------------------

const brokers = (): string[] => [option("primary")!, option("backup")!];
const brokerName = (endpoint: string | undefined): string => (endpoint === brokers()[0] ? "primary" : "backup");

function workers(): void {
  const pool = [1, 2, 3].map((n) => {
    const worker = new MajordomoWorker({ broker: brokers(), service: "echo", heartbeatInterval: heartbeat, reconnectInterval: heartbeat });
    worker.events$.subscribe((event) => {
      if (event.type === "ready") say(`[worker ${n}] READY to the ${brokerName(event.broker)} broker`);
      else if (event.type === "disconnect-received") say(`[worker ${n}] DISCONNECT: moving on`);
      else if (event.type === "broker-lost") say(`[worker ${n}] broker lost: moving on`);
    });
    worker.serve(({ body }) => [...body.map(String), `worker ${n}`]);
    return worker;
  });
  process.once("SIGTERM", () => void Promise.all(pool.map((w) => w.close())).then(() => process.exit(0)));
}

async function client(): Promise<void> {
  const endpoints = brokers();
  const client = new MajordomoClient({ broker: endpoints, timeout: 2 * window, retries: 5 });
  // Socket n goes to endpoint n-1 in turn (the client's documented rotation).
  let socket = 1;
  client.events$.subscribe((event) => {
    if (event.type === "request-sent") socket = event.socket;
    else if (event.type === "timeout") say(`[client] request ${event.request}: no reply within ${2 * window} ms`);
    else if (event.type === "retry") say(`[client] request ${event.request}: retry ${event.attempt - 1} goes to the ${brokerName(endpoints[socket % endpoints.length])} broker`);
  });
  for (let n = 1; ; n++) {
    const sentAt = Date.now();
    try {
      const reply = await client.call("echo", `request ${n}`);
      const via = brokerName(endpoints[(socket - 1) % endpoints.length]);
      say(`[client] ${reply.map(String).join(" / ")}: answered via the ${via} broker in ${Date.now() - sentAt} ms`);
    } catch (error) {
      say(`[client] request ${n} failed: ${(error as Error).message}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

// ---- orchestrator -------------------------------------------------------------

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

interface Proc {
  readonly child: ChildProcess;
  /** Resolves at the next line (from now on) that contains `text`. */
  waitFor(text: string): Promise<void>;
}

function start(args: string[]): Proc {
  const child = spawn(process.execPath, [__filename, ...args, "--heartbeat", String(heartbeat)], { stdio: ["ignore", "pipe", "inherit"] });
  const waiters: Array<{ text: string; resolve(): void }> = [];
  readline.createInterface({ input: child.stdout! }).on("line", (line) => {
    process.stdout.write(`${line}\n`);
    for (const waiter of [...waiters]) {
      if (line.includes(waiter.text)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  });
  return { child, waitFor: (text) => new Promise((resolve) => waiters.push({ text, resolve })) };
}

async function orchestrate(): Promise<void> {
  const [pf, pp, bf, bp] = (await Promise.all([freePort(), freePort(), freePort(), freePort()])).map((p) => `tcp://127.0.0.1:${p}`);
  const primaryArgs = ["broker", "primary", "--frontend", pf!, "--pub", pp!, "--sub", bp!];
  const backup = start(["broker", "backup", "--frontend", bf!, "--pub", bp!, "--sub", pp!]);
  let primary = start(primaryArgs);
  await Promise.all([primary.waitFor("primary → active"), backup.waitFor("backup → passive")]);
  const endpoints = ["--primary", pf!, "--backup", bf!];
  const pool = start(["workers", ...endpoints]);
  const client = start(["client", ...endpoints]);
  await client.waitFor("request 4 / worker");
  say(`---- killing the active (primary) broker with SIGKILL ----`);
  const killedAt = Date.now();
  primary.child.kill("SIGKILL");
  await client.waitFor("via the backup broker");
  say(`---- the backup serves: first reply through it ${Date.now() - killedAt} ms after the kill ----`);
  await client.waitFor("via the backup broker");
  say(`---- restarting the primary broker: it must come back passive ----`);
  primary = start(primaryArgs);
  await primary.waitFor("primary → passive");
  await client.waitFor("via the backup broker");
  await client.waitFor("via the backup broker");
  for (const proc of [client, pool, primary, backup]) proc.child.kill("SIGTERM");
}

const part = process.argv[2];
if (part === "broker") void broker(process.argv[3] === "backup" ? "backup" : "primary");
else if (part === "workers") workers();
else if (part === "client") void client();
else void orchestrate();
