/**
 * Quick measurement of the Majordomo broker's CPU cost per request, outside
 * the bench harness (which needs the whole bench build): one broker process,
 * one process of echo workers, one raw DEALER client keeping requests in
 * flight, and the broker's user + system CPU time read from /proc over a
 * window, divided by the replies the client counted in that window. CPU time
 * rather than wall rate, since the machine's cores are shared.
 *
 *   node <build>/bench/tools/broker-cpu.js [--broker privateer|pyzmq] [--workers 4] [--inflight 100]
 *        [--size 16] [--version 0.2] [--warmup 1500] [--window 4000] [--rounds 3] [--cpu-prof dir]
 *   node <build>/bench/tools/broker-cpu.js queue [--n 100000]     heap per queued request
 *
 * Prints one line per round and the medians.
 */
import { fork, spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";

type Args = Record<string, string>;

function parseArgs(argv: readonly string[]): { command: string; args: Args } {
  const args: Args = {};
  let command = "run";
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg.startsWith("--")) args[arg.slice(2)] = argv[++i] ?? "";
    else command = arg;
  }
  return { command, args };
}

const num = (args: Args, key: string, fallback: number): number => (args[key] === undefined ? fallback : Number(args[key]));
const SERVICE = "echo";
/** The guide's broker on pyzmq, the baseline; run from the repository root. */
const PY_BROKER = resolve(process.cwd(), "test", "patterns", "peers", "mdp_broker.py");

/** utime and stime of a process, in µs (from /proc, clock ticks of 10 ms). */
function cpuMicros(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields after the command name start at field 3 (state); utime and stime are fields 14 and 15.
  return { user: Number(fields[11]) * 10_000, system: Number(fields[12]) * 10_000 };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The next IPC message of `type` from a forked child. */
function next(child: ChildProcess, type: string): Promise<Record<string, unknown>> {
  return new Promise((resolveNext, reject) => {
    const onMessage = (message: Record<string, unknown>): void => {
      if (message.type !== type) return;
      child.off("message", onMessage);
      child.off("exit", onExit);
      resolveNext(message);
    };
    const onExit = (code: number | null): void => reject(new Error(`child exited (${code}) before ${type}`));
    child.on("message", onMessage);
    child.once("exit", onExit);
  });
}

async function startBroker(kind: string, args: Args): Promise<{ pid: number; endpoint: string; stop(): void }> {
  if (kind === "pyzmq") {
    const child = spawn("/usr/bin/python3", [PY_BROKER], { cwd: join(PY_BROKER, ".."), stdio: ["pipe", "pipe", "inherit"] });
    const endpoint = await new Promise<string>((resolveLine) => {
      let text = "";
      child.stdout!.on("data", (chunk: Buffer) => {
        text += chunk.toString();
        const match = /READY (\S+)/.exec(text);
        if (match) resolveLine(match[1]!);
      });
    });
    return { pid: child.pid!, endpoint, stop: () => child.kill("SIGKILL") };
  }
  const execArgv = args["cpu-prof"] ? ["--cpu-prof", "--cpu-prof-dir", args["cpu-prof"]] : [];
  const child = fork(__filename, ["broker"], { execArgv });
  const { endpoint } = await next(child, "ready");
  return { pid: child.pid!, endpoint: String(endpoint), stop: () => child.send({ type: "stop" }) };
}

async function run(args: Args): Promise<void> {
  const workers = num(args, "workers", 4);
  const rounds = num(args, "rounds", 3);
  const warmup = num(args, "warmup", 1500);
  const window = num(args, "window", 4000);
  const kind = args.broker ?? "privateer";
  const perRequest: number[] = [];
  const rates: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const broker = await startBroker(kind, args);
    const version = args.version ?? "0.2";
    // At most 8 worker sockets per process: one process of 16 would be the bottleneck rather than the broker.
    const pools: ChildProcess[] = [];
    for (let left = workers; left > 0; left -= 8) {
      pools.push(fork(__filename, ["workers", "--endpoint", broker.endpoint, "--workers", String(Math.min(8, left)), "--version", version]));
    }
    await Promise.all(pools.map((p) => next(p, "ready")));
    // Registration has no acknowledgement: give the READYs time to arrive.
    await sleep(300);
    const client = fork(__filename, [
      "client",
      "--endpoint",
      broker.endpoint,
      "--inflight",
      String(num(args, "inflight", 100)),
      "--size",
      String(num(args, "size", 16)),
      "--version",
      version,
    ]);
    await next(client, "ready");
    await sleep(warmup);
    const count = async (): Promise<number> => {
      client.send({ type: "count" });
      return Number((await next(client, "count")).count);
    };
    // Everything else on the machine's cores per request too: with all processes on 2 cores, their sum bounds the rate.
    const others = [client, ...pools].map((child) => child.pid!);
    const othersCpu = (): number => others.reduce((sum, pid) => sum + cpuMicros(pid).user + cpuMicros(pid).system, 0);
    const c0 = await count();
    const cpu0 = cpuMicros(broker.pid);
    const rest0 = othersCpu();
    const t0 = performance.now();
    await sleep(window);
    const c1 = await count();
    const cpu1 = cpuMicros(broker.pid);
    const rest1 = othersCpu();
    const t1 = performance.now();
    const served = c1 - c0;
    const user = (cpu1.user - cpu0.user) / served;
    const system = (cpu1.system - cpu0.system) / served;
    const us = user + system;
    const perSec = (served * 1000) / (t1 - t0);
    perRequest.push(us);
    rates.push(perSec);
    console.log(
      `round ${round + 1}: ${served} replies, ${perSec.toFixed(0)} req/s, broker ${us.toFixed(2)} µs CPU/request (user ${user.toFixed(2)}, system ${system.toFixed(2)}); client + workers ${((rest1 - rest0) / served).toFixed(2)} µs`,
    );
    client.kill("SIGKILL");
    for (const pool of pools) pool.kill("SIGKILL");
    broker.stop();
    await sleep(kind === "pyzmq" ? 100 : 600);
  }
  console.log(
    `median (${kind}, ${workers} workers, ${args.version ?? "0.2"}): ${median(rates).toFixed(0)} req/s, ${median(perRequest).toFixed(2)} µs CPU/request`,
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

// ---- roles ---------------------------------------------------------------

async function brokerRole(): Promise<void> {
  const { MajordomoBroker } = await import("../../internal");
  const broker = new MajordomoBroker({ socket: { linger: 0 } });
  await broker.bind("tcp://127.0.0.1:*");
  process.send!({ type: "ready", endpoint: broker.lastEndpoint });
  process.on("message", (message: { type: string }) => {
    if (message.type === "stop") void broker.close().then(() => process.exit(0));
  });
  process.on("disconnect", () => process.exit(0));
}

async function workersRole(args: Args): Promise<void> {
  const { MajordomoWorker } = await import("../../internal");
  const version = (args.version ?? "0.2") as "0.1" | "0.2";
  const worker = new MajordomoWorker({
    broker: args.endpoint!,
    service: SERVICE,
    version,
    concurrency: num(args, "workers", 4),
    socket: { linger: 0 },
  });
  worker.serve(({ body }) => body);
  process.send!({ type: "ready" });
  process.on("disconnect", () => process.exit(0));
}

async function clientRole(args: Args): Promise<void> {
  const { Dealer, encodeClientCommand } = await import("../../internal");
  const version = (args.version ?? "0.2") as "0.1" | "0.2";
  const dealer = new Dealer({ linger: 0 });
  dealer.connect(args.endpoint!);
  const request = encodeClientCommand(version, { type: "request", service: SERVICE, body: [Buffer.alloc(num(args, "size", 16), 0x61)] });
  let replies = 0;
  process.on("message", (message: { type: string }) => {
    if (message.type === "count") process.send!({ type: "count", count: replies });
  });
  process.on("disconnect", () => process.exit(0));
  for (let i = 0; i < num(args, "inflight", 100); i++) await dealer.send(request);
  process.send!({ type: "ready" });
  for (;;) {
    await dealer.receive();
    replies++;
    await dealer.send(request);
  }
}

/** Heap growth of a broker holding `n` queued requests (no worker), per request, after a full GC. */
async function queueRole(args: Args): Promise<void> {
  const { MajordomoBroker } = await import("../../internal");
  const n = num(args, "n", 100_000);
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run with --expose-gc");
  const broker = new MajordomoBroker({ socket: { linger: 0 }, maxQueuedRequests: n, requestTimeout: 30_000 });
  await broker.bind("tcp://127.0.0.1:*");
  const sender = fork(__filename, ["sender", "--endpoint", broker.lastEndpoint!, "--n", String(n)]);
  await sleep(200);
  gc();
  gc();
  const before = process.memoryUsage();
  const queued = (): number => broker.services().find((s) => s.name === SERVICE)?.queued ?? 0;
  while (queued() < n) await sleep(20);
  await sleep(200);
  gc();
  gc();
  const after = process.memoryUsage();
  console.log(
    `queued ${queued()}: heap ${((after.heapUsed - before.heapUsed) / n).toFixed(0)} B/request, external ${((after.external - before.external) / n).toFixed(0)} B/request`,
  );
  sender.kill("SIGKILL");
  await broker.close();
  process.exit(0);
}

async function senderRole(args: Args): Promise<void> {
  const { Dealer, encodeClientCommand } = await import("../../internal");
  const dealer = new Dealer({ linger: 0 });
  dealer.connect(args.endpoint!);
  const request = encodeClientCommand("0.2", { type: "request", service: SERVICE, body: [Buffer.alloc(16, 0x61)] });
  for (let i = 0; i < num(args, "n", 100_000); i++) await dealer.send(request);
  process.on("disconnect", () => process.exit(0));
}

const { command, args } = parseArgs(process.argv.slice(2));
const roles: Record<string, (args: Args) => Promise<void>> = {
  run,
  broker: brokerRole,
  workers: workersRole,
  client: clientRole,
  queue: queueRole,
  sender: senderRole,
};
const role = roles[command];
if (!role) throw new Error(`unknown command ${command}`);
role(args).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
