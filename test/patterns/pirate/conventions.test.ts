import { firstValueFrom, type Observable } from "rxjs";
import { PrivateerError } from "../../../src";
import {
  LazyPirateClient,
  MajordomoBroker,
  MajordomoClient,
  MajordomoError,
  MajordomoWorker,
  ParanoidPirateQueue,
  ParanoidPirateWorker,
  PirateError,
  SimplePirateWorker,
} from "../../../patterns";

/*
 * The conventions both pattern families share: one error base class, one
 * name for the last event, close() as a promise that settles once the
 * sockets are released, state$ replaying the current state, and one rule
 * per option name.
 */

const ANY = "tcp://127.0.0.1:*";

interface Closable {
  readonly events$: Observable<{ readonly type: string }>;
  close(): Promise<void>;
}

/** Closes `component` and checks the close contract: last event "close", before the promise settles; idempotent. */
async function expectCloseContract(name: string, component: Closable): Promise<void> {
  const order: string[] = [];
  let last: string | undefined;
  let completed = false;
  component.events$.subscribe({
    next: (event) => (last = event.type),
    complete: () => {
      completed = true;
      order.push("complete");
    },
  });
  const closing = component.close();
  expect(closing).toBeInstanceOf(Promise);
  // A second call must not start a second close, nor settle earlier than the first.
  expect(component.close()).toBe(closing);
  await closing.then(() => order.push("resolved"));
  expect({ name, last, completed, order }).toEqual({ name, last: "close", completed: true, order: ["complete", "resolved"] });
}

describe("pattern conventions", () => {
  it("every pattern error is a PrivateerError with an errno-style code, a reason and the cause", async () => {
    const cause = new PrivateerError("EHOSTUNREACH", "no route");
    const socketFailure = new PirateError("socket", "send failed", { cause });
    expect(socketFailure).toBeInstanceOf(PrivateerError);
    expect(socketFailure).toMatchObject({ reason: "socket", code: "EHOSTUNREACH", cause, name: "PirateError" });

    const client = new LazyPirateClient("tcp://127.0.0.1:1");
    await client.close();
    const closed = await client.call("late").catch((error: unknown) => error);
    expect(closed).toBeInstanceOf(PirateError);
    expect(closed).toBeInstanceOf(PrivateerError);
    expect(closed).toMatchObject({ reason: "closed", code: "EBADF" });

    const mdpClient = new MajordomoClient({ broker: "tcp://127.0.0.1:1" });
    await mdpClient.close();
    const mdpClosed = await mdpClient.call("echo", "late").catch((error: unknown) => error);
    expect(mdpClosed).toBeInstanceOf(MajordomoError);
    expect(mdpClosed).toBeInstanceOf(PrivateerError);
    // The reasons both families share map to the same codes.
    expect(mdpClosed).toMatchObject({ reason: "closed", code: (closed as PirateError).code });
  });

  it("one rule per option name in both families: whole numbers, >= 1 or >= 0", () => {
    const einval = expect.objectContaining({ code: "EINVAL" });
    for (const options of [{ timeout: 0 }, { timeout: 0.5 }, { retries: -1 }, { retries: 1.5 }]) {
      expect(() => new LazyPirateClient("tcp://127.0.0.1:1", options)).toThrow(einval);
      expect(() => new MajordomoClient({ broker: "tcp://127.0.0.1:1", ...options })).toThrow(einval);
    }
    expect(() => new ParanoidPirateWorker("tcp://127.0.0.1:1", { heartbeatInterval: 2.5 })).toThrow(einval);
    expect(() => new MajordomoWorker({ broker: "tcp://127.0.0.1:1", service: "s", concurrency: 1.5 })).toThrow(einval);
    // The same values pass in both.
    expect(() => new LazyPirateClient("tcp://127.0.0.1:1", { timeout: 1, retries: 0 })).not.toThrow();
    expect(() => new MajordomoClient({ broker: "tcp://127.0.0.1:1", timeout: 1, retries: 0 })).not.toThrow();
  });

  it("every component's close() resolves after its last event, `close`, and returns the same promise when repeated", async () => {
    const queue = new ParanoidPirateQueue({ frontend: ANY, backend: ANY });
    await queue.start();
    const worker = new ParanoidPirateWorker(queue.backendEndpoint!, { heartbeatInterval: 100 }).serve(([body]) => body!);
    const client = new LazyPirateClient(queue.frontendEndpoint!, { timeout: 5000 });
    expect((await client.call("ping")).map(String)).toEqual(["ping"]);
    const simple = new SimplePirateWorker(queue.backendEndpoint!).serve(([body]) => body!);

    const broker = new MajordomoBroker();
    await broker.bind(ANY);
    const mdpWorker = new MajordomoWorker({ broker: broker.lastEndpoint!, service: "echo" });
    mdpWorker.serve(({ body }) => body);
    const mdpClient = new MajordomoClient({ broker: broker.lastEndpoint!, timeout: 5000 });
    expect((await mdpClient.call("echo", "ping")).map(String)).toEqual(["ping"]);

    await expectCloseContract("LazyPirateClient", client);
    await expectCloseContract("SimplePirateWorker", simple);
    await expectCloseContract("ParanoidPirateWorker", worker);
    await expectCloseContract("ParanoidPirateQueue", queue);
    await expectCloseContract("MajordomoClient", mdpClient);
    await expectCloseContract("MajordomoWorker", mdpWorker);
    await broker.close();
  });

  it("state$ replays the current state to a late subscriber, and completes after closed", async () => {
    // Worker and queue must beat at the same rate, or the worker presumes the queue dead between its beats.
    const queue = new ParanoidPirateQueue({ frontend: ANY, backend: ANY, heartbeatInterval: 50 });
    expect(await firstValueFrom(queue.state$)).toBe("new");
    await queue.start();
    expect(await firstValueFrom(queue.state$)).toBe("running");

    const worker = new ParanoidPirateWorker(queue.backendEndpoint!, { heartbeatInterval: 50 });
    expect(worker.state).toBe("new");
    worker.serve(([body]) => body!);
    // The queue's first heartbeat makes the worker connected; a late subscriber still sees it.
    const connected = await waitForState(worker.state$, "connected");
    expect(connected).toBe("connected");
    expect(await firstValueFrom(worker.state$)).toBe("connected");

    const simple = new SimplePirateWorker(queue.backendEndpoint!);
    simple.serve(([body]) => body!);
    expect(await firstValueFrom(simple.state$)).not.toBe("new");

    const mdpWorker = new MajordomoWorker({ broker: "tcp://127.0.0.1:1", service: "echo" });
    expect(await firstValueFrom(mdpWorker.state$)).toBe("new");
    mdpWorker.serve(({ body }) => body);
    expect(await firstValueFrom(mdpWorker.state$)).toBe("serving");

    const seen: string[] = [];
    let completed = false;
    worker.state$.subscribe({ next: (state) => seen.push(state), complete: () => (completed = true) });
    await Promise.all([worker.close(), simple.close(), mdpWorker.close(), queue.close()]);
    expect(seen).toEqual(["connected", "closed"]);
    expect(completed).toBe(true);
    expect([queue.state, simple.state, mdpWorker.state]).toEqual(["closed", "closed", "closed"]);
  });
});

/** Resolves with `state` once `state$` reaches it (state$ replays, so it may already be there). */
function waitForState<T>(state$: Observable<T>, state: T): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const subscription = state$.subscribe({
      next: (value) => {
        if (value !== state) return;
        resolve(value);
        queueMicrotask(() => subscription.unsubscribe());
      },
      complete: () => reject(new Error(`completed before reaching ${String(state)}`)),
    });
  });
}
