import { filter, firstValueFrom, timer, type Observable } from "rxjs";
import { Router } from "../../../src";
import {
  LazyPirateClient,
  ParanoidPirateQueue,
  ParanoidPirateWorker,
  type PirateQueueEvent,
  type PirateWorkerEvent,
} from "../../../patterns";
import { closeAll } from "../../helpers/endpoints";
import { advanceBy, virtualScheduler } from "../../helpers/clock";

const ANY = "tcp://127.0.0.1:*";
const INTERVAL = 50;
const LIVENESS = 3;

function next<E extends { type: string }, T extends E["type"]>(
  events$: Observable<E>,
  type: T,
  where: (e: Extract<E, { type: T }>) => boolean = () => true,
): Promise<Extract<E, { type: T }>> {
  return firstValueFrom(events$.pipe(filter((e): e is Extract<E, { type: T }> => e.type === type && where(e as Extract<E, { type: T }>))));
}

describe("Paranoid Pirate worker backoff (virtual time)", () => {
  let silentQueue: Router;
  let worker: ParanoidPirateWorker;
  afterEach(() => {
    worker.close();
    closeAll(silentQueue);
  });

  it("reconnects on a fresh socket after 1, 2, 4, 8, 16, 32, 32 s", async () => {
    silentQueue = new Router();
    await silentQueue.bind(ANY);
    const scheduler = virtualScheduler();
    worker = new ParanoidPirateWorker(silentQueue.lastEndpoint!, { scheduler });
    const lost: Array<{ at: number; delay: number }> = [];
    const connecting: Array<{ at: number; attempt: number }> = [];
    worker.events$.subscribe((e) => {
      if (e.type === "queue-lost") lost.push({ at: scheduler.now(), delay: e.delay });
      if (e.type === "connecting") connecting.push({ at: scheduler.now(), attempt: e.attempt });
    });
    worker.serve(() => "unused");
    advanceBy(scheduler, 200_000);
    expect(lost.slice(0, 7).map((l) => l.delay)).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 32000]);
    for (let i = 0; i < 7; i++) {
      // Each loss is followed, after exactly its delay, by a new connection attempt...
      expect(connecting[i + 1]!.at - lost[i]!.at).toBe(lost[i]!.delay);
      // ...and each connection is given up after 3 silent heartbeat intervals plus the grace interval at most.
      const lifetime = lost[i]!.at - connecting[i]!.at;
      expect(lifetime).toBeGreaterThanOrEqual(3000);
      expect(lifetime).toBeLessThanOrEqual(4000);
    }
    expect(connecting.map((c) => c.attempt).slice(0, 8)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
});

describe("Paranoid Pirate queue and workers (Privateer on both ends)", () => {
  let queue: ParanoidPirateQueue;
  const workers: ParanoidPirateWorker[] = [];
  let client: LazyPirateClient | undefined;

  beforeEach(async () => {
    queue = new ParanoidPirateQueue({ frontend: ANY, backend: ANY, heartbeatInterval: INTERVAL, liveness: LIVENESS });
    await queue.start();
  });
  afterEach(() => {
    client?.close();
    for (const worker of workers.splice(0)) worker.close();
    queue.close();
  });

  function startWorker(name: string, endpoint = queue.backendEndpoint!): ParanoidPirateWorker {
    const worker = new ParanoidPirateWorker(endpoint, {
      heartbeatInterval: INTERVAL,
      liveness: LIVENESS,
      routingId: name,
      reconnectInterval: 20,
      reconnectMaxInterval: 80,
    });
    workers.push(worker);
    worker.serve(([body]) => [name, body!]);
    return worker;
  }

  it("stops routing to a worker whose socket vanished, within liveness x interval", async () => {
    const readyA = next(queue.events$, "worker-ready", (e) => e.worker === Buffer.from("A").toString("hex"));
    const readyB = next(queue.events$, "worker-ready", (e) => e.worker === Buffer.from("B").toString("hex"));
    const a = startWorker("A");
    startWorker("B");
    await Promise.all([readyA, readyB]);

    const expired = next(queue.events$, "worker-expired");
    const stoppedAt = Date.now();
    // close() drops the socket with linger 0: PPP has no goodbye, the queue must notice the silence.
    a.close();
    const event = await expired;
    const took = Date.now() - stoppedAt;
    expect(event.worker).toBe(Buffer.from("A").toString("hex"));
    expect(took).toBeGreaterThanOrEqual((LIVENESS - 1) * INTERVAL);
    expect(took).toBeLessThanOrEqual((LIVENESS + 1) * INTERVAL + 150);

    const dispatched: string[] = [];
    queue.events$.subscribe((e) => e.type === "request-dispatched" && dispatched.push(e.worker));
    client = new LazyPirateClient(queue.frontendEndpoint!, { timeout: 2000, retries: 0 });
    for (let i = 0; i < 6; i++) {
      expect((await client.call(`r${i}`)).map(String)).toEqual(["B", `r${i}`]);
    }
    expect(dispatched).toEqual(Array(6).fill(Buffer.from("B").toString("hex")));
  });

  it("a worker whose queue restarts reconnects with a fresh socket and serves the new queue", async () => {
    const worker = startWorker("W");
    await next(queue.events$, "worker-ready");
    const endpoint = queue.backendEndpoint!;
    const frontend = queue.frontendEndpoint!;
    const lost = next(worker.events$, "queue-lost");
    queue.close();
    expect((await lost).delay).toBe(20);

    queue = new ParanoidPirateQueue({ frontend, backend: endpoint, heartbeatInterval: INTERVAL, liveness: LIVENESS });
    const readyAgain = next(queue.events$, "worker-ready");
    const reconnected = next(worker.events$, "reconnected");
    await queue.start();
    await Promise.all([readyAgain, reconnected]);
    client = new LazyPirateClient(queue.frontendEndpoint!, { timeout: 2000, retries: 0 });
    expect((await client.call("after restart")).map(String)).toEqual(["W", "after restart"]);
  });

  it("keeps a busy worker alive: it heartbeats while its handler runs for many intervals", async () => {
    const worker = new ParanoidPirateWorker(queue.backendEndpoint!, { heartbeatInterval: INTERVAL, liveness: LIVENESS });
    workers.push(worker);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    worker.serve(async ([body]) => {
      await gate;
      return ["slow", body!];
    });
    await next(queue.events$, "worker-ready");
    const expirations: PirateQueueEvent[] = [];
    queue.events$.subscribe((e) => e.type === "worker-expired" && expirations.push(e));
    client = new LazyPirateClient(queue.frontendEndpoint!, { timeout: 5000, retries: 0 });
    const reply = client.call("x");
    await next(worker.events$, "request");
    // The passage of time is the condition under test: ten intervals of work, long enough for a
    // worker that went quiet while busy to be expired three times over.
    await firstValueFrom(timer(10 * INTERVAL));
    release();
    expect((await reply).map(String)).toEqual(["slow", "x"]);
    expect(expirations).toEqual([]);
  });

  it("a failing handler sends READY instead of a reply, so the worker gets new work and the client's retry succeeds", async () => {
    const worker = new ParanoidPirateWorker(queue.backendEndpoint!, { heartbeatInterval: INTERVAL, liveness: LIVENESS });
    workers.push(worker);
    let calls = 0;
    worker.serve(([body]) => {
      calls += 1;
      if (calls === 1) throw new Error("first call fails");
      return ["ok", body!];
    });
    await next(queue.events$, "worker-ready");
    const failures: PirateWorkerEvent[] = [];
    worker.events$.subscribe((e) => e.type === "handler-error" && failures.push(e));
    client = new LazyPirateClient(queue.frontendEndpoint!, { timeout: 300, retries: 2 });
    expect((await client.call("job")).map(String)).toEqual(["ok", "job"]);
    expect(calls).toBe(2);
    expect(failures).toHaveLength(1);
  });
});
