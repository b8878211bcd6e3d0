/**
 * ParanoidPirateWorker.drain(), what `privateer worker --protocol ppp` runs
 * on SIGTERM, in one process against a real queue: the request in progress
 * is answered before the worker closes; close() in its place loses it.
 */
import { filter, firstValueFrom } from "rxjs";
import { LazyPirateClient, ParanoidPirateQueue, ParanoidPirateWorker } from "privateer";

let queue: ParanoidPirateQueue;
const closers: Array<() => Promise<void>> = [];

beforeEach(async () => {
  queue = new ParanoidPirateQueue({ frontend: "tcp://127.0.0.1:*", backend: "tcp://127.0.0.1:*", heartbeatInterval: 250 });
  await queue.start();
});

afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  await queue.close();
});

/** A worker whose handler waits for the test; resolves once the queue has it and a request reached the handler. */
async function busyWorker(): Promise<{ worker: ParanoidPirateWorker; release: () => void; reply: Promise<Buffer[]> }> {
  let release!: () => void;
  let markStarted!: () => void;
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  const gate = new Promise<void>((resolve) => (release = resolve));
  const ready = firstValueFrom(queue.events$.pipe(filter((e) => e.type === "worker-ready")));
  const worker = new ParanoidPirateWorker(queue.backendEndpoint!, { heartbeatInterval: 250 });
  worker.serve(async ([body]) => {
    markStarted();
    await gate;
    return `done ${body}`;
  });
  closers.push(() => worker.close());
  await ready;
  const client = new LazyPirateClient(queue.frontendEndpoint!, { timeout: 1500, retries: 0 });
  closers.push(() => client.close());
  const reply = client.call("job");
  reply.catch(() => undefined);
  await started;
  return { worker, release, reply };
}

it("drain() lets the request in progress finish and its reply go out, then closes", async () => {
  const { worker, release, reply } = await busyWorker();
  const drained = worker.drain();
  release();
  expect((await reply).map(String)).toEqual(["done job"]);
  await drained;
  expect(worker.state).toBe("closed");
});

it("control: close() in drain()'s place loses the reply, and the same check sees it", async () => {
  const { worker, release, reply } = await busyWorker();
  const closed = worker.close();
  release();
  await closed;
  await expect(reply).rejects.toMatchObject({ reason: "timeout" });
});

it("drain(timeout) closes after the timeout even if the handler never finishes", async () => {
  const { worker } = await busyWorker();
  const t0 = Date.now();
  await worker.drain(200);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
  expect(worker.state).toBe("closed");
});
