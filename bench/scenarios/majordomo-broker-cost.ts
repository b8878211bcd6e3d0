import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { ForeignProcess } from "../harness/foreign-process";
import { checkedSize, payload } from "../harness/loops";
import type { PeerProcess } from "../harness/peer-process";
import { cpuBetween, cpuUsPerRequest, sampleCpu } from "../harness/proc-cpu";
import { field, type PeerLine } from "../harness/protocol";
import { nowMs, Watchdog, type Role, type RoleContext } from "../harness/role";
import { START_TIMEOUT_MS, type RunContext, type Scenario } from "../harness/scenario";
import { receivedRate } from "../harness/checks";
import { sleep } from "../harness/stats";

/**
 * Issue 14's broker goals: the CPU a broker process spends per request
 * and the requests per second it passes, each broker in its own process
 * with its workers in two other processes and one client process keeping
 * IN_FLIGHT requests outstanding, all over tcp on 127.0.0.1. Every broker of
 * a comparison gets the same client and worker programs (raw Privateer
 * DEALERs speaking MDP, or the `nats` client for NATS), and its CPU time is
 * read from outside, from /proc/<pid>/stat, so a Node broker, a Python
 * broker with its libzmq I/O thread and a Go server are measured alike.
 */

export const IN_FLIGHT = 100;
export const SERVICE = "echo";
const SIZE = 16;

export type MdpVersion = "0.1" | "0.2";

/** Time budget of one broker's run: a window long enough for many /proc clock ticks (10 ms each). */
export interface CostTiming {
  warmupMs: number;
  windowMs: number;
  stallMs: number;
  peerLimitMs: number;
}

/**
 * The warm-up is long because /proc counts every thread: V8 compiles hot
 * code on background threads of the broker's process for its first second
 * or so under load, and a window opened earlier charged that to the
 * requests (300 ms of warm-up measured a Privateer broker at 335 µs per
 * request where a 1 s warm-up measured 69 µs, on the same loaded machine).
 */
export function costTiming(quick: boolean): CostTiming {
  return quick
    ? { warmupMs: 1000, windowMs: 700, stallMs: 5000, peerLimitMs: 30_000 }
    : { warmupMs: 1500, windowMs: 2000, stallMs: 5000, peerLimitMs: 40_000 };
}

/** Imported on demand, as in majordomo.ts: a zeromq.js or stub peer must not load Privateer. */
const majordomo = (): Promise<typeof import("privateer/internal")> => import("privateer/internal");

/** Workers' sockets send a HEARTBEAT this often: more often than any broker here expires an idle worker. */
const WORKER_HEARTBEAT_MS = 1000;

/**
 * A closed loop of exchanges (one reply in, one request out) through a
 * warm-up, then a window, announcing the window's start on stdout so the
 * orchestrator samples the processes' CPU at the same moments. Reads the
 * clock once per 16 exchanges, as loops.ts does.
 */
export async function announcedWindow(ctx: RoleContext, exchange: () => Promise<number>, dog: Watchdog): Promise<void> {
  const warmEnd = nowMs() + ctx.num("warmup");
  do for (let i = 0; i < 16; i++) await exchange();
  while (nowMs() < warmEnd);
  ctx.emit("window");
  const start = nowMs();
  const end = start + ctx.num("window");
  let count = 0;
  let bytes = 0;
  let now = start;
  // The longest wait for 16 replies: a run that stalls (a timer, a lost wake-up) rather than works slowly shows here.
  let maxGapMs = 0;
  while (now < end) {
    for (let i = 0; i < 16; i++) bytes += await exchange();
    count += 16;
    const last = now;
    now = nowMs();
    if (now - last > maxGapMs) maxGapMs = now - last;
    dog.tick();
  }
  ctx.emit("result", { count, bytes, elapsedMs: now - start, maxGapMs });
}

export const roles: Record<string, Role> = {
  /** Privateer's MajordomoBroker with default options, alone in its process. */
  "cost-mdp-broker": async (ctx) => {
    const { MajordomoBroker } = await majordomo();
    const broker = new MajordomoBroker({ socket: { linger: 0 } });
    await broker.bind("tcp://127.0.0.1:*");
    ctx.emit("ready", { endpoint: broker.lastEndpoint!, pid: process.pid });
    await sleep(ctx.num("limit"));
    await broker.close();
  },
  /**
   * `workers` raw DEALERs in one process, each an MDP worker of `version`
   * echoing every request body (which must be `expect` bytes). Cheaper than
   * MajordomoWorker, so that the broker rather than the workers is what a
   * run measures. On "count" it reports how many of its sockets served at
   * least one request: a broker that never saw a worker must not pass.
   */
  "cost-mdp-workers": async (ctx) => {
    const { encodeWorkerCommand, decodeWorkerCommand } = await majordomo();
    const lib = ctx.lib();
    const version = mdpVersion(ctx.str("version"));
    const expect = ctx.num("expect");
    const n = ctx.num("workers");
    const served = new Array<number>(n).fill(0);
    let wrong = 0;
    const empty = Buffer.alloc(0);
    // The reply's frames up to the client's routing id, built once (the body frame of the template is dropped).
    const template = encodeWorkerCommand(version, { type: "final", client: empty, body: [empty] });
    const head = template.slice(0, template.length - 3);
    const heartbeat = encodeWorkerCommand(version, { type: "heartbeat" });
    const serve = async (index: number): Promise<void> => {
      const dealer = new lib.Dealer({ linger: 0 });
      dealer.connect(ctx.str("endpoint"));
      await dealer.send(encodeWorkerCommand(version, { type: "ready", service: SERVICE }));
      // A heartbeat goes out only while the loop waits for a request, so the two never send at once.
      let sending = false;
      let beat: Promise<void> | undefined;
      const timer = setInterval(() => {
        if (!sending && !beat) beat = dealer.send(heartbeat).finally(() => (beat = undefined));
      }, WORKER_HEARTBEAT_MS);
      try {
        for (;;) {
          const { command } = decodeWorkerCommand(await dealer.receive());
          if (command.type === "heartbeat") continue;
          if (command.type !== "request") throw new Error(`worker ${index}: unexpected ${command.type} from the broker`);
          // A wrong size is counted, not thrown: the client fails on the echo at once, with the message that says why.
          if (bodySize(command.body) !== expect) wrong++;
          sending = true;
          if (beat) await beat;
          await dealer.send([...head, command.client, empty, ...command.body]);
          sending = false;
          served[index]!++;
        }
      } finally {
        clearInterval(timer);
      }
    };
    for (let i = 0; i < n; i++) {
      serve(i).catch((error: unknown) => {
        ctx.emit("error", { message: error instanceof Error ? error.message : String(error) });
        process.exit(1);
      });
    }
    ctx.emit("ready", { pid: process.pid });
    await reportServed(ctx, served, () => wrong);
  },
  /**
   * One raw DEALER speaking MDP `version`, keeping `inflight` requests of
   * `size` bytes outstanding; every reply must be a FINAL whose body is
   * `expect` bytes, and the first must be the request's body echoed.
   */
  "cost-mdp-client": async (ctx) => {
    const { encodeClientCommand, decodeClientCommand } = await majordomo();
    const dealer = new (ctx.lib().Dealer)({ linger: 0 });
    const version = mdpVersion(ctx.str("version"));
    const expect = ctx.num("expect");
    const dog = new Watchdog(ctx.num("stall"), "cost-mdp-client");
    const replyBody = (frames: Buffer[]): Buffer[] => {
      const { command } = decodeClientCommand(frames, "reply");
      if (command.type !== "final") throw new Error(`unexpected ${command.type} reply`);
      return command.body;
    };
    try {
      ctx.emit("started", { pid: process.pid });
      dealer.connect(ctx.str("endpoint"));
      const body = payload(ctx.num("size"));
      const request = encodeClientCommand(version, { type: "request", service: SERVICE, body: [body] });
      for (let i = 0; i < ctx.num("inflight"); i++) await dealer.send(request);
      const first = replyBody(await dealer.receive());
      checkedSize(first, expect, "cost-mdp-client");
      if (!first[0]?.equals(body)) throw new Error(`the first reply is not the request's body: ${first.map((f) => f.toString()).join(" | ")}`);
      await dealer.send(request);
      await announcedWindow(
        ctx,
        async () => {
          const size = checkedSize(replyBody(await dealer.receive()), expect, "cost-mdp-client");
          await dealer.send(request);
          return size;
        },
        dog,
      );
      await sleep(ctx.num("limit"));
    } finally {
      dog.stop();
    }
  },
};

function mdpVersion(text: string): MdpVersion {
  if (text !== "0.1" && text !== "0.2") throw new Error(`MDP version ${text}: expected 0.1 or 0.2`);
  return text;
}

/** Bytes of a message body, all frames together. */
export function bodySize(frames: readonly Uint8Array[]): number {
  let size = 0;
  for (const frame of frames) size += frame.length;
  return size;
}

/**
 * Waits for "count" on stdin, then says how many of the sockets served
 * anything and how many requests had the wrong size; lives on until stopped.
 */
export async function reportServed(ctx: RoleContext, served: readonly number[], wrong: () => number): Promise<void> {
  const limit = ctx.num("limit");
  await ctx.command("count", limit);
  ctx.emit("served", {
    sockets: served.length,
    active: served.filter((n) => n > 0).length,
    total: served.reduce((a, b) => a + b, 0),
    wrong: wrong(),
  });
  await sleep(limit);
}

/** The repository root, from bench/scenarios (ts-jest) or dist/bench/scenarios (the built bench). */
export function repoRoot(from: string = __dirname): string {
  let dir = from;
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${from}`);
    dir = up;
  }
  return dir;
}

/** Debian's interpreter, the one python3-zmq installs for (as in .ci/prereqs). */
const PYTHON = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

/** What a broker's run measured, from the client's window and /proc samples of every process. */
export interface BrokerRun {
  perSec: number;
  /** µs of the broker process's CPU (user + system, all threads) per request. */
  brokerCpuUs: number;
  /** Cores the broker kept busy on average over the window (1 = one core all the time). */
  brokerLoad: number;
  clientCpuUs: number;
  clientLoad: number;
  /** Both worker processes together. */
  workersLoad: number;
  /** The client's longest wait for 16 replies in the window. */
  maxGapMs: number;
  /** Share of the window the broker's main thread was runnable but waiting for a CPU (other load on the machine). */
  brokerWait: number;
  clientWait: number;
}

/** A broker under test as the measuring loop sees it: where to connect, which pid to sample. */
export interface StartedBroker {
  readonly endpoint: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Worker processes and the client of one run, whichever broker they talk to. */
export interface Load {
  /** Starts the worker processes; resolves with them once each has reported ready (with its pid). */
  workers(endpoint: string): Promise<{ peer: PeerProcess; pid: number }[]>;
  client(endpoint: string): PeerProcess;
}

/**
 * One broker's run: workers in two processes, then the client; the CPU of
 * broker, client and workers is sampled when the client announces its
 * window and when it reports its result. Afterwards every worker socket
 * must have served a request, or the run measured fewer workers than it says.
 */
export async function measureBroker(broker: StartedBroker, load: Load, t: CostTiming, size: number): Promise<BrokerRun> {
  const peers: PeerProcess[] = [];
  // Stopped at the end of this broker's run, not the scenario's: the next broker must not share the cores with them.
  try {
    const workers = await load.workers(broker.endpoint);
    peers.push(...workers.map((w) => w.peer));
    const client = load.client(broker.endpoint);
    peers.push(client);
    const clientPid = field(await client.next("started", START_TIMEOUT_MS), "pid");
    await client.next("window", START_TIMEOUT_MS + t.peerLimitMs);
    const pids = [broker.pid, clientPid, ...workers.map((w) => w.pid)];
    const before = pids.map(sampleCpu);
    const result = await client.next("result", t.windowMs + t.stallMs);
    const after = pids.map(sampleCpu);
    const perSec = receivedRate(result, size).perSec;
    const used = (i: number): ReturnType<typeof cpuBetween> => cpuBetween(before[i]!, after[i]!);
    for (const w of workers) w.peer.tell("count");
    for (const w of workers) checkServed(await w.peer.next("served", START_TIMEOUT_MS));
    const b = used(0);
    const c = used(1);
    return {
      perSec,
      brokerCpuUs: cpuUsPerRequest(b.cpuMs, b.wallMs, perSec),
      brokerLoad: b.load,
      clientCpuUs: cpuUsPerRequest(c.cpuMs, c.wallMs, perSec),
      clientLoad: c.load,
      workersLoad: workers.reduce((sum, _, i) => sum + used(i + 2).load, 0),
      maxGapMs: field(result, "maxGapMs"),
      brokerWait: b.waitShare,
      clientWait: c.waitShare,
    };
  } finally {
    await Promise.all(peers.map((p) => p.stop()));
  }
}

export function checkServed(line: PeerLine): void {
  const wrong = field(line, "wrong");
  if (wrong > 0) throw new Error(`workers received ${wrong} requests of the wrong size`);
  const sockets = field(line, "sockets");
  const active = field(line, "active");
  if (active !== sockets) throw new Error(`only ${active} of ${sockets} worker sockets of a process served a request: the broker did not use them all`);
}

/** Privateer's broker in a Node peer of its own. */
export async function startPrivateerBroker(ctx: RunContext, t: CostTiming): Promise<StartedBroker> {
  const peer = ctx.peer("cost-mdp-broker", { limit: t.peerLimitMs });
  const ready = await peer.next("ready", START_TIMEOUT_MS);
  return { endpoint: String(ready.endpoint), pid: field(ready, "pid"), stop: () => peer.stop() };
}

/** The guide's broker on pyzmq, the one the interop tests run (test/patterns/peers/mdp_broker.py, unchanged). */
export async function startPyzmqBroker(): Promise<StartedBroker> {
  const script = join(repoRoot(), "test", "patterns", "peers", "mdp_broker.py");
  const proc = new ForeignProcess("pyzmq mdp_broker.py", PYTHON, [script]);
  try {
    const match = await proc.waitFor(/^READY (tcp:\/\/127\.0\.0\.1:\d+)$/, START_TIMEOUT_MS);
    return { endpoint: match[1]!, pid: proc.pid, stop: () => proc.stop() };
  } catch (error) {
    await proc.stop();
    throw error;
  }
}

/** Raw MDP workers (split over two processes) and the raw DEALER client, for either MDP broker. */
export function mdpLoad(ctx: RunContext, t: CostTiming, workers: number, version: MdpVersion, size: number): Load {
  return {
    workers: (endpoint) => startWorkers(ctx, "cost-mdp-workers", workers, { endpoint, version, expect: size, limit: t.peerLimitMs }),
    client: (endpoint) =>
      ctx.peer("cost-mdp-client", {
        endpoint,
        version,
        size,
        expect: size,
        inflight: IN_FLIGHT,
        warmup: t.warmupMs,
        window: t.windowMs,
        stall: t.stallMs,
        limit: t.peerLimitMs,
      }),
  };
}

/** `total` workers as two processes of half each (one more in the first when odd). */
export async function startWorkers(
  ctx: RunContext,
  role: string,
  total: number,
  params: Record<string, string | number>,
  as?: "stub",
): Promise<{ peer: PeerProcess; pid: number }[]> {
  const split = [Math.ceil(total / 2), Math.floor(total / 2)].filter((n) => n > 0);
  const peers = split.map((n) => ctx.peer(role, { ...params, workers: n }, as));
  return Promise.all(peers.map(async (peer) => ({ peer, pid: field(await peer.next("ready", START_TIMEOUT_MS), "pid") })));
}

/** Runs `steps` in order, or reversed on every other call, and returns their results in the original order. */
export async function alternating<T>(flip: boolean, steps: readonly (() => Promise<T>)[]): Promise<T[]> {
  const order = steps.map((_, i) => i);
  if (flip) order.reverse();
  const out = new Array<T>(steps.length);
  for (const i of order) out[i] = await steps[i]!();
  return out;
}

/** Stops the broker even when its run failed; the runner stops the Node peers. */
export async function withBroker<T>(start: () => Promise<StartedBroker>, run: (b: StartedBroker) => Promise<T>): Promise<T> {
  const broker = await start();
  try {
    return await run(broker);
  } finally {
    await broker.stop();
  }
}

const CPU_GOAL = 0.2;
const RATE_GOAL = 5;

/** The extras both broker-cost scenarios report, Privateer's run first. */
const costExtras = {
  perSec: { label: "Privateer requests/s", unit: "msg/s" },
  pyCpuUs: { label: "pyzmq broker CPU per request", unit: "µs" },
  pyPerSec: { label: "pyzmq broker requests/s", unit: "msg/s" },
  cpuRatio: { label: "broker CPU per request, Privateer / pyzmq", unit: "x" },
  rateRatio: { label: "requests/s, Privateer / pyzmq", unit: "x" },
  brokerLoad: { label: "Privateer broker busy", unit: "cores" },
  pyLoad: { label: "pyzmq broker busy", unit: "cores" },
  clientCpuUs: { label: "client CPU per request (Privateer broker)", unit: "µs" },
  clientLoad: { label: "client busy (Privateer broker)", unit: "cores" },
  pyClientLoad: { label: "client busy (pyzmq broker)", unit: "cores" },
  workersLoad: { label: "worker processes busy (Privateer broker)", unit: "cores" },
  maxGapMs: { label: "client's longest wait for 16 replies (Privateer broker)", unit: "ms" },
  pyMaxGapMs: { label: "client's longest wait for 16 replies (pyzmq broker)", unit: "ms" },
  brokerWait: { label: "Privateer broker's main thread waiting for a CPU", unit: "of the window" },
  pyWait: { label: "pyzmq broker's main thread waiting for a CPU", unit: "of the window" },
} as const;

/** Kernels built without schedstats have no /proc/<pid>/schedstat: the wait figures are then not reported. */
export const WAIT_FIGURES = existsSync("/proc/self/schedstat");
const NO_SCHEDSTAT = "this kernel keeps no /proc/<pid>/schedstat";

let costRuns = 0;

/** Privateer's broker against the pyzmq broker, `workers` workers, MDP `version`, in the same run. */
export function costScenario(workers: number, version: MdpVersion): Scenario {
  return {
    id: `majordomo-broker-cost-${workers}w-mdp${version.replace(".", "")}`,
    title: `Majordomo broker CPU per request, ${workers} workers in 2 processes, MDP ${version}, ${IN_FLIGHT} in flight, ${SIZE} B, vs the pyzmq broker`,
    metric: { label: "Privateer broker CPU per request", unit: "µs", better: "lower" },
    extras: costExtras,
    target: {
      kind: "limit",
      text: `broker CPU per request <= ${CPU_GOAL}x the pyzmq broker's (same run)`,
      met: (p) => (p.extra.cpuRatio ?? Number.NaN) <= CPU_GOAL,
    },
    // Issue 14 sets the throughput goal with 16 workers, where the broker rather than the workers should be the limit.
    sideTargets: workers >= 16 ? [{ figure: "rateRatio", text: `requests/s >= ${RATE_GOAL}x the pyzmq broker's (same run)`, atLeast: RATE_GOAL }] : [],
    impls: ["privateer"],
    ...(!WAIT_FIGURES && { unreported: { privateer: { fields: ["brokerWait", "pyWait"], why: NO_SCHEDSTAT } } }),
    rounds: { full: 3, quick: 1 },
    inTable: true,
    async measure(ctx) {
      const t = costTiming(ctx.quick);
      const load = mdpLoad(ctx, t, workers, version, SIZE);
      const [mine, theirs] = (await alternating(costRuns++ % 2 === 1, [
        () => withBroker(() => startPrivateerBroker(ctx, t), (b) => measureBroker(b, load, t, SIZE)),
        () => withBroker(startPyzmqBroker, (b) => measureBroker(b, load, t, SIZE)),
      ])) as [BrokerRun, BrokerRun];
      return {
        value: mine.brokerCpuUs,
        extra: {
          perSec: mine.perSec,
          pyCpuUs: theirs.brokerCpuUs,
          pyPerSec: theirs.perSec,
          cpuRatio: mine.brokerCpuUs / theirs.brokerCpuUs,
          rateRatio: mine.perSec / theirs.perSec,
          brokerLoad: mine.brokerLoad,
          pyLoad: theirs.brokerLoad,
          clientCpuUs: mine.clientCpuUs,
          clientLoad: mine.clientLoad,
          pyClientLoad: theirs.clientLoad,
          workersLoad: mine.workersLoad,
          maxGapMs: mine.maxGapMs,
          pyMaxGapMs: theirs.maxGapMs,
          brokerWait: mine.brokerWait,
          pyWait: theirs.brokerWait,
        },
      };
    },
  };
}

export const scenarios: readonly Scenario[] = [costScenario(4, "0.1"), costScenario(4, "0.2"), costScenario(16, "0.1"), costScenario(16, "0.2")];
