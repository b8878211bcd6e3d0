import { filter, firstValueFrom, type Observable } from "rxjs";
import { Dealer, Request } from "../../../src";
import { LazyPirateClient, SimplePirateQueue, SimplePirateWorker, type PirateQueueEvent } from "../../../patterns";
import { closeAll } from "../../helpers/endpoints";

const ANY = "tcp://127.0.0.1:*";
const hex = (s: string): string => Buffer.from(s).toString("hex");

function next<T extends PirateQueueEvent["type"]>(
  events$: Observable<PirateQueueEvent>,
  type: T,
  where: (e: Extract<PirateQueueEvent, { type: T }>) => boolean = () => true,
): Promise<Extract<PirateQueueEvent, { type: T }>> {
  return firstValueFrom(
    events$.pipe(filter((e): e is Extract<PirateQueueEvent, { type: T }> => e.type === type && where(e as Extract<PirateQueueEvent, { type: T }>))),
  );
}

describe("Simple Pirate queue", () => {
  let queue: SimplePirateQueue;
  const workers: SimplePirateWorker[] = [];
  let client: LazyPirateClient | undefined;
  let raw: Request | undefined;

  beforeEach(async () => {
    queue = new SimplePirateQueue({ frontend: ANY, backend: ANY });
    await queue.start();
  });
  afterEach(() => {
    client?.close();
    closeAll(raw);
    for (const worker of workers.splice(0)) worker.close();
    queue.close();
  });

  async function startWorker(name: string): Promise<SimplePirateWorker> {
    const ready = next(queue.events$, "worker-ready", (e) => e.worker === hex(name));
    const worker = new SimplePirateWorker(queue.backendEndpoint!, { routingId: name });
    workers.push(worker);
    worker.serve(([body]) => [name, body!]);
    await ready;
    return worker;
  }

  it("routes each request to the least recently used worker", async () => {
    await startWorker("w1");
    await startWorker("w2");
    await startWorker("w3");
    client = new LazyPirateClient(queue.frontendEndpoint!, { timeout: 2000, retries: 0 });
    const servedBy: string[] = [];
    for (let i = 0; i < 6; i++) servedBy.push((await client.call(`r${i}`))[0]!.toString());
    // Each worker goes to the back of the line after its reply: strict rotation in readiness order.
    expect(servedBy).toEqual(["w1", "w2", "w3", "w1", "w2", "w3"]);
  });

  it("tags every event about a request with the queue's request number, from arrival to the reply", async () => {
    await startWorker("w1");
    await startWorker("w2");
    client = new LazyPirateClient(queue.frontendEndpoint!, { timeout: 2000, retries: 0 });
    const trail: string[] = [];
    queue.events$.subscribe((e) => {
      if ("request" in e) trail.push(`${e.request}:${e.type}:${"worker" in e ? e.worker : ""}`);
    });
    // Two requests in flight at once, answered by different workers: each reply names its own request.
    const raw2 = new LazyPirateClient(queue.frontendEndpoint!, { timeout: 2000, retries: 0 });
    try {
      await Promise.all([client.call("a"), raw2.call("b")]);
    } finally {
      await raw2.close();
    }
    const byRequest = (id: number) => trail.filter((line) => line.startsWith(`${id}:`));
    for (const id of [1, 2]) {
      const [dispatched, forwarded] = byRequest(id);
      expect(dispatched).toMatch(new RegExp(`^${id}:request-dispatched:`));
      // The reply is tied to the request through the worker that was given it.
      expect(forwarded).toBe(dispatched!.replace("request-dispatched", "reply-forwarded"));
    }
    expect(new Set([byRequest(1)[0]!.split(":")[2], byRequest(2)[0]!.split(":")[2]])).toEqual(new Set([hex("w1"), hex("w2")]));
  });

  it("holds requests while no worker is ready and dispatches them as workers arrive", async () => {
    client = new LazyPirateClient(queue.frontendEndpoint!, { timeout: 5000, retries: 0 });
    const queued = next(queue.events$, "request-queued");
    const reply = client.call("early");
    expect((await queued).queued).toBe(1);
    expect(queue.queuedRequestCount).toBe(1);
    await startWorker("late");
    expect((await reply).map(String)).toEqual(["late", "early"]);
    expect(queue.queuedRequestCount).toBe(0);
  });

  it("speaks the spworker wire format: a REQ worker sends 01, receives client, empty, body", async () => {
    raw = new Request();
    const ready = next(queue.events$, "worker-ready");
    raw.connect(queue.backendEndpoint!);
    await raw.send(Buffer.from([0x01]));
    await ready;
    client = new LazyPirateClient(queue.frontendEndpoint!, { timeout: 5000, retries: 0 });
    const reply = client.call(["a", "b"]);
    const request = await raw.receive();
    expect(request.length).toBe(4);
    expect(request[1]!.length).toBe(0);
    expect(request.slice(2).map(String)).toEqual(["a", "b"]);
    await raw.send([request[0]!, request[1]!, "done"]);
    expect((await reply).map(String)).toEqual(["done"]);
  });

  it("drops requests beyond maxQueuedRequests and says so", async () => {
    queue.close();
    queue = new SimplePirateQueue({ frontend: ANY, backend: ANY, maxQueuedRequests: 1 });
    await queue.start();
    const clients = [new Request(), new Request()];
    try {
      for (const c of clients) c.connect(queue.frontendEndpoint!);
      const dropped = next(queue.events$, "request-dropped");
      await clients[0]!.send("kept");
      await next(queue.events$, "request-queued");
      await clients[1]!.send("dropped");
      expect((await dropped).queued).toBe(1);
    } finally {
      closeAll(...clients);
    }
  });

  it("by default queues a burst of 1,500 requests while no worker is idle, drops none, and serves them in order", async () => {
    const dealer = new Dealer();
    try {
      dealer.connect(queue.frontendEndpoint!);
      const events: string[] = [];
      let queued = 0;
      const allQueued = new Promise<void>((resolve) =>
        queue.events$.subscribe((event) => {
          events.push(event.type);
          // A drop ends the wait too, so a bounded default fails on the assertion below rather than by timeout.
          if ((event.type === "request-queued" && ++queued === 1500) || event.type === "request-dropped") resolve();
        }),
      );
      for (let i = 0; i < 1500; i++) await dealer.send(["", `r${i}`]);
      await allQueued;
      expect(events.filter((type) => type === "request-dropped")).toHaveLength(0);
      const worker = new SimplePirateWorker(queue.backendEndpoint!);
      workers.push(worker);
      worker.serve(([body]) => [body!]);
      const bodies: string[] = [];
      for (let i = 0; i < 1500; i++) bodies.push(String((await dealer.receive())[1]));
      expect(bodies).toEqual(Array.from({ length: 1500 }, (_, i) => `r${i}`));
    } finally {
      closeAll(dealer);
    }
  });

  it("a worker whose handler fails sends READY and stays in rotation", async () => {
    const worker = new SimplePirateWorker(queue.backendEndpoint!);
    workers.push(worker);
    let calls = 0;
    const ready = next(queue.events$, "worker-ready");
    worker.serve(([body]) => {
      calls += 1;
      if (calls === 1) return Promise.reject(new Error("boom"));
      return ["fine", body!];
    });
    await ready;
    client = new LazyPirateClient(queue.frontendEndpoint!, { timeout: 300, retries: 1 });
    expect((await client.call("retry me")).map(String)).toEqual(["fine", "retry me"]);
    expect(calls).toBe(2);
  });
});
