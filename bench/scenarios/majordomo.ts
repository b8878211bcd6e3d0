import { sampleMemory } from "../harness/memory";
import type { PeerProcess } from "../harness/peer-process";
import { receivedRate } from "../harness/checks";
import { checkedSize, exchangeWindow, payload } from "../harness/loops";
import { field } from "../harness/protocol";
import { nowMs, Watchdog, type Role } from "../harness/role";
import { START_TIMEOUT_MS, type RunContext, type Scenario } from "../harness/scenario";
import { sleep } from "../harness/stats";
import { timing, type Timing } from "./timing";

const IN_FLIGHT = 100;
const WORKERS = 4;
const SIZE = 16;
const SERVICE = "echo";
const QUEUED = { full: 100_000, quick: 20_000 };

/**
 * Imported on demand: index.ts hands every role to every Node peer, and a
 * zeromq.js peer must not load Privateer (nor RxJS) just because these roles exist.
 */
const majordomo = (): Promise<typeof import("privateer/internal")> => import("privateer/internal");

export const roles: Record<string, Role> = {
  /**
   * A broker with default options; reports "serving" once `workers` worker
   * sockets have registered. With `colocated` > 0 it also runs that many
   * worker sockets in its own process (still over tcp to itself).
   */
  "mdp-broker": async (ctx) => {
    const { MajordomoBroker } = await majordomo();
    const broker = new MajordomoBroker({ socket: { linger: 0 } });
    await broker.bind("tcp://127.0.0.1:*");
    const expected = ctx.num("workers");
    let registered = 0;
    broker.events$.subscribe((event) => {
      if (event.type === "worker-ready" && ++registered === expected) ctx.emit("serving", { workers: registered });
    });
    const colocated = ctx.num("colocated", 0);
    if (colocated > 0) await echoWorkers(broker.lastEndpoint!, colocated);
    ctx.emit("ready", { endpoint: broker.lastEndpoint! });
    await sleep(ctx.num("limit"));
    await broker.close();
  },
  /** `workers` MDP worker sockets in one process, each echoing the request body. */
  "mdp-workers": async (ctx) => {
    const worker = await echoWorkers(ctx.str("endpoint"), ctx.num("workers"));
    await sleep(ctx.num("limit"));
    worker.close();
  },
  /**
   * A raw DEALER speaking MDP 0.2 that keeps `inflight` requests outstanding,
   * as dealer-flight does for the direct echo: the broker's cost without any
   * client library (mdp-async-flight measures MajordomoAsyncClient).
   */
  "mdp-flight": async (ctx) => {
    const { encodeClientCommand, decodeClientCommand } = await majordomo();
    const dealer = new (ctx.lib().Dealer)({ linger: 0 });
    const dog = new Watchdog(ctx.num("stall"), "mdp-flight");
    const expect = ctx.num("expect");
    /** The reply's body size; anything but a FINAL whose body is `expect` bytes fails the run. */
    const replySize = (frames: Buffer[]): number => {
      const { command } = decodeClientCommand(frames, "reply");
      if (command.type !== "final") throw new Error(`unexpected ${command.type} reply`);
      return checkedSize(command.body, expect, "mdp-flight");
    };
    // The watchdog ends the process when it fires: a failing role must stop it first.
    try {
      dealer.connect(ctx.str("endpoint"));
      const body = payload(ctx.num("size"));
      const request = encodeClientCommand("0.2", { type: "request", service: SERVICE, body: [body] });
      for (let i = 0; i < ctx.num("inflight"); i++) await dealer.send(request);
      // An error reply (queue full, expiry) is also a FINAL: check once that replies are echoes, not errors.
      const first = await dealer.receive();
      replySize(first);
      if (!first[3]?.equals(body)) throw new Error(`unexpected reply: ${first.map((f) => f.toString()).join(" | ")}`);
      await dealer.send(request);
      const exchange = async (): Promise<number> => {
        const size = replySize(await dealer.receive());
        await dealer.send(request);
        dog.tick();
        return size;
      };
      const result = await exchangeWindow(exchange, {
        warmupMs: ctx.num("warmup"),
        windowMs: ctx.num("window"),
        max: ctx.num("max"),
      });
      ctx.emit("result", { ...result });
    } finally {
      dog.stop();
    }
  },
  /**
   * One MajordomoAsyncClient keeping `inflight` requests to one service
   * outstanding: the broker echoes request ids, so the client pipelines
   * them and matches each reply to its request. Each completed request
   * starts the next; a failed one (error reply, timeout) fails the run.
   */
  "mdp-async-flight": async (ctx) => {
    const { MajordomoAsyncClient } = await majordomo();
    const inflight = ctx.num("inflight");
    const client = new MajordomoAsyncClient({ broker: ctx.str("endpoint"), timeout: 30_000, retries: 0, maxInFlight: inflight });
    const dog = new Watchdog(ctx.num("stall"), "mdp-async-flight");
    const expect = ctx.num("expect");
    const body = payload(ctx.num("size"));
    // Completions not yet taken by the window loop, and the loop's wait for the next one.
    const ready: number[] = [];
    let failure: Error | undefined;
    let wake: (() => void) | undefined;
    const issue = (): void => {
      client.call(SERVICE, body).then(
        (frames) => {
          try {
            if (!frames[0]?.equals(body)) throw new Error(`unexpected reply: ${frames.map((f) => f.toString()).join(" | ")}`);
            ready.push(checkedSize(frames, expect, "mdp-async-flight"));
            issue();
          } catch (error) {
            failure = error as Error;
          }
          wake?.();
        },
        (error: unknown) => {
          failure = error instanceof Error ? error : new Error(String(error));
          wake?.();
        },
      );
    };
    const exchange = async (): Promise<number> => {
      while (ready.length === 0 && !failure) await new Promise<void>((resolve) => (wake = resolve));
      if (failure) throw failure;
      dog.tick();
      return ready.shift()!;
    };
    try {
      for (let i = 0; i < inflight; i++) issue();
      const result = await exchangeWindow(exchange, {
        warmupMs: ctx.num("warmup"),
        windowMs: ctx.num("window"),
        max: ctx.num("max"),
      });
      ctx.emit("result", { ...result });
    } finally {
      dog.stop();
      await client.close();
    }
  },
  /**
   * A broker whose service never gets a worker, so every request stays
   * queued. Reports memory growth once `n` requests are queued. A requestTimeout (30 s, the
   * broker's default until it became 0) is set: its deadline is part of what a queued request can cost.
   */
  "mdp-broker-queue": async (ctx) => {
    const { MajordomoBroker } = await majordomo();
    const n = ctx.num("n");
    const broker = new MajordomoBroker({ socket: { linger: 0 }, maxQueuedRequests: n, requestTimeout: 30_000 });
    await broker.bind("tcp://127.0.0.1:*");
    const before = sampleMemory(true);
    ctx.emit("ready", { endpoint: broker.lastEndpoint! });
    const queued = (): number => broker.services().find((s) => s.name === SERVICE)?.queued ?? 0;
    const deadline = nowMs() + ctx.num("limit");
    // Polling is enough: filling takes seconds, and a per-request event subscription would cost memory itself.
    let firstMs = Number.NaN;
    while (queued() < n && nowMs() < deadline) {
      await sleep(20);
      if (Number.isNaN(firstMs) && queued() > 0) firstMs = nowMs();
    }
    const fillMs = nowMs() - firstMs;
    await sleep(200);
    const after = sampleMemory(true);
    ctx.emit("result", {
      queued: queued(),
      fillMs,
      heapBytes: after.heap - before.heap,
      externalBytes: after.external - before.external,
      rssBytes: after.rss - before.rss,
    });
    await sleep(ctx.num("limit"));
  },
  /** Sends `n` MDP 0.2 requests and then stays connected: a client that leaves has its queued requests dropped. */
  "mdp-sender": async (ctx) => {
    const { encodeClientCommand } = await majordomo();
    const dealer = new (ctx.lib().Dealer)({ linger: 0 });
    dealer.connect(ctx.str("endpoint"));
    const request = encodeClientCommand("0.2", { type: "request", service: SERVICE, body: [payload(ctx.num("size"))] });
    const n = ctx.num("n");
    for (let i = 0; i < n; i++) await dealer.send(request);
    ctx.emit("sent", { n });
    await sleep(ctx.num("limit"));
  },
};

async function echoWorkers(endpoint: string, sockets: number): Promise<{ close(): void }> {
  const { MajordomoWorker } = await majordomo();
  const worker = new MajordomoWorker({ broker: endpoint, service: SERVICE, concurrency: sockets, socket: { linger: 0 } });
  worker.serve(({ body }) => body);
  return worker;
}

/** Requests per second a flight client counted, every reply checked to be the echoed body. */
async function rate(client: PeerProcess, t: Timing): Promise<number> {
  const result = await client.next("result", t.peerLimitMs);
  return receivedRate(result, SIZE).perSec;
}

async function direct(ctx: RunContext, t: Timing): Promise<number> {
  const server = ctx.peer("router-echo", { limit: t.peerLimitMs, stall: t.stallMs });
  const ready = await server.next("ready", START_TIMEOUT_MS);
  const client = ctx.peer("dealer-flight", flightParams(String(ready.endpoint), t));
  const perSec = await rate(client, t);
  await Promise.all([client.stop(), server.stop()]);
  return perSec;
}

/** Workers in a process of their own (as deployed), or in the broker's (two busy processes, as in the direct echo). */
async function brokered(ctx: RunContext, t: Timing, colocated: boolean): Promise<number> {
  const broker = ctx.peer("mdp-broker", { workers: WORKERS, colocated: colocated ? WORKERS : 0, limit: t.peerLimitMs });
  const endpoint = String((await broker.next("ready", START_TIMEOUT_MS)).endpoint);
  const workers = colocated ? undefined : ctx.peer("mdp-workers", { endpoint, workers: WORKERS, limit: t.peerLimitMs });
  await broker.next("serving", START_TIMEOUT_MS);
  const client = ctx.peer("mdp-flight", flightParams(endpoint, t));
  const perSec = await rate(client, t);
  await Promise.all([client.stop(), workers?.stop(), broker.stop()]);
  return perSec;
}

/** One MajordomoAsyncClient with IN_FLIGHT requests pipelined, the workers in a process of their own. */
async function asyncClient(ctx: RunContext, t: Timing): Promise<number> {
  const broker = ctx.peer("mdp-broker", { workers: WORKERS, colocated: 0, limit: t.peerLimitMs });
  const endpoint = String((await broker.next("ready", START_TIMEOUT_MS)).endpoint);
  const workers = ctx.peer("mdp-workers", { endpoint, workers: WORKERS, limit: t.peerLimitMs });
  await broker.next("serving", START_TIMEOUT_MS);
  const client = ctx.peer("mdp-async-flight", flightParams(endpoint, t));
  const perSec = await rate(client, t);
  await Promise.all([client.stop(), workers.stop(), broker.stop()]);
  return perSec;
}

function flightParams(endpoint: string, t: Timing): Record<string, number | string> {
  return { endpoint, size: SIZE, expect: SIZE, inflight: IN_FLIGHT, warmup: t.warmupMs, window: t.windowMs, max: 50_000_000, stall: t.stallMs };
}

/** The order of the four runs reverses between rounds, so none always meets a machine fresh from another. */
let runs = 0;

export const echo: Scenario = {
  id: "majordomo-echo",
  title: `Majordomo echo through the broker, ${WORKERS} workers, ${IN_FLIGHT} requests in flight, ${SIZE} B`,
  metric: { label: "replies", unit: "msg/s", better: "higher" },
  extras: {
    directPerSec: { label: `direct DEALER/ROUTER echo, ${IN_FLIGHT} in flight`, unit: "msg/s" },
    ratio: { label: "broker / direct", unit: "x" },
    colocatedPerSec: { label: "broker with the workers in its process", unit: "msg/s" },
    colocatedRatio: { label: "broker (workers in its process) / direct", unit: "x" },
    asyncClientPerSec: { label: `one MajordomoAsyncClient, ${IN_FLIGHT} in flight to one service`, unit: "msg/s" },
    asyncClientRatio: { label: "MajordomoAsyncClient / raw DEALER through the broker", unit: "x" },
  },
  target: {
    kind: "limit",
    text: ">= 0.5x direct DEALER/ROUTER echo (same run)",
    met: (p) => (p.extra.ratio ?? 0) >= 0.5,
  },
  // Issue 9: one pipelining client should cost about what a raw socket does; 0.9 is how close "approaches" must get.
  sideTargets: [{ figure: "asyncClientRatio", text: ">= 0.9x raw DEALER client through the broker (same run)", atLeast: 0.9 }],
  impls: ["privateer"],
  rounds: { full: 3, quick: 1 },
  inTable: true,
  async measure(ctx) {
    const t = timing(ctx.quick);
    const steps = [() => direct(ctx, t), () => brokered(ctx, t, false), () => brokered(ctx, t, true), () => asyncClient(ctx, t)];
    const reversed = runs++ % 2 === 1;
    if (reversed) steps.reverse();
    const figures: number[] = [];
    for (const step of steps) figures.push(await step());
    if (reversed) figures.reverse();
    const [straight, viaBroker, colocated, viaClient] = figures as [number, number, number, number];
    return {
      value: viaBroker,
      extra: {
        directPerSec: straight,
        ratio: viaBroker / straight,
        colocatedPerSec: colocated,
        colocatedRatio: colocated / straight,
        asyncClientPerSec: viaClient,
        // The goal is the raw DEALER's figure through the same broker and workers: the client's own cost.
        asyncClientRatio: viaClient / viaBroker,
      },
    };
  },
};

export const queue: Scenario = {
  id: "majordomo-queue-memory",
  title: `Majordomo broker memory, ${QUEUED.full.toLocaleString("en")} queued requests of ${SIZE} B (${QUEUED.quick.toLocaleString("en")} with --quick)`,
  metric: { label: "heap per queued request", unit: "B", better: "lower" },
  extras: {
    rssPerRequest: { label: "RSS per queued request", unit: "B" },
    externalPerRequest: { label: "external per queued request", unit: "B" },
    heapMiB: { label: "heap growth", unit: "MiB" },
    rssMiB: { label: "RSS growth", unit: "MiB" },
    fillSec: { label: "time to queue all (from the first, to within 20 ms)", unit: "s" },
  },
  // Issue 14's goal, set at 100,000 queued requests; --quick checks it at 20,000.
  target: { kind: "limit", text: "<= 300 B heap per queued request", met: (p) => p.value <= 300 },
  impls: ["privateer"],
  rounds: { full: 1, quick: 1 },
  inTable: true,
  async measure(ctx) {
    const n = ctx.quick ? QUEUED.quick : QUEUED.full;
    const limit = 60_000;
    const broker = ctx.peer("mdp-broker-queue", { n, limit });
    const ready = await broker.next("ready", START_TIMEOUT_MS);
    ctx.peer("mdp-sender", { endpoint: String(ready.endpoint), n, size: SIZE, limit });
    const result = await broker.next("result", limit);
    const queued = field(result, "queued");
    if (queued < n) throw new Error(`only ${queued} of ${n} requests were queued`);
    const per = (key: string): number => field(result, key) / queued;
    return {
      value: per("heapBytes"),
      extra: {
        rssPerRequest: per("rssBytes"),
        externalPerRequest: per("externalBytes"),
        heapMiB: field(result, "heapBytes") / 1048576,
        rssMiB: field(result, "rssBytes") / 1048576,
        fillSec: field(result, "fillMs") / 1000,
      },
    };
  },
};

export const scenarios: readonly Scenario[] = [echo, queue];
