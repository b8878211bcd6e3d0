import { firstValueFrom, filter } from "rxjs";
import { Dealer } from "privateer";
import { MemoryStore, type MemoryTransaction } from "privateer/exactly-once";
import {
  dealerLink,
  decodeClientCommand,
  decodeWorkerCommand,
  encodeClientCommand,
  MajordomoClient,
  MajordomoWorker,
  type MajordomoRequest,
  type MdpLink,
  type WorkerEvent,
} from "privateer/internal";
import { nextBrokerEvents, startBroker, Tracker } from "./e2e";

/**
 * Request ids end to end over tcp on 127.0.0.1: a Privateer client, broker
 * and worker announce the extension in their READY metadata, the id reaches
 * the handler, and `serve(handler, { idempotency })` keeps a redelivered
 * request from running twice.
 */

const tracker = new Tracker();
afterEach(() => tracker.closeAll());

/** A ledger row per time the handler's effect is applied; with a store, only at commit. */
function ledgerHandler(ledger: string[], calls: { count: number }) {
  return (request: MajordomoRequest<MemoryTransaction>) => {
    calls.count += 1;
    const row = `${request.id ?? "(no id)"}:${request.body.map(String).join(",")}`;
    if (request.tx) request.tx.defer(() => ledger.push(row));
    else ledger.push(row);
    return `done ${request.body.map(String).join(",")}`;
  };
}

/**
 * A worker link that plays a process killed between its store commit and its
 * reply leaving: the FINAL is never sent, and the connection goes down at
 * once, so the broker requeues the request.
 */
function dyingBeforeReply(endpoint: string, died: () => void): MdpLink {
  const link = dealerLink(endpoint, { linger: 0 });
  let dead = false;
  return {
    ...link,
    send(frames) {
      if (dead) return;
      if (decodeWorkerCommand(frames).command.type === "final") {
        dead = true;
        void link.close();
        died();
        return;
      }
      link.send(frames);
    },
  };
}

function nextWorkerEvent<T extends WorkerEvent["type"]>(worker: MajordomoWorker, type: T) {
  // Undefined if the worker closes without one (the negative control has none).
  return firstValueFrom(worker.events$.pipe(filter((e): e is Extract<WorkerEvent, { type: T }> => e.type === type)), {
    defaultValue: undefined,
  });
}

describe("request ids end to end (tcp)", () => {
  it("a Privateer client's id reaches the handler, with the store's transaction", async () => {
    const { broker, endpoint } = await startBroker(tracker);
    const store = tracker.track(new MemoryStore());
    const seen: MajordomoRequest<MemoryTransaction>[] = [];
    const worker = tracker.track(new MajordomoWorker({ broker: endpoint, service: "pay" }));
    const ready = nextBrokerEvents(broker, "worker-ready");
    worker.serve<MemoryTransaction>((request) => (seen.push(request), "ok"), { idempotency: store });
    await ready;
    const client = tracker.track(new MajordomoClient({ broker: endpoint, timeout: 10_000 }));
    expect((await client.call("pay", "a")).map(String)).toEqual(["ok"]);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.id).toMatch(/^[0-9a-f]{16}-1$/);
    expect(seen[0]!.tx).toBeDefined();
    expect(seen[0]!.body.map(String)).toEqual(["a"]);
  });

  it("a plain MDP client (no metadata) gets byte-exact plain replies, and its request has no id", async () => {
    const { broker, endpoint } = await startBroker(tracker);
    const store = tracker.track(new MemoryStore());
    const seen: MajordomoRequest<MemoryTransaction>[] = [];
    const worker = tracker.track(new MajordomoWorker({ broker: endpoint, service: "pay" }));
    const ready = nextBrokerEvents(broker, "worker-ready");
    worker.serve<MemoryTransaction>((request) => (seen.push(request), "ok"), { idempotency: store });
    await ready;
    const plain = tracker.track(new Dealer({ linger: 0 }));
    plain.connect(endpoint);
    await plain.send(encodeClientCommand("0.2", { type: "request", service: "pay", body: [Buffer.from("a")] }));
    const reply = await firstValueFrom(plain.messages$);
    expect(reply).toEqual(encodeClientCommand("0.2", { type: "final", service: "pay", body: [Buffer.from("ok")] }));
    expect(decodeClientCommand(reply, "reply").command.body.map(String)).toEqual(["ok"]);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.id).toBeUndefined();
    expect(seen[0]!.tx).toBeUndefined();
  });

  /**
   * Worker A commits (effect + record) and dies before its reply reaches the
   * broker; the broker requeues the request to worker B, which shares A's store.
   */
  async function killedAfterCommit(withStore: boolean) {
    const { broker, endpoint } = await startBroker(tracker);
    const store = tracker.track(new MemoryStore());
    const ledger: string[] = [];
    const callsA = { count: 0 };
    const callsB = { count: 0 };
    let died!: () => void;
    const aDied = new Promise<void>((resolve) => (died = resolve));
    const options = withStore ? { idempotency: store } : {};
    const a = tracker.track(
      new MajordomoWorker({ broker: endpoint, service: "pay", linkFactory: (ep) => dyingBeforeReply(ep ?? endpoint, died) }),
    );
    let ready = nextBrokerEvents(broker, "worker-ready");
    a.serve(ledgerHandler(ledger, callsA), options);
    await ready;
    const b = tracker.track(new MajordomoWorker({ broker: endpoint, service: "pay" }));
    const replayed = nextWorkerEvent(b, "reply-replayed");
    ready = nextBrokerEvents(broker, "worker-ready");
    b.serve(ledgerHandler(ledger, callsB), options);
    await ready;
    const requeued = nextBrokerEvents(broker, "request-requeued");
    const client = tracker.track(new MajordomoClient({ broker: endpoint, timeout: 20_000, retries: 0 }));
    const reply = await client.call("pay", "10");
    await aDied;
    await requeued;
    return { reply: reply.map(String), ledger, callsA: callsA.count, callsB: callsB.count, replayed };
  }

  it("a worker killed after its commit, before its reply left: the requeued request is replayed from the store", async () => {
    const run = await killedAfterCommit(true);
    expect(run.reply).toEqual(["done 10"]);
    expect(run.callsA).toBe(1);
    expect(run.callsB).toBe(0);
    expect(run.ledger).toHaveLength(1);
    expect(run.ledger[0]).toMatch(/^[0-9a-f]{16}-1:10$/);
    expect(await run.replayed).toEqual(expect.objectContaining({ type: "reply-replayed", requestId: run.ledger[0]!.split(":")[0] }));
  }, 30_000);

  it("the id survives a failover: a retry to another broker reaches a worker that replays the first broker's commit", async () => {
    const one = await startBroker(tracker);
    const two = await startBroker(tracker);
    const store = tracker.track(new MemoryStore());
    const ledger: string[] = [];
    const calls = { count: 0 };
    let died!: () => void;
    const aDied = new Promise<void>((resolve) => (died = resolve));
    const a = tracker.track(
      new MajordomoWorker({ broker: one.endpoint, service: "pay", linkFactory: (ep) => dyingBeforeReply(ep ?? one.endpoint, died) }),
    );
    let ready = nextBrokerEvents(one.broker, "worker-ready");
    a.serve(ledgerHandler(ledger, calls), { idempotency: store });
    await ready;
    const b = tracker.track(new MajordomoWorker({ broker: two.endpoint, service: "pay" }));
    const replayed = nextWorkerEvent(b, "reply-replayed");
    ready = nextBrokerEvents(two.broker, "worker-ready");
    b.serve(ledgerHandler(ledger, calls), { idempotency: store });
    await ready;
    // The first broker has nobody left to give the request to; the client's timeout sends the retry to the second.
    const client = tracker.track(new MajordomoClient({ broker: [one.endpoint, two.endpoint], timeout: 3000, retries: 1 }));
    const reply = await client.call("pay", "7");
    await aDied;
    expect(reply.map(String)).toEqual(["done 7"]);
    expect(calls.count).toBe(1);
    expect(ledger).toHaveLength(1);
    expect(await replayed).toEqual(expect.objectContaining({ requestId: ledger[0]!.split(":")[0] }));
  }, 30_000);

  it("negative control: the same crash without the idempotency store runs the handler twice (two ledger rows)", async () => {
    const run = await killedAfterCommit(false);
    expect(run.reply).toEqual(["done 10"]);
    expect(run.callsA).toBe(1);
    expect(run.callsB).toBe(1);
    expect(run.ledger).toHaveLength(2);
    // Closing B settles its event stream; no replay was reported.
    await tracker.closeAll();
    expect(await run.replayed).toBeUndefined();
  }, 30_000);
});
