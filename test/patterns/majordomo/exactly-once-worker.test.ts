import { of } from "rxjs";
import { MemoryStore, type IdempotencyStore, type MemoryTransaction } from "privateer/exactly-once";
import {
  decodeClientCommand,
  decodeWorkerCommand,
  encodeClientCommand,
  MajordomoClient,
  takeRequestId,
  encodeWorkerCommand,
  ID_TAG,
  MajordomoWorker,
  withRequestId,
  type MajordomoRequest,
  type RequestHandler,
  type WorkerEvent,
} from "privateer/internal";
import { virtualClock } from "../../helpers/clock";
import { b, fakeLinks, type FakeLink, strings } from "./virtual";

/** A worker on an in-memory link; the test plays the broker, announcing the extension or not. */
function harness<Tx>(handler: RequestHandler<Tx>, store?: IdempotencyStore<Tx>) {
  const clock = virtualClock();
  const links = fakeLinks();
  const worker = new MajordomoWorker({ service: "pay", heartbeatInterval: 1000, scheduler: clock.scheduler, linkFactory: links.factory });
  const events: WorkerEvent[] = [];
  worker.events$.subscribe((event) => events.push(event));
  worker.serve(handler, store ? { idempotency: store } : {});
  const link = links.last();
  const finals = (l: FakeLink = link) =>
    l.sent.map((frames) => decodeWorkerCommand(frames).command).filter((c) => c.type === "final" || c.type === "partial");
  const request = (body: Buffer[]) => link.deliver(encodeWorkerCommand("0.2", { type: "request", client: b("C"), body }));
  return { clock, worker, link, events, finals, request };
}

/** Lets the store's promise chain run (MemoryStore settles in microtasks). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("MajordomoWorker with request ids and an idempotency store", () => {
  it("runs a redelivered id once: the second delivery gets the recorded reply, and the ledger one row", async () => {
    const ledger: string[] = [];
    let calls = 0;
    const store = new MemoryStore();
    const h = harness<MemoryTransaction>(({ id, body, tx }) => {
      calls += 1;
      tx!.defer(() => ledger.push(`${id}:${String(body[0])}`));
      return `paid ${calls}`;
    }, store);
    h.link.connection.next({ type: "connected", ids: true });
    h.request(withRequestId("r-1", [b("10")]));
    await settle();
    h.request(withRequestId("r-1", [b("10")]));
    await settle();
    expect(calls).toBe(1);
    expect(ledger).toEqual(["r-1:10"]);
    // Both replies are the first one's, each with the id echoed for the broker.
    expect(h.finals().map((c) => strings((c as { body: Buffer[] }).body))).toEqual([
      ["PX-ID1", "r-1", "paid 1"],
      ["PX-ID1", "r-1", "paid 1"],
    ]);
    expect(h.events.filter((e) => e.type === "reply-replayed")).toEqual([
      { type: "reply-replayed", session: 0, client: b("C").toString("hex"), requestId: "r-1" },
    ]);
    await h.worker.close();
  });

  it("negative control: without a store the same redelivery runs the handler twice", async () => {
    const ledger: string[] = [];
    const h = harness(({ id }) => {
      ledger.push(String(id));
      return "ok";
    });
    h.link.connection.next({ type: "connected", ids: true });
    h.request(withRequestId("r-1", [b("10")]));
    h.request(withRequestId("r-1", [b("10")]));
    await settle();
    expect(ledger).toEqual(["r-1", "r-1"]);
    await h.worker.close();
  });

  it("sends only the final reply of a streaming handler for a request with an id (partials cannot be replayed)", async () => {
    const h = harness(() => of("p1", "p2", "last"), new MemoryStore());
    h.link.connection.next({ type: "connected", ids: true });
    h.request(withRequestId("r-2", [b("x")]));
    await settle();
    expect(h.finals().map((c) => [c.type, ...strings((c as { body: Buffer[] }).body)])).toEqual([
      ["final", "PX-ID1", "r-2", "last"],
    ]);
    await h.worker.close();
  });

  it("a handler that fails records nothing: the error is answered, and a redelivery runs it again", async () => {
    let calls = 0;
    const h = harness(() => {
      calls += 1;
      if (calls === 1) throw new Error("boom");
      return "ok";
    }, new MemoryStore());
    h.link.connection.next({ type: "connected", ids: true });
    h.request(withRequestId("r-3", [b("x")]));
    await settle();
    h.request(withRequestId("r-3", [b("x")]));
    await settle();
    expect(calls).toBe(2);
    const bodies = h.finals().map((c) => strings((c as { body: Buffer[] }).body));
    expect(bodies[0]!.slice(0, 2)).toEqual(["PX-ID1", "r-3"]);
    expect(bodies[1]).toEqual(["PX-ID1", "r-3", "ok"]);
    await h.worker.close();
  });

  it("from a broker that did not announce the extension, a body starting with the tag is all body", async () => {
    const seen: MajordomoRequest[] = [];
    const h = harness((request) => (seen.push(request), "ok"), new MemoryStore());
    h.link.connection.next({ type: "connected", ids: false });
    h.request([ID_TAG, b("not-an-id"), b("x")]);
    await settle();
    expect(seen).toHaveLength(1);
    expect(seen[0]!.id).toBeUndefined();
    expect(strings(seen[0]!.body)).toEqual(["PX-ID1", "not-an-id", "x"]);
    // And the reply is plain: byte-exact MDP with no id frames.
    expect(h.link.sent.at(-1)).toEqual(encodeWorkerCommand("0.2", { type: "final", client: b("C"), body: [b("ok")] }));
    await h.worker.close();
  });
});

describe("MajordomoClient with request ids (virtual time)", () => {
  /** A link that announces the extension, as dealerLink does; the test plays the broker's handshake. */
  function announcingLinks() {
    const links = fakeLinks();
    const made: FakeLink[] = [];
    const factory = () => {
      const link = links.factory();
      Object.defineProperty(link, "announcesIds", { value: true });
      made.push(link);
      return link;
    };
    return { made, factory };
  }

  it("waits for the handshake, and adds the id only on a socket whose broker announced the extension", () => {
    const clock = virtualClock();
    const links = announcingLinks();
    const client = new MajordomoClient({ timeout: 1000, retries: 1, scheduler: clock.scheduler, linkFactory: links.factory });
    const errors: unknown[] = [];
    client.request("pay", "10").subscribe({ error: (error: unknown) => errors.push(error) });
    const first = links.made[0]!;
    // Nothing goes out before the handshake says what the broker speaks.
    expect(first.sent).toEqual([]);
    first.connection.next({ type: "connected", ids: true });
    const id = takeRequestId(decodeClientCommand(first.sent[0]!, "request").command.body).id;
    expect(id).toMatch(/^[0-9a-f]{16}-1$/);
    clock.advance(1000);
    const second = links.made[1]!;
    // The retry's socket reached a broker that does not speak it: plain MDP, byte for byte.
    second.connection.next({ type: "connected", ids: false });
    expect(second.sent).toEqual([encodeClientCommand("0.2", { type: "request", service: "pay", body: [b("10")] })]);
    clock.advance(1000);
    expect(errors).toEqual([expect.objectContaining({ reason: "timeout" })]);
    void client.close();
  });

  it("sends the same id on a retry, and drops a reply that names another id", () => {
    const clock = virtualClock();
    const links = announcingLinks();
    const client = new MajordomoClient({ timeout: 1000, retries: 2, scheduler: clock.scheduler, linkFactory: links.factory });
    const replies: string[][] = [];
    client.request("pay", "10").subscribe({ next: (frames) => replies.push(strings(frames)), error: () => undefined });
    links.made[0]!.connection.next({ type: "connected", ids: true });
    clock.advance(1000);
    const retry = links.made[1]!;
    retry.connection.next({ type: "connected", ids: true });
    const ids = links.made.map((link) => takeRequestId(decodeClientCommand(link.sent[0]!, "request").command.body).id);
    expect(ids[0]).toBeDefined();
    expect(ids[1]).toBe(ids[0]);
    retry.deliver(encodeClientCommand("0.2", { type: "final", service: "pay", body: withRequestId("other", [b("no")]) }));
    expect(replies).toEqual([]);
    retry.deliver(encodeClientCommand("0.2", { type: "final", service: "pay", body: withRequestId(ids[0]!, [b("yes")]) }));
    expect(replies).toEqual([["yes"]]);
    void client.close();
  });
});
