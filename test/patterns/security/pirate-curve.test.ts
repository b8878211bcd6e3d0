/**
 * The Pirate patterns over CURVE on tcp, guarded by a ZAP allow-list in this
 * process: the queue binds both ROUTERs as CURVE servers (`socket`), with a
 * ZAP domain per side (`frontendSocket`, `backendSocket`) so the decisions
 * tell which side a handshake reached; workers and Lazy Pirate clients
 * connect as CURVE clients with the queue's public key. Unlisted workers
 * and clients are refused and get no service while listed ones are served,
 * and the sockets the patterns re-create (a client's after a timeout, a
 * Paranoid worker's after its queue restarts) are CURVE clients too.
 */
import { filter, firstValueFrom, ReplaySubject, timeout } from "rxjs";
import {
  LazyPirateClient,
  ParanoidPirateQueue,
  ParanoidPirateWorker,
  PirateError,
  SimplePirateQueue,
  SimplePirateWorker,
  type PirateQueueEvent,
  type PirateWorkerEvent,
} from "../../../patterns";
import { curveKeyPair, zapAllowList, zapAuthenticator, type SocketOptions, type ZapAuthenticator, type ZapOutcome } from "../../../src";

jest.setTimeout(30000);

const ANY = "tcp://127.0.0.1:*";
const INTERVAL = 100;

type KeyPair = ReturnType<typeof curveKeyPair>;
const queueKey = curveKeyPair();
const workerKey = curveKeyPair();
const clientKey = curveKeyPair();
const stranger = curveKeyPair();

let auth: ZapAuthenticator | undefined;
let decisions: ZapOutcome[] = [];
let decisionReplay = new ReplaySubject<ZapOutcome>();
const closers: Array<{ close(): Promise<void> }> = [];

beforeEach(async () => {
  auth = await zapAuthenticator(zapAllowList({ curvePublicKeys: [workerKey.publicKey, clientKey.publicKey] }));
  decisions = [];
  decisionReplay = new ReplaySubject<ZapOutcome>();
  auth.decisions$.subscribe((outcome) => {
    decisions.push(outcome);
    decisionReplay.next(outcome);
  });
});

afterEach(async () => {
  // Clients and workers first, then the queues they talk to.
  await Promise.all(closers.splice(0).reverse().map((closer) => closer.close()));
  auth?.close();
  auth = undefined;
});

/** Waits for the authenticator's decision on `key` in `domain`. */
const decision = (domain: string, key: string) =>
  firstValueFrom(decisionReplay.pipe(filter((d) => d.domain === domain && d.curvePublicKey === key), timeout(5000)));
const count = (domain: string, key: string, status: number) =>
  decisions.filter((d) => d.domain === domain && d.curvePublicKey === key && d.status === status).length;

/** The settings of a CURVE client with `key` talking to the queue. */
const curveClient = (key: KeyPair): SocketOptions => ({ curvePublicKey: key.publicKey, curveSecretKey: key.secretKey, curveServerKey: queueKey.publicKey });

const queueSockets = {
  socket: { curveServer: true, curveSecretKey: queueKey.secretKey },
  frontendSocket: { zapDomain: "ppp-frontend" },
  backendSocket: { zapDomain: "ppp-backend" },
};

function next<E extends { type: string }, T extends E["type"]>(events$: ReplaySubject<E>, type: T, where: (e: Extract<E, { type: T }>) => boolean = () => true) {
  return firstValueFrom(events$.pipe(filter((e): e is Extract<E, { type: T }> => e.type === type && where(e as Extract<E, { type: T }>)), timeout(5000)));
}

async function paranoidQueue(frontend = ANY, backend = ANY): Promise<{ queue: ParanoidPirateQueue; events: ReplaySubject<PirateQueueEvent> }> {
  const queue = new ParanoidPirateQueue({ frontend, backend, heartbeatInterval: INTERVAL, liveness: 3, ...queueSockets });
  const events = new ReplaySubject<PirateQueueEvent>();
  queue.events$.subscribe(events);
  closers.push(queue);
  await queue.start();
  return { queue, events };
}

function paranoidWorker(endpoint: string, name: string, key: KeyPair): { worker: ParanoidPirateWorker; events: ReplaySubject<PirateWorkerEvent> } {
  const worker = new ParanoidPirateWorker(endpoint, {
    heartbeatInterval: INTERVAL,
    liveness: 3,
    reconnectInterval: 20,
    reconnectMaxInterval: 80,
    routingId: name,
    socket: curveClient(key),
  });
  const events = new ReplaySubject<PirateWorkerEvent>();
  worker.events$.subscribe(events);
  closers.push(worker);
  worker.serve(([body]) => [name, body!]);
  return { worker, events };
}

function lazyClient(endpoint: string, key: KeyPair, timeoutMs: number, retries: number): LazyPirateClient {
  const client = new LazyPirateClient(endpoint, { timeout: timeoutMs, retries, socket: curveClient(key) });
  closers.push(client);
  return client;
}

const text = (frames: Buffer[]) => frames.map(String);
const hex = (name: string) => Buffer.from(name).toString("hex");

describe("Paranoid Pirate over CURVE with a ZAP allow-list", () => {
  it("serves listed workers and clients; an unlisted worker gets no request, an unlisted client times out", async () => {
    const { queue, events } = await paranoidQueue();
    paranoidWorker(queue.backendEndpoint!, "W", workerKey);
    paranoidWorker(queue.backendEndpoint!, "S", stranger);
    await next(events, "worker-ready", (e) => e.worker === hex("W"));
    expect((await decision("ppp-backend", workerKey.publicKey)).status).toBe(200);
    expect((await decision("ppp-backend", stranger.publicKey)).status).toBe(400);

    const client = lazyClient(queue.frontendEndpoint!, clientKey, 2000, 1);
    for (let i = 0; i < 4; i++) expect(text(await client.call(`r${i}`))).toEqual(["W", `r${i}`]);
    expect((await decision("ppp-frontend", clientKey.publicKey)).status).toBe(200);

    const intruder = lazyClient(queue.frontendEndpoint!, stranger, 300, 1);
    const refused = intruder.call("let me in");
    await expect(refused).rejects.toBeInstanceOf(PirateError);
    await expect(refused).rejects.toMatchObject({ reason: "timeout" });
    expect(count("ppp-frontend", stranger.publicKey, 400)).toBeGreaterThanOrEqual(1);
    expect(count("ppp-frontend", stranger.publicKey, 200) + count("ppp-backend", stranger.publicKey, 200)).toBe(0);
    // Only W ever registered, and every request the queue dispatched went to it.
    const seen: PirateQueueEvent[] = [];
    events.subscribe((e) => seen.push(e)).unsubscribe();
    // (worker-ready repeats each time a worker is idle again, so the set of workers is what counts.)
    expect(new Set(seen.flatMap((e) => (e.type === "worker-ready" ? [e.worker] : [])))).toEqual(new Set([hex("W")]));
    // Every dispatch went to W (a retry on a busy machine may add one: the count is at least the four requests).
    const dispatched = seen.flatMap((e) => (e.type === "request-dispatched" ? [e.worker] : []));
    expect(new Set(dispatched)).toEqual(new Set([hex("W")]));
    expect(dispatched.length).toBeGreaterThanOrEqual(4);
    expect(text(await client.call("still served"))).toEqual(["W", "still served"]);
  });

  it("a Paranoid worker's socket re-created after its queue restarts is a CURVE client too", async () => {
    const first = await paranoidQueue();
    const { events: workerEvents } = paranoidWorker(first.queue.backendEndpoint!, "W", workerKey);
    await next(first.events, "worker-ready");
    const [frontend, backend] = [first.queue.frontendEndpoint!, first.queue.backendEndpoint!];
    await first.queue.close();
    await next(workerEvents, "queue-lost");

    const second = await paranoidQueue(frontend, backend);
    await Promise.all([next(second.events, "worker-ready"), next(workerEvents, "reconnected")]);
    expect(text(await lazyClient(frontend, clientKey, 2000, 1).call("after restart"))).toEqual(["W", "after restart"]);
    expect(count("ppp-backend", workerKey.publicKey, 200)).toBeGreaterThanOrEqual(2);
  });

  it("a Lazy Pirate client's fresh socket after a timeout is a CURVE client too", async () => {
    const { queue, events } = await paranoidQueue();
    const client = lazyClient(queue.frontendEndpoint!, clientKey, 300, 5);
    const retried = firstValueFrom(client.events$.pipe(filter((e) => e.type === "retry"), timeout(5000)));
    const reply = client.call("late");
    // No worker yet: the first attempt times out and the client opens a fresh socket.
    await retried;
    paranoidWorker(queue.backendEndpoint!, "W", workerKey);
    await next(events, "worker-ready");
    expect(text(await reply)).toEqual(["W", "late"]);
    expect(count("ppp-frontend", clientKey.publicKey, 200)).toBeGreaterThanOrEqual(2);
  });
});

describe("Simple Pirate over CURVE with a ZAP allow-list", () => {
  it("an unlisted worker is refused and gets no request; the listed one serves them all", async () => {
    const queue = new SimplePirateQueue({ frontend: ANY, backend: ANY, ...queueSockets });
    const events = new ReplaySubject<PirateQueueEvent>();
    queue.events$.subscribe(events);
    closers.push(queue);
    await queue.start();
    const workerFor = (name: string, key: KeyPair) => {
      const worker = new SimplePirateWorker(queue.backendEndpoint!, { routingId: name, socket: curveClient(key) });
      closers.push(worker);
      worker.serve(([body]) => [name, body!]);
    };
    workerFor("S", stranger);
    expect((await decision("ppp-backend", stranger.publicKey)).status).toBe(400);
    workerFor("A", workerKey);
    await next(events, "worker-ready", (e) => e.worker === hex("A"));

    const client = lazyClient(queue.frontendEndpoint!, clientKey, 2000, 1);
    for (let i = 0; i < 3; i++) expect(text(await client.call(`r${i}`))).toEqual(["A", `r${i}`]);
    const refused = lazyClient(queue.frontendEndpoint!, stranger, 300, 0).call("let me in");
    await expect(refused).rejects.toMatchObject({ reason: "timeout" });
    expect(count("ppp-frontend", stranger.publicKey, 400)).toBeGreaterThanOrEqual(1);
    expect(count("ppp-backend", workerKey.publicKey, 200)).toBe(1);
  });
});

describe("socket options a socket refuses", () => {
  it("fail each request with reason socket and the socket's EINVAL as cause, and nothing escapes", async () => {
    // A malformed key: the REQ refuses it when the client opens its socket for the first request.
    const client = new LazyPirateClient("tcp://127.0.0.1:1", { timeout: 200, retries: 0, socket: { curveServerKey: "not a Z85 key" } });
    closers.push(client);
    for (const body of ["one", "two"]) {
      const failed = client.call(body);
      await expect(failed).rejects.toBeInstanceOf(PirateError);
      await expect(failed).rejects.toMatchObject({ reason: "socket", cause: expect.objectContaining({ code: "EINVAL" }) });
    }
    // Control: the same client shape with a well-formed key opens its socket; the request then times out instead.
    const wellFormed = new LazyPirateClient("tcp://127.0.0.1:1", { timeout: 200, retries: 0, socket: curveClient(clientKey) });
    closers.push(wellFormed);
    await expect(wellFormed.call("three")).rejects.toMatchObject({ reason: "timeout" });
  });
});
