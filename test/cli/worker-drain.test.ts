/**
 * MajordomoWorker.drain(), what `privateer worker` runs on SIGTERM, in one
 * process against a real broker: idle sockets leave at once, a busy one
 * leaves right after its reply, and past the timeout the request is handed
 * back to the broker.
 */
import { filter, firstValueFrom, take, toArray } from "rxjs";
import { MajordomoBroker, MajordomoClient, MajordomoWorker, type BrokerEvent } from "privateer";

let broker: MajordomoBroker;
let endpoint: string;
const closers: Array<() => Promise<void>> = [];
const seen: BrokerEvent[] = [];

beforeEach(async () => {
  broker = new MajordomoBroker({ heartbeatInterval: 500 });
  seen.length = 0;
  broker.events$.subscribe((event) => seen.push(event));
  await broker.bind("tcp://127.0.0.1:*");
  endpoint = broker.lastEndpoint!;
});

afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  await broker.close();
});

function nextBrokerEvents(type: BrokerEvent["type"], count: number): Promise<BrokerEvent[]> {
  return firstValueFrom(broker.events$.pipe(filter((e) => e.type === type), take(count), toArray()));
}

/** A worker with two sockets whose handler waits for the test to release it. */
async function twoSocketWorker(): Promise<{ worker: MajordomoWorker; release: () => void; started: Promise<void> }> {
  let release!: () => void;
  let markStarted!: () => void;
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  const gate = new Promise<void>((resolve) => (release = resolve));
  const ready = nextBrokerEvents("worker-ready", 2);
  const worker = new MajordomoWorker({ broker: endpoint, service: "slow", concurrency: 2, heartbeatInterval: 500 });
  worker.serve(async ({ body }) => {
    markStarted();
    await gate;
    return ["done", ...body];
  });
  closers.push(() => worker.close());
  await ready;
  return { worker, release, started };
}

it("the idle socket leaves at once; the busy one sends its reply, then leaves; nothing is requeued", async () => {
  const { worker, release, started } = await twoSocketWorker();
  const client = new MajordomoClient({ broker: endpoint, timeout: 10_000, retries: 0 });
  closers.push(() => client.close());
  const reply = client.call("slow", "job");
  await started;

  const firstLeaves = nextBrokerEvents("worker-disconnected", 1);
  const drained = worker.drain();
  await firstLeaves;
  // One socket is gone while the request is still running: the service has one worker left, and it is busy.
  expect(broker.services()).toEqual([{ name: "slow", workers: 1, idle: 0, queued: 0 }]);

  const secondLeaves = nextBrokerEvents("worker-disconnected", 1);
  release();
  expect((await reply).map(String)).toEqual(["done", "job"]);
  await secondLeaves;
  await drained;
  expect(worker.state).toBe("closed");
  const order = seen.map((e) => e.type).filter((t) => t === "reply-sent" || t === "worker-disconnected" || t === "request-requeued");
  expect(order).toEqual(["worker-disconnected", "reply-sent", "worker-disconnected"]);
  expect(seen.filter((e) => e.type === "worker-disconnected").map((e) => (e as { reason: string }).reason)).toEqual([
    "worker-disconnect",
    "worker-disconnect",
  ]);
}, 20_000);

it("past the timeout the request in progress is handed back: the broker requeues it", async () => {
  const { worker, started } = await twoSocketWorker();
  const client = new MajordomoClient({ broker: endpoint, timeout: 10_000, retries: 0 });
  closers.push(() => client.close());
  void client.call("slow", "job").catch(() => undefined);
  await started;
  const requeued = nextBrokerEvents("request-requeued", 1);
  const t0 = Date.now();
  await worker.drain(200);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
  await requeued;
  expect(seen.some((e) => e.type === "reply-sent")).toBe(false);
  expect(broker.services()).toEqual([{ name: "slow", workers: 0, idle: 0, queued: 1 }]);
}, 20_000);

it("control: close() in drain()'s place abandons the request, and the checks above see it (a requeue, no reply)", async () => {
  const { worker, release, started } = await twoSocketWorker();
  const client = new MajordomoClient({ broker: endpoint, timeout: 10_000, retries: 0 });
  closers.push(() => client.close());
  void client.call("slow", "job").catch(() => undefined);
  await started;
  const requeued = nextBrokerEvents("request-requeued", 1);
  await worker.close();
  release();
  await requeued;
  const order = seen.map((e) => e.type).filter((t) => t === "reply-sent" || t === "worker-disconnected" || t === "request-requeued");
  expect(order).not.toEqual(["worker-disconnected", "reply-sent", "worker-disconnected"]);
  expect(order).toContain("request-requeued");
  expect(order).not.toContain("reply-sent");
}, 20_000);
