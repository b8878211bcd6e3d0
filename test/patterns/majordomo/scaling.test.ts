/**
 * Load sharing across worker processes: 8 workers in 4 processes each get
 * work, and adding workers raises throughput. Every request costs a fixed
 * ~25 ms of sleeping in the worker (not CPU; long enough that the
 * per-request CPU cost stays small beside it on a loaded 2-core machine), so the measured rate depends on
 * how many workers share the load, not on how busy the 2-core machine is.
 */
import { lastValueFrom } from "rxjs";
import { MajordomoClient, type MajordomoBroker } from "../../../patterns/majordomo";
import { nextBrokerEvents, startBroker, Tracker } from "./e2e";
import { compileChildren, NodePeers, removeCompiled } from "./node-peers";

jest.setTimeout(60000);

const HB = 1000;
const WORK_MS = 25;
const CLIENTS = 16;
const tracker = new Tracker();
let outDir: string;
let children: NodePeers;

beforeAll(async () => {
  outDir = await compileChildren();
  children = new NodePeers(outDir);
}, 120000);

afterAll(async () => {
  await tracker.closeAll();
  await children.killAll();
  await removeCompiled(outDir);
});

/** Starts a worker process with two worker sockets and waits until both registered. */
async function addProcess(broker: MajordomoBroker, endpoint: string): Promise<number> {
  const ready = nextBrokerEvents(broker, "worker-ready", 2);
  const peer = children.worker({ broker: endpoint, service: "work", heartbeatInterval: HB, workMs: WORK_MS, concurrency: 2 });
  await ready;
  return peer.pid;
}

/**
 * Sends `total` requests from {@link CLIENTS} clients at once (each one request at a time)
 * and returns the rate in requests per second, plus which process answered each.
 */
async function load(clients: MajordomoClient[], total: number): Promise<{ rate: number; answeredBy: string[] }> {
  let issued = 0;
  const answeredBy: string[] = [];
  const started = process.hrtime.bigint();
  await Promise.all(
    clients.map(async (client) => {
      while (issued < total) {
        const body = `r${issued++}`;
        const reply = await lastValueFrom(client.request("work", body));
        expect(reply[0]!.toString()).toBe(body);
        answeredBy.push(reply[1]!.toString());
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { rate: total / seconds, answeredBy };
}

describe("8 workers in 4 processes", () => {
  it("each get work, and 8 workers serve clearly more requests per second than 2", async () => {
    const { broker, endpoint } = await startBroker(tracker, { heartbeatInterval: HB });
    const clients = Array.from({ length: CLIENTS }, () =>
      tracker.track(new MajordomoClient({ broker: endpoint, timeout: 10000 })),
    );
    const pids = [await addProcess(broker, endpoint)];
    await load(clients, 40); // warm-up: connections and JIT, not measured

    const two = await load(clients, 200);

    for (let i = 0; i < 3; i++) pids.push(await addProcess(broker, endpoint));
    expect(broker.services()).toEqual([{ name: "work", workers: 8, idle: 8, queued: 0 }]);
    const dispatchedTo = new Set<string>();
    const watch = broker.events$.subscribe((e) => e.type === "request-dispatched" && dispatchedTo.add(e.worker));
    const eight = await load(clients, 400);
    watch.unsubscribe();

    // Every one of the 8 worker sockets, and so every process, did some of the work.
    expect(dispatchedTo.size).toBe(8);
    expect(new Set(eight.answeredBy)).toEqual(new Set(pids.map((pid) => `pid:${pid}`)));
    // Ideal scaling is 4x; 2x leaves room for a noisy machine while still failing if work were serialised.
    expect(eight.rate).toBeGreaterThan(2 * two.rate);
  });
});
