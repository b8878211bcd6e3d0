/**
 * The per-request `id` option of the Majordomo clients (issue #9): a caller
 * that gives its own ids can restart (a new client object, a new process)
 * and send its unfinished requests again without any of them running twice.
 */
import { MajordomoAsyncClient, MajordomoClient, MajordomoWorker, PrivateerError } from "privateer";
import { MemoryStore } from "privateer/exactly-once";
import { startBroker, Tracker } from "./e2e";

jest.setTimeout(30000);

describe("the Majordomo clients' request id option", () => {
  const tracker = new Tracker();
  afterEach(() => tracker.closeAll());

  it("rejects an id that cannot travel as one, at the call", () => {
    const client = tracker.track(new MajordomoAsyncClient({ broker: "tcp://127.0.0.1:1" }));
    expect(() => client.request("echo", "x", { id: "" })).toThrow(PrivateerError);
    expect(() => client.request("echo", "x", { id: "é".repeat(128) })).toThrow(/1 to 255 UTF-8 bytes/);
    expect(() => client.request("echo", "x", { id: "a".repeat(255) })).not.toThrow();
  });

  /** A broker and one worker whose handler counts its runs per request id. */
  async function service(options: { store?: MemoryStore; replyCacheSize?: number } = {}) {
    const { broker, endpoint } = await startBroker(tracker, options.replyCacheSize === undefined ? {} : { replyCacheSize: options.replyCacheSize });
    const runs = new Map<string, number>();
    const worker = tracker.track(new MajordomoWorker({ broker: endpoint, service: "echo", socket: { linger: 0 } }));
    let open = (): void => undefined;
    let gate: Promise<void> = Promise.resolve();
    worker.serve(
      async ({ body, id }) => {
        const key = id ?? "(none)";
        runs.set(key, (runs.get(key) ?? 0) + 1);
        await gate;
        return [`echo:${String(body[0])}`];
      },
      options.store ? { idempotency: options.store } : {},
    );
    return {
      broker,
      endpoint,
      runs,
      /** Holds every request in the handler until the returned function is called. */
      hold: () => {
        gate = new Promise<void>((resolve) => (open = resolve));
        return () => open();
      },
    };
  }

  it("sends the caller's id on the wire: the worker's handler sees it", async () => {
    const { endpoint, runs } = await service();
    const client = tracker.track(new MajordomoAsyncClient({ broker: endpoint, timeout: 10000 }));
    expect((await client.call("echo", "a", { id: "order-1" })).map(String)).toEqual(["echo:a"]);
    expect([...runs.keys()]).toEqual(["order-1"]);
  });

  it("fails a second request under an id still in use with EINVAL, and the first still completes; once settled the id is free", async () => {
    const { endpoint, hold } = await service();
    const release = hold();
    const client = tracker.track(new MajordomoAsyncClient({ broker: endpoint, timeout: 10000 }));
    const first = client.call("echo", "a", { id: "order-7" });
    await expect(client.call("echo", "b", { id: "order-7" })).rejects.toMatchObject({ code: "EINVAL" });
    release();
    expect((await first).map(String)).toEqual(["echo:a"]);
    // Settled: the id may be used again (the broker's reply cache answers it with the recorded reply).
    expect((await client.call("echo", "a", { id: "order-7" })).map(String)).toEqual(["echo:a"]);
  });

  it.each([
    ["MajordomoAsyncClient", (broker: string) => new MajordomoAsyncClient({ broker, timeout: 10000 })],
    ["MajordomoClient", (broker: string) => new MajordomoClient({ broker, timeout: 10000 })],
  ])("%s: a restarted client resending its ids gets the recorded replies, and no handler runs twice", async (_, make) => {
    const store = new MemoryStore();
    const { broker, endpoint, runs } = await service({ store });
    const replayed: string[] = [];
    broker.events$.subscribe((event) => {
      if (event.type === "reply-replayed") replayed.push(event.requestId ?? "");
    });
    const ids = ["order-1", "order-2", "order-3"];
    const first = tracker.track(make(endpoint));
    for (const id of ids) await first.call("echo", id, { id });
    await first.close();
    // The "restarted" application: a new client object, the same ids.
    const second = tracker.track(make(endpoint));
    const answers = [];
    for (const id of ids) answers.push((await second.call("echo", id, { id })).map(String));
    expect(answers).toEqual(ids.map((id) => [`echo:${id}`]));
    expect([...runs.entries()]).toEqual(ids.map((id) => [id, 1]));
    expect(replayed).toEqual(ids);
  });

  it("with no reply cache at the broker (a broker that took over knows nothing), the worker's store answers the resent ids", async () => {
    const store = new MemoryStore();
    const { endpoint, runs } = await service({ store, replyCacheSize: 0 });
    const first = tracker.track(new MajordomoAsyncClient({ broker: endpoint, timeout: 10000 }));
    await Promise.all(["order-1", "order-2"].map((id) => first.call("echo", id, { id })));
    await first.close();
    const second = tracker.track(new MajordomoAsyncClient({ broker: endpoint, timeout: 10000 }));
    const answers = await Promise.all(["order-1", "order-2"].map((id) => second.call("echo", id, { id })));
    expect(answers.map((frames) => frames.map(String))).toEqual([["echo:order-1"], ["echo:order-2"]]);
    expect([...runs.entries()].sort()).toEqual([
      ["order-1", 1],
      ["order-2", 1],
    ]);
  });

  it("negative control: without the option, a restarted client's requests are new requests and run again", async () => {
    const { endpoint, runs } = await service();
    const first = tracker.track(new MajordomoAsyncClient({ broker: endpoint, timeout: 10000 }));
    await first.call("echo", "order-1");
    await first.close();
    const second = tracker.track(new MajordomoAsyncClient({ broker: endpoint, timeout: 10000 }));
    await second.call("echo", "order-1");
    expect([...runs.values()]).toEqual([1, 1]);
    expect(runs.size).toBe(2);
  });
});
