import * as path from "node:path";
import { filter, firstValueFrom, timer, type Observable } from "rxjs";
import { LazyPirateClient, ParanoidPirateQueue, ParanoidPirateWorker } from "../../../patterns";
import { PATTERN_PEERS, PythonPeer } from "../../helpers/python";
import { describeIfPeer, PYZMQ } from "../../helpers/prerequisites";

// Outside CI, skipped when pyzmq is missing (npm test lists it at the end); under CI, run regardless.
const describeWithPyzmq = describeIfPeer(PYZMQ);

const ANY = "tcp://127.0.0.1:*";
const INTERVAL = 50;
const LIVENESS = 3;
const script = (name: string): string => path.join(PATTERN_PEERS, name);
const hex = (s: string): string => Buffer.from(s).toString("hex");

function next<E extends { type: string }, T extends E["type"]>(
  events$: Observable<E>,
  type: T,
  where: (e: Extract<E, { type: T }>) => boolean = () => true,
): Promise<Extract<E, { type: T }>> {
  return firstValueFrom(events$.pipe(filter((e): e is Extract<E, { type: T }> => e.type === type && where(e as Extract<E, { type: T }>))));
}

jest.setTimeout(30000);

describeWithPyzmq("Privateer Paranoid Pirate queue with pyzmq workers (zguide ppworker behaviour)", () => {
  let queue: ParanoidPirateQueue;
  const peers: PythonPeer[] = [];
  let worker: ParanoidPirateWorker | undefined;
  let client: LazyPirateClient | undefined;

  beforeEach(async () => {
    queue = new ParanoidPirateQueue({ frontend: ANY, backend: ANY, heartbeatInterval: INTERVAL, liveness: LIVENESS });
    await queue.start();
  });
  afterEach(async () => {
    client?.close();
    worker?.close();
    queue.close();
    await Promise.all(peers.splice(0).map((peer) => peer.stop()));
  });

  function pythonWorker(identity: string, tag: string): PythonPeer {
    const peer = new PythonPeer(script("ppp_worker.py"), [
      queue.backendEndpoint!,
      "--interval", String(INTERVAL),
      "--liveness", String(LIVENESS),
      "--identity", identity,
      "--tag", tag,
    ]);
    peers.push(peer);
    return peer;
  }

  it("serves requests through a Python worker", async () => {
    const ready = next(queue.events$, "worker-ready", (e) => e.worker === hex("py-1"));
    pythonWorker("py-1", "python");
    await ready;
    client = new LazyPirateClient(queue.frontendEndpoint!, { timeout: 3000, retries: 0 });
    for (let i = 0; i < 5; i++) {
      expect((await client.call([`req-${i}`, "second frame"])).map(String)).toEqual(["python", `req-${i}`, "second frame"]);
    }
  });

  it("keeps an idle Python worker alive on heartbeats alone, and the worker stays put", async () => {
    const ready = next(queue.events$, "worker-ready", (e) => e.worker === hex("py-idle"));
    const peer = pythonWorker("py-idle", "python");
    await ready;
    const trouble: string[] = [];
    queue.events$.subscribe((e) => (e.type === "worker-expired" || e.type === "protocol-error") && trouble.push(e.type));
    // The passage of time is the condition under test: twelve intervals with nothing but heartbeats.
    await firstValueFrom(timer(12 * INTERVAL));
    expect(trouble).toEqual([]);
    expect(queue.workerCount).toBe(1);
    expect(peer.lines.filter((l) => l.startsWith("LOST") || l.startsWith("INVALID"))).toEqual([]);
  });

  it("expires a SIGSTOPped Python worker within liveness x interval and routes everything to the live one", async () => {
    const readyPy = next(queue.events$, "worker-ready", (e) => e.worker === hex("py-frozen"));
    const readyTs = next(queue.events$, "worker-ready", (e) => e.worker === hex("ts-live"));
    const peer = pythonWorker("py-frozen", "python");
    worker = new ParanoidPirateWorker(queue.backendEndpoint!, { heartbeatInterval: INTERVAL, liveness: LIVENESS, routingId: "ts-live" });
    worker.serve(([body]) => ["privateer", body!]);
    await Promise.all([readyPy, readyTs]);

    const expired = next(queue.events$, "worker-expired");
    const pausedAt = Date.now();
    peer.signal("SIGSTOP");
    const event = await expired;
    const took = Date.now() - pausedAt;
    expect(event.worker).toBe(hex("py-frozen"));
    // Its last heartbeat may predate the pause by one interval, and the check runs once per interval.
    expect(took).toBeLessThanOrEqual((LIVENESS + 1) * INTERVAL + 150);
    expect(queue.workerCount).toBe(1);

    client = new LazyPirateClient(queue.frontendEndpoint!, { timeout: 3000, retries: 0 });
    for (let i = 0; i < 6; i++) {
      expect((await client.call(`r${i}`)).map(String)).toEqual(["privateer", `r${i}`]);
    }
  });
});

describeWithPyzmq("Privateer Paranoid Pirate worker with the pyzmq queue (zguide ppqueue behaviour)", () => {
  let pyQueue: PythonPeer;
  let frontend: string;
  let backend: string;
  let worker: ParanoidPirateWorker | undefined;
  let client: LazyPirateClient | undefined;

  beforeEach(async () => {
    pyQueue = new PythonPeer(script("ppp_queue.py"), [ANY, ANY, "--interval", String(INTERVAL), "--liveness", String(LIVENESS)]);
    [, frontend, backend] = (await pyQueue.waitFor("READY")).split(" ") as [string, string, string];
  });
  afterEach(async () => {
    client?.close();
    worker?.close();
    await pyQueue.stop();
  });

  it("is served requests by the Python queue and answers them", async () => {
    worker = new ParanoidPirateWorker(backend, { heartbeatInterval: INTERVAL, liveness: LIVENESS });
    worker.serve((frames) => ["privateer", ...frames]);
    client = new LazyPirateClient(frontend, { timeout: 3000, retries: 0 });
    for (let i = 0; i < 5; i++) {
      expect((await client.call([`job-${i}`, "x"])).map(String)).toEqual(["privateer", `job-${i}`, "x"]);
    }
    expect(pyQueue.lines.filter((l) => l.startsWith("INVALID") || l.startsWith("EXPIRED"))).toEqual([]);
  });

  it("hears the Python queue's heartbeats: idle for many intervals without losing it", async () => {
    worker = new ParanoidPirateWorker(backend, { heartbeatInterval: INTERVAL, liveness: LIVENESS });
    const lost: string[] = [];
    worker.events$.subscribe((e) => e.type === "queue-lost" && lost.push(e.type));
    worker.serve(() => "unused");
    await firstValueFrom(timer(12 * INTERVAL));
    expect(lost).toEqual([]);
    expect(pyQueue.lines.filter((l) => l.startsWith("EXPIRED"))).toEqual([]);
  });

  it("notices the Python queue is frozen and reconnects once it is back", async () => {
    worker = new ParanoidPirateWorker(backend, {
      heartbeatInterval: INTERVAL,
      liveness: LIVENESS,
      reconnectInterval: 50,
      reconnectMaxInterval: 100,
    });
    worker.serve((frames) => ["privateer", ...frames]);
    // After the thaw the queue may still hold the worker's old, dead identity and route one request
    // there (ppqueue does that); the client's retry is how Pirate recovers from it.
    client = new LazyPirateClient(frontend, { timeout: 500, retries: 3 });
    expect((await client.call("before")).map(String)).toEqual(["privateer", "before"]);
    const lost = next(worker.events$, "queue-lost");
    pyQueue.signal("SIGSTOP");
    expect((await lost).delay).toBe(50);
    const reconnected = next(worker.events$, "reconnected");
    pyQueue.signal("SIGCONT");
    await reconnected;
    expect((await client.call("after")).map(String)).toEqual(["privateer", "after"]);
  });
});
