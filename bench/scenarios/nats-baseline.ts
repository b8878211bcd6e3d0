import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../test/helpers/free-address";
import { ForeignProcess } from "../harness/foreign-process";
import { checkedSize, payload } from "../harness/loops";
import { Watchdog, type Role } from "../harness/role";
import { START_TIMEOUT_MS, type RunContext, type Scenario } from "../harness/scenario";
import { sizeLabel } from "../harness/stats";
import {
  alternating,
  announcedWindow,
  costTiming,
  IN_FLIGHT,
  mdpLoad,
  measureBroker,
  reportServed,
  SERVICE,
  startPrivateerBroker,
  startWorkers,
  withBroker,
  type BrokerRun,
  type CostTiming,
  type Load,
  type StartedBroker,
  WAIT_FIGURES,
} from "./majordomo-broker-cost";

/**
 * What a user would pick instead of a Majordomo broker for a worker pool:
 * NATS request-reply to a queue group. The same workload as the broker-cost
 * scenarios (workers in two processes, one client keeping IN_FLIGHT requests
 * outstanding), through Debian's nats-server, which the benchmark starts on
 * a free port of 127.0.0.1 with a config of its own. NATS is no test
 * dependency: without nats-server these scenarios are skipped with a message.
 */

/** Where Debian's package installs it; NATS_SERVER overrides (another build, another distribution). */
export const NATS_SERVER = process.env.NATS_SERVER ?? "/usr/sbin/nats-server";
const QUEUE = "workers";

/** Why the NATS baseline cannot run here, or undefined when it can. */
export function natsUnavailable(server: string = NATS_SERVER): string | undefined {
  return existsSync(server) ? undefined : `${server} not found (Debian: apt-get install nats-server; or set NATS_SERVER)`;
}

/** Loaded on demand: only the NATS peers need the client. */
const nats = (): Promise<typeof import("nats")> => import("nats");

export const roles: Record<string, Role> = {
  /**
   * `workers` NATS connections in one process, each with one subscription
   * to the service's subject in one queue group, answering every request
   * (`expect` bytes) with its payload.
   */
  "cost-nats-workers": async (ctx) => {
    const { connect } = await nats();
    const expect = ctx.num("expect");
    const n = ctx.num("workers");
    const served = new Array<number>(n).fill(0);
    let wrong = 0;
    const connections = [];
    for (let i = 0; i < n; i++) {
      const nc = await connect({ servers: ctx.str("endpoint"), name: `bench-worker-${i}` });
      nc.subscribe(SERVICE, {
        queue: QUEUE,
        callback: (error, msg) => {
          try {
            if (error) throw error;
            // Counted, not thrown: the client fails on the echo at once, with the message that says why.
            if (msg.data.byteLength !== expect) wrong++;
            if (!msg.respond(msg.data)) throw new Error(`nats worker ${i}: a request without a reply subject`);
            served[i]!++;
          } catch (failure) {
            ctx.emit("error", { message: failure instanceof Error ? failure.message : String(failure) });
            process.exit(1);
          }
        },
      });
      // The subscription is registered at the server once a flush round trip is done: the client may start then.
      await nc.flush();
      connections.push(nc);
    }
    ctx.emit("ready", { pid: process.pid });
    await reportServed(ctx, served, () => wrong);
  },
  /** One NATS connection keeping `inflight` requests of `size` bytes outstanding, each reply `expect` bytes. */
  "cost-nats-client": async (ctx) => {
    const { connect } = await nats();
    const expect = ctx.num("expect");
    const dog = new Watchdog(ctx.num("stall"), "cost-nats-client");
    try {
      ctx.emit("started", { pid: process.pid });
      const nc = await connect({ servers: ctx.str("endpoint"), name: "bench-client" });
      const body = payload(ctx.num("size"));
      const ask = async (): Promise<Buffer> => {
        const reply = await nc.request(SERVICE, body, { timeout: 30_000 });
        return Buffer.from(reply.data.buffer, reply.data.byteOffset, reply.data.byteLength);
      };
      const first = await ask();
      checkedSize([first], expect, "cost-nats-client");
      if (!first.equals(body)) throw new Error("the first reply is not the request's payload");
      // Completions the window loop has not taken yet; each one starts the next request, so IN_FLIGHT stay out.
      const done: number[] = [];
      let failure: Error | undefined;
      let wake: (() => void) | undefined;
      const issue = (): void => {
        ask().then(
          (reply) => {
            try {
              done.push(checkedSize([reply], expect, "cost-nats-client"));
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
      for (let i = 0; i < ctx.num("inflight"); i++) issue();
      const exchange = async (): Promise<number> => {
        while (done.length === 0 && !failure) await new Promise<void>((resolve) => (wake = resolve));
        if (failure) throw failure;
        return done.shift()!;
      };
      await announcedWindow(ctx, exchange, dog);
      await new Promise((resolve) => setTimeout(resolve, ctx.num("limit")));
    } finally {
      dog.stop();
    }
  },
};

/**
 * nats-server on 127.0.0.1 only, with a config written for this run (no
 * cluster, gateway, leaf node, monitoring or JetStream: nothing listens
 * anywhere else). Logs go to stderr, where "Server is ready" says it accepts.
 */
export async function startNatsServer(): Promise<StartedBroker> {
  const dir = mkdtempSync(join(tmpdir(), "privateer-bench-nats-"));
  const port = await freePort();
  const config = join(dir, "nats.conf");
  writeFileSync(config, `listen: "127.0.0.1:${port}"\nmax_connections: 256\n`);
  const proc = new ForeignProcess("nats-server", NATS_SERVER, ["-c", config]);
  const stop = async (): Promise<void> => {
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await proc.waitFor(/Server is ready/, START_TIMEOUT_MS);
    return { endpoint: `nats://127.0.0.1:${port}`, pid: proc.pid, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** NATS workers (two processes) and client: stub peers, they load the `nats` client and no ZeroMQ library. */
export function natsLoad(ctx: RunContext, t: CostTiming, workers: number, size: number): Load {
  return {
    workers: (endpoint) => startWorkers(ctx, "cost-nats-workers", workers, { endpoint, expect: size, limit: t.peerLimitMs }, "stub"),
    client: (endpoint) =>
      ctx.peer(
        "cost-nats-client",
        { endpoint, size, expect: size, inflight: IN_FLIGHT, warmup: t.warmupMs, window: t.windowMs, stall: t.stallMs, limit: t.peerLimitMs },
        "stub",
      ),
  };
}

let natsRuns = 0;

/** Privateer's broker (MDP 0.2, raw DEALER client and workers) against nats-server, in the same run. */
export function natsScenario(workers: number, size: number): Scenario {
  return {
    id: `nats-baseline-${workers}w-${sizeLabel(size).replace(" ", "").toLowerCase()}`,
    title: `Request-reply, ${workers} workers in 2 processes, ${IN_FLIGHT} in flight, ${sizeLabel(size)}: Privateer's Majordomo broker (MDP 0.2) vs nats-server (queue group)`,
    metric: { label: "Privateer requests/s", unit: "msg/s", better: "higher" },
    extras: {
      natsPerSec: { label: "NATS requests/s", unit: "msg/s" },
      rateRatio: { label: "requests/s, Privateer / NATS", unit: "x" },
      cpuUs: { label: "Privateer broker CPU per request", unit: "µs" },
      natsCpuUs: { label: "nats-server CPU per request", unit: "µs" },
      cpuRatio: { label: "broker CPU per request, Privateer / nats-server", unit: "x" },
      brokerLoad: { label: "Privateer broker busy", unit: "cores" },
      natsLoad: { label: "nats-server busy", unit: "cores" },
      clientLoad: { label: "client busy (Privateer broker)", unit: "cores" },
      natsClientLoad: { label: "client busy (NATS)", unit: "cores" },
      natsClientCpuUs: { label: "NATS client CPU per request", unit: "µs" },
      maxGapMs: { label: "client's longest wait for 16 replies (Privateer broker)", unit: "ms" },
      natsMaxGapMs: { label: "client's longest wait for 16 replies (NATS)", unit: "ms" },
      // nats-server spreads its work over Go's threads: its main thread's wait would say nothing, the client's does.
      brokerWait: { label: "Privateer broker's main thread waiting for a CPU", unit: "of the window" },
      natsClientWait: { label: "NATS client's main thread waiting for a CPU", unit: "of the window" },
    },
    target: { kind: "limit", text: "requests/s >= NATS's (same run)", met: (p) => (p.extra.rateRatio ?? Number.NaN) >= 1 },
    sideTargets: [{ figure: "cpuRatio", text: "broker CPU per request <= nats-server's (same run)", atMost: 1 }],
    unavailable: () => natsUnavailable(),
    impls: ["privateer"],
    ...(!WAIT_FIGURES && { unreported: { privateer: { fields: ["brokerWait", "natsClientWait"], why: "this kernel keeps no /proc/<pid>/schedstat" } } }),
    rounds: { full: 3, quick: 1 },
    inTable: true,
    async measure(ctx) {
      const t = costTiming(ctx.quick);
      const [mine, theirs] = (await alternating(natsRuns++ % 2 === 1, [
        () => withBroker(() => startPrivateerBroker(ctx, t), (b) => measureBroker(b, mdpLoad(ctx, t, workers, "0.2", size), t, size)),
        () => withBroker(startNatsServer, (b) => measureBroker(b, natsLoad(ctx, t, workers, size), t, size)),
      ])) as [BrokerRun, BrokerRun];
      return {
        value: mine.perSec,
        extra: {
          natsPerSec: theirs.perSec,
          rateRatio: mine.perSec / theirs.perSec,
          cpuUs: mine.brokerCpuUs,
          natsCpuUs: theirs.brokerCpuUs,
          cpuRatio: mine.brokerCpuUs / theirs.brokerCpuUs,
          brokerLoad: mine.brokerLoad,
          natsLoad: theirs.brokerLoad,
          clientLoad: mine.clientLoad,
          natsClientLoad: theirs.clientLoad,
          natsClientCpuUs: theirs.clientCpuUs,
          maxGapMs: mine.maxGapMs,
          natsMaxGapMs: theirs.maxGapMs,
          brokerWait: mine.brokerWait,
          natsClientWait: theirs.clientWait,
        },
      };
    },
  };
}

export const scenarios: readonly Scenario[] = [natsScenario(4, 16), natsScenario(16, 16), natsScenario(4, 1024), natsScenario(16, 1024)];
