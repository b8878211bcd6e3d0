import { randomBytes } from "node:crypto";
import { isMainThread, MessageChannel, Worker, workerData, type MessagePort } from "node:worker_threads";
import { receivedRate } from "../harness/checks";
import { loadLib, type BenchSender, type NodeLibName } from "../harness/lib";
import { checkedSize, exchangeWindow, payload, receiveWindow, sendUntil } from "../harness/loops";
import { field } from "../harness/protocol";
import type { Role, RoleContext } from "../harness/role";
import { START_TIMEOUT_MS, type Scenario } from "../harness/scenario";
import { timing } from "./timing";

/**
 * inproc between two worker threads of one process (issue 13). The role's
 * main thread binds; a worker thread it starts (this same file, compiled)
 * loads the same library and connects. zeromq.js shares one libzmq context
 * between the threads of a process, so its inproc works across threads too:
 * the comparison is like for like.
 */

interface ThreadJob {
  readonly benchThreadJob: "push" | "rep" | "port-echo";
  readonly lib: NodeLibName;
  readonly address: string;
  readonly size: number;
  readonly limitMs: number;
  /**
   * PUSH only: send a fresh Buffer of its own (Buffer.allocUnsafeSlow) each
   * time, as an application that hands its data over would, and let
   * Privateer transfer it (`transferLargeFrames`). zeromq.js copies anyway;
   * it gets the same fresh Buffers, so both loops do the same work.
   */
  readonly transfer: boolean;
}

/**
 * The worker thread's half: a PUSH that sends until stopped, a REP that
 * echoes, or (no library) a bare MessagePort that posts back what it gets.
 */
async function runThreadJob(job: ThreadJob, port?: MessagePort): Promise<void> {
  if (job.benchThreadJob === "port-echo") {
    // The floor under any inproc round trip built on MessagePorts: one post and one wake-up each way.
    port?.on("message", (message: ArrayBuffer) => port.postMessage(message));
    return;
  }
  const lib = await loadLib(job.lib);
  if (job.benchThreadJob === "push") {
    const push = new lib.Push({ linger: 0 });
    // The option exists in Privateer only (the harness's option type is what both libraries share).
    if (job.transfer && lib.name === "privateer") (push as BenchSender & { transferLargeFrames: boolean }).transferLargeFrames = true;
    push.connect(job.address);
    if (job.transfer) await sendFresh(push, job.size, job.limitMs);
    else await sendUntil(push, payload(job.size), { limitMs: job.limitMs, max: 1_000_000_000 });
    push.close();
  } else {
    const rep = new lib.Reply({ linger: 0 });
    rep.connect(job.address);
    const deadline = Date.now() + job.limitMs;
    while (Date.now() < deadline) await rep.send(await rep.receive());
    rep.close();
  }
}

/** Sends a newly allocated Buffer each time (a transferred one is empty afterwards), until the time limit. */
async function sendFresh(push: BenchSender, size: number, limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs;
  for (let sent = 1; ; sent++) {
    await push.send(Buffer.allocUnsafeSlow(size));
    if ((sent & 63) === 0 && Date.now() >= deadline) return;
  }
}

if (!isMainThread && (workerData as Partial<ThreadJob> | null)?.benchThreadJob !== undefined) {
  runThreadJob(workerData as ThreadJob, (workerData as { port?: MessagePort }).port).catch((error: unknown) => {
    // The main thread sees the error event and fails the run.
    throw error;
  });
}

function startThread(ctx: RoleContext, job: Omit<ThreadJob, "lib">): Worker {
  const worker = new Worker(__filename, { workerData: { ...job, lib: ctx.lib().name } satisfies ThreadJob });
  worker.on("error", (error) => {
    ctx.emit("error", { message: `worker thread: ${error.stack ?? error.message}` });
    process.exit(1);
  });
  return worker;
}

/**
 * Round trips of a 16-byte ArrayBuffer over a bare MessagePort to a worker
 * thread, measured in the same process as the sockets' round trip: the
 * wall any MessagePort-based transport stands on, on this machine, now.
 */
async function portFloor(ctx: RoleContext, plan: { warmupMs: number; windowMs: number; max: number }): Promise<number> {
  const { port1, port2 } = new MessageChannel();
  const job: ThreadJob = { benchThreadJob: "port-echo", lib: ctx.lib().name, address: "", size: RTT_BYTES, limitMs: 0, transfer: false };
  const worker = new Worker(__filename, { workerData: { ...job, port: port2 }, transferList: [port2] });
  try {
    let answer: (() => void) | undefined;
    port1.on("message", () => answer?.());
    const result = await exchangeWindow(
      () =>
        new Promise<number>((resolve) => {
          answer = () => resolve(RTT_BYTES);
          port1.postMessage(new ArrayBuffer(RTT_BYTES));
        }),
      plan,
    );
    return (result.elapsedMs * 1000) / result.count;
  } finally {
    port1.close();
    await worker.terminate();
  }
}

const RTT_BYTES = 16;

const address = (): string => `inproc://bench-threads-${process.pid}-${randomBytes(4).toString("hex")}`;

export const roles: Record<string, Role> = {
  /** PULL bound in the main thread, PUSH in a worker thread; the receiver's window is the measurement. */
  "threads-pushpull": async (ctx) => {
    const lib = ctx.lib();
    const endpoint = address();
    const pull = new lib.Pull({ linger: 0 });
    await pull.bind(endpoint);
    const worker = startThread(ctx, {
      benchThreadJob: "push",
      address: endpoint,
      size: ctx.num("size"),
      limitMs: ctx.num("limit"),
      transfer: ctx.num("transfer") === 1,
    });
    try {
      const result = await receiveWindow(pull, {
        warmupMs: ctx.num("warmup"),
        windowMs: ctx.num("window"),
        max: ctx.num("max"),
        stallMs: ctx.num("stall"),
        expectBytes: ctx.num("size"),
      });
      ctx.emit("result", { ...result });
    } finally {
      await worker.terminate();
      pull.close();
    }
  },
  /** REQ in the main thread, REP echoing in a worker thread: one request in flight. */
  "threads-reqrep": async (ctx) => {
    const lib = ctx.lib();
    const endpoint = address();
    // First, before any socket: zeromq.js aborts the process if a thread with live sockets is terminated and the process goes on.
    const floorUs = await portFloor(ctx, { warmupMs: ctx.num("warmup"), windowMs: ctx.num("window"), max: ctx.num("max") });
    const req = new lib.Request({ linger: 0 });
    await req.bind(endpoint);
    const size = ctx.num("size");
    const worker = startThread(ctx, { benchThreadJob: "rep", address: endpoint, size, limitMs: ctx.num("limit"), transfer: false });
    try {
      const body = payload(size);
      const result = await exchangeWindow(
        async () => {
          await req.send(body);
          return checkedSize(await req.receive(), size, "threads-reqrep");
        },
        { warmupMs: ctx.num("warmup"), windowMs: ctx.num("window"), max: ctx.num("max") },
      );
      ctx.emit("result", { ...result, floorUs });
    } finally {
      await worker.terminate();
      req.close();
    }
  },
};

/**
 * `transfer`: the sender's frames leave by transfer (see ThreadJob.transfer),
 * and the goal applies to this figure. Without it the same size is
 * measured sending one reused Buffer, which Privateer copies once per send:
 * reported for comparison, without a goal.
 */
function throughput(size: number, transfer = false, goal = true): Scenario {
  const sizeText = size >= 1024 ? `${size / 1024} KiB` : `${size} B`;
  return {
    id: `inproc-threads-${size}${transfer ? "-transfer" : ""}`,
    title: transfer
      ? `inproc PUSH to PULL between two threads of one process, ${sizeText}, fresh Buffer per send, Privateer with transferLargeFrames (zero-copy; zeromq.js copies)`
      : `inproc PUSH to PULL between two threads of one process, ${sizeText}${goal ? "" : ", one reused Buffer copied per send (no goal: see the -transfer row)"}`,
    metric: { label: "throughput", unit: "msg/s", better: "higher" },
    target: goal ? { kind: "ratio", text: ">= 2x zeromq.js", atLeast: 2 } : undefined,
    impls: ["privateer", "zeromq.js"],
    rounds: { full: 5, quick: 2 },
    inTable: true,
    async measure(ctx) {
      const t = timing(ctx.quick, size > 1024 ? 2 : 1);
      const peer = ctx.peer("threads-pushpull", {
        size,
        warmup: t.warmupMs,
        window: t.windowMs,
        max: 1_000_000_000,
        limit: t.peerLimitMs,
        stall: t.stallMs,
        transfer: transfer ? 1 : 0,
      });
      const result = await peer.next("result", START_TIMEOUT_MS + t.peerLimitMs);
      return { value: receivedRate(result, size).perSec };
    },
  };
}

const RTT_SIZE = RTT_BYTES;

export const scenarios: readonly Scenario[] = [
  throughput(16),
  throughput(65536, false, false),
  throughput(65536, true),
  {
    id: `inproc-threads-rtt-${RTT_SIZE}`,
    title: `inproc REQ/REP round trip between two threads of one process, ${RTT_SIZE} B`,
    metric: { label: "mean round trip", unit: "µs", better: "lower" },
    target: { kind: "ratio", text: "<= zeromq.js's round trip", atMost: 1 },
    // Measured in each run's process after its sockets' window, whichever library it loaded.
    extras: { floorUs: { label: "bare MessagePort round trip, same process (the floor)", unit: "µs" } },
    impls: ["privateer", "zeromq.js"],
    rounds: { full: 5, quick: 2 },
    inTable: true,
    async measure(ctx) {
      const t = timing(ctx.quick);
      const peer = ctx.peer("threads-reqrep", {
        size: RTT_SIZE,
        warmup: t.warmupMs,
        window: t.windowMs,
        max: 1_000_000,
        limit: t.peerLimitMs,
        stall: t.stallMs,
      });
      const result = await peer.next("result", START_TIMEOUT_MS + t.peerLimitMs);
      receivedRate(result, RTT_SIZE);
      return { value: (field(result, "elapsedMs") * 1000) / field(result, "count"), extra: { floorUs: field(result, "floorUs") } };
    },
  },
];
