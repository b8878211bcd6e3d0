/**
 * MajordomoAsyncClient pipelining (issue #9): with a broker that echoes
 * request ids, many requests to one service are in flight at once and each
 * reply is matched to its request by id; with a plain broker (a link that
 * does not speak ids: the negative control) requests to one service are
 * still sent one after another.
 *
 * The unit tests drive the client over in-memory links in virtual time; the
 * end-to-end tests use a real broker and workers over tcp on 127.0.0.1.
 */
import { map } from "rxjs";
import {
  decodeClientCommand,
  dealerLink,
  encodeClientCommand,
  MajordomoAsyncClient,
  MajordomoError,
  MajordomoWorker,
  type LinkFactory,
  type MajordomoBroker,
  type MajordomoClientOptions,
  type MdpLink,
} from "privateer/internal";
import { takeRequestId, withRequestId } from "../../../patterns/majordomo/request-ids";
import { startBroker, Tracker } from "./e2e";
import { compileChildren, NodePeers, removeCompiled } from "./node-peers";
import { virtualClock } from "../../helpers/clock";
import { b, FakeLink } from "./virtual";

jest.setTimeout(120000);

/** A fake link whose broker handshake can say it speaks the request-id extension. */
class IdsLink extends FakeLink {
  readonly announcesIds = true;
  handshake(ids: boolean): void {
    this.connection.next({ type: "connected", ids });
  }
}

function harness(options: Partial<MajordomoClientOptions> = {}) {
  const clock = virtualClock();
  const links: IdsLink[] = [];
  const client = new MajordomoAsyncClient({
    timeout: 1000,
    retries: 2,
    scheduler: clock.scheduler,
    linkFactory: () => {
      const link = new IdsLink();
      links.push(link);
      return link;
    },
    ...options,
  });
  const last = (): IdsLink => links[links.length - 1]!;
  /** What a link carried, as [id or "-", body] per request. */
  const sent = (link: IdsLink): Array<[string, string]> =>
    link.sent.map((frames) => {
      const { command } = decodeClientCommand(frames, "request");
      if (command.type !== "request") throw new Error(`unexpected ${command.type}`);
      const { id, body } = takeRequestId(command.body);
      return [id ?? "-", body.map(String).join(",")];
    });
  /** The broker's reply to the request that carried `id` (no id frames when `id` is undefined). */
  const reply = (link: IdsLink, service: string, body: string, id?: string) =>
    link.deliver(encodeClientCommand("0.2", { type: "final", service, body: id === undefined ? [b(body)] : withRequestId(id, [b(body)]) }));
  return { clock, links, last, client, sent, reply };
}

/** Collects a request's replies and outcome, readable synchronously. */
function track(client: MajordomoAsyncClient, service: string, body: string) {
  const box: { replies: string[]; done: boolean; error?: unknown } = { replies: [], done: false };
  client.request(service, body).subscribe({
    next: (frames) => box.replies.push(frames.map(String).join(",")),
    complete: () => (box.done = true),
    error: (error: unknown) => (box.error = error),
  });
  return box;
}

describe("MajordomoAsyncClient pipelining (virtual time)", () => {
  it("with a broker that speaks ids, sends every request to one service at once and matches out-of-order replies by id", async () => {
    const h = harness();
    const boxes = ["a", "b", "c"].map((body) => track(h.client, "echo", body));
    const link = h.last();
    // Until the handshake the client cannot know whether to add ids: only the lane's head is out (held).
    expect(link.sent).toHaveLength(0);
    link.handshake(true);
    const sent = h.sent(link);
    expect(sent.map(([, body]) => body)).toEqual(["a", "b", "c"]);
    // Answer in reverse order: each reply must land on the request its id names.
    for (const [id, body] of [...sent].reverse()) h.reply(link, "echo", `re:${body}`, id);
    expect(boxes.map((box) => [box.replies, box.done])).toEqual([
      [["re:a"], true],
      [["re:b"], true],
      [["re:c"], true],
    ]);
    await h.client.close();
  });

  it("negative control: with a plain broker (no ids) requests to one service go one after another", async () => {
    const h = harness();
    const boxes = ["a", "b", "c"].map((body) => track(h.client, "echo", body));
    const link = h.last();
    link.handshake(false);
    expect(h.sent(link)).toEqual([["-", "a"]]);
    h.reply(link, "echo", "re:a");
    expect(h.sent(link)).toEqual([
      ["-", "a"],
      ["-", "b"],
    ]);
    h.reply(link, "echo", "re:b");
    h.reply(link, "echo", "re:c");
    expect(boxes.map((box) => box.replies)).toEqual([["re:a"], ["re:b"], ["re:c"]]);
    await h.client.close();
  });

  it("keeps at most maxInFlight requests out; a reply lets the next waiting one go, in call order", async () => {
    const h = harness({ maxInFlight: 2 });
    const boxes = ["a", "b", "c", "d"].map((body) => track(h.client, "echo", body));
    const link = h.last();
    link.handshake(true);
    expect(h.sent(link).map(([, body]) => body)).toEqual(["a", "b"]);
    const [, second] = h.sent(link);
    h.reply(link, "echo", "re:b", second![0]);
    expect(h.sent(link).map(([, body]) => body)).toEqual(["a", "b", "c"]);
    expect(boxes[1]!.done).toBe(true);
    await h.client.close();
  });

  it("a reply whose id no request waits for is dropped, not given to another request", async () => {
    const h = harness();
    const box = track(h.client, "echo", "a");
    const link = h.last();
    link.handshake(true);
    h.reply(link, "echo", "stray", "someone-else-1");
    expect(box.replies).toEqual([]);
    const [[id]] = h.sent(link) as [[string, string]];
    h.reply(link, "echo", "re:a", id);
    expect(box.replies).toEqual(["re:a"]);
    await h.client.close();
  });

  it("abandoning a request in flight keeps the socket: its late reply is dropped by id, the others still complete", async () => {
    const h = harness();
    const events: string[] = [];
    h.client.events$.subscribe((event) => events.push(event.type));
    const gone = h.client.request("echo", "gone").subscribe();
    const others = ["a", "b"].map((body) => track(h.client, "echo", body));
    const link = h.last();
    link.handshake(true);
    const ids = new Map(h.sent(link).map(([id, body]) => [body, id]));
    gone.unsubscribe();
    // Without ids this replaces the socket (client-events.test.ts); with ids nothing needs resending.
    expect(h.links).toHaveLength(1);
    expect(events).not.toContain("reconnected");
    h.reply(link, "echo", "late", ids.get("gone"));
    h.reply(link, "echo", "re:b", ids.get("b"));
    h.reply(link, "echo", "re:a", ids.get("a"));
    expect(others.map((box) => box.replies)).toEqual([["re:a"], ["re:b"]]);
    expect(h.sent(link)).toHaveLength(3);
    await h.client.close();
  });

  it("a timeout of one request fails only it; the others are resent on the new link with their own ids", async () => {
    const h = harness();
    const slow = h.client.request("echo", "slow", { timeout: 100, retries: 0 });
    let slowError: unknown;
    slow.subscribe({ error: (error: unknown) => (slowError = error) });
    const others = ["a", "b"].map((body) => track(h.client, "echo", body));
    const first = h.last();
    first.handshake(true);
    const ids = new Map(h.sent(first).map(([id, body]) => [body, id]));
    h.clock.advance(100);
    expect(slowError).toBeInstanceOf(MajordomoError);
    expect((slowError as MajordomoError).reason).toBe("timeout");
    const second = h.last();
    expect(second).not.toBe(first);
    second.handshake(true);
    expect(h.sent(second)).toEqual([
      [ids.get("a"), "a"],
      [ids.get("b"), "b"],
    ]);
    h.reply(second, "echo", "re:b", ids.get("b"));
    h.reply(second, "echo", "re:a", ids.get("a"));
    expect(others.map((box) => [box.replies, box.done])).toEqual([
      [["re:a"], true],
      [["re:b"], true],
    ]);
    await h.client.close();
  });

  it("failing over to a plain broker: the oldest request in flight is resent, the others wait their turn", async () => {
    const h = harness();
    const boxes = ["a", "b", "c"].map((body) => track(h.client, "echo", body));
    h.last().handshake(true);
    h.clock.advance(1000);
    const plain = h.last();
    plain.handshake(false);
    // Without ids two replies to one service could not be told apart: one at a time again.
    expect(h.sent(plain)).toEqual([["-", "a"]]);
    h.reply(plain, "echo", "re:a");
    expect(h.sent(plain).map(([, body]) => body)).toEqual(["a", "b"]);
    h.reply(plain, "echo", "re:b");
    h.reply(plain, "echo", "re:c");
    expect(boxes.map((box) => box.replies)).toEqual([["re:a"], ["re:b"], ["re:c"]]);
    await h.client.close();
  });

  it("rejects a maxInFlight that is not a positive integer", () => {
    expect(() => new MajordomoAsyncClient({ broker: "tcp://127.0.0.1:1", maxInFlight: 0 })).toThrow(/maxInFlight/);
  });
});

describe("MajordomoAsyncClient pipelining over tcp", () => {
  const tracker = new Tracker();
  afterEach(() => tracker.closeAll());

  /** Requests of the service the broker holds (queued or with a worker) but has not answered yet, at most at any time. */
  function peakOutstanding(broker: MajordomoBroker, service: string): () => number {
    let outstanding = 0;
    let peak = 0;
    broker.events$.subscribe((event) => {
      if (event.type === "request-queued" && event.service === service) peak = Math.max(peak, ++outstanding);
      if (event.type === "reply-sent" && event.final && event.service === service) outstanding -= 1;
    });
    return () => peak;
  }

  /** Four workers answering `echo:<body>`, after a delay that varies with the request so that replies come back out of order. */
  function echoWorkers(endpoint: string): void {
    const worker = tracker.track(new MajordomoWorker({ broker: endpoint, service: "echo", concurrency: 4, socket: { linger: 0 } }));
    worker.serve(async ({ body }) => {
      const n = Number(String(body[0]).slice(4));
      await new Promise((resolve) => setTimeout(resolve, n % 7));
      return [`echo:${String(body[0])}`];
    });
  }

  /** A link to the broker that reports its broker as plain MDP, so the client sends no ids. */
  const withoutIds = (endpoint: string): LinkFactory => () => {
    const link = dealerLink(endpoint, { linger: 0 });
    return { ...link, events$: link.events$!.pipe(map((event) => (event.type === "connected" ? { type: "connected" as const, ids: false } : event))) } satisfies MdpLink;
  };

  async function run(ids: boolean): Promise<{ peak: number; replies: string[]; order: number[] }> {
    const { broker, endpoint } = await startBroker(tracker);
    const peak = peakOutstanding(broker, "echo");
    echoWorkers(endpoint);
    const client = tracker.track(
      new MajordomoAsyncClient({ broker: endpoint, timeout: 30000, ...(ids ? {} : { linkFactory: withoutIds(endpoint) }) }),
    );
    const order: number[] = [];
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        client.call("echo", `req-${i}`).then((frames) => {
          order.push(i);
          return frames.map(String).join(",");
        }),
      ),
    );
    return { peak: peak(), replies, order };
  }

  it("200 requests to one service issued at once are in flight together and each gets its own reply", async () => {
    const { peak, replies, order } = await run(true);
    expect(replies).toEqual(Array.from({ length: 200 }, (_, i) => `echo:req-${i}`));
    // The broker held many of this client's requests at once.
    expect(peak).toBeGreaterThan(1);
    // Replies came back out of call order, so matching by id (not by order) is what got them right.
    expect(order).not.toEqual([...order].sort((x, y) => x - y));
  });

  it("negative control: a link without ids sends them one at a time (the broker never holds two)", async () => {
    const { peak, replies } = await run(false);
    expect(replies).toEqual(Array.from({ length: 200 }, (_, i) => `echo:req-${i}`));
    expect(peak).toBe(1);
  });

  describe("a worker killed mid-run", () => {
    let outDir: string;
    let children: NodePeers;
    beforeAll(async () => {
      outDir = await compileChildren();
      children = new NodePeers(outDir);
      // Compiling the child scripts takes tsc most of a minute on a busy 2-core machine.
    }, 240000);
    afterAll(() => removeCompiled(outDir));
    afterEach(() => children.killAll());

    it("every request still completes, with exactly one reply each", async () => {
      const { broker, endpoint } = await startBroker(tracker);
      const registered = new Promise<void>((resolve) => {
        let n = 0;
        broker.events$.subscribe((event) => {
          if (event.type === "worker-ready" && ++n === 4) resolve();
        });
      });
      const config = { broker: endpoint, service: "echo", heartbeatInterval: 500, workMs: 5, concurrency: 2, events: [] };
      const doomed = children.worker(config);
      children.worker(config);
      await registered;
      const client = tracker.track(new MajordomoAsyncClient({ broker: endpoint, timeout: 20000 }));
      const replies = new Map<number, string[]>();
      let settled = 0;
      let killed = false;
      const all = Array.from(
        { length: 200 },
        (_, i) =>
          new Promise<void>((resolve, reject) => {
            client.request("echo", `req-${i}`).subscribe({
              next: (frames) => {
                replies.set(i, [...(replies.get(i) ?? []), String(frames[0])]);
              },
              complete: () => {
                // Kill one worker once a few replies are in: it holds requests in flight.
                if (++settled === 20 && !killed) {
                  killed = true;
                  void doomed.kill("SIGKILL");
                }
                resolve();
              },
              error: reject,
            });
          }),
      );
      await Promise.all(all);
      expect(killed).toBe(true);
      expect([...replies.keys()].sort((x, y) => x - y)).toEqual(Array.from({ length: 200 }, (_, i) => i));
      for (const [i, bodies] of replies) expect([i, bodies]).toEqual([i, [`req-${i}`]]);
    });
  });

  it("one request timing out does not fail the others in flight to the same service, and none runs twice", async () => {
    const { broker, endpoint } = await startBroker(tracker);
    const peak = peakOutstanding(broker, "echo");
    const worker = tracker.track(new MajordomoWorker({ broker: endpoint, service: "echo", concurrency: 4, socket: { linger: 0 } }));
    // "hang" is never answered: it holds one worker slot for good. The others wait at a gate that opens only once
    // "hang" has timed out, so they are certainly in flight (three held by the worker, the rest queued) when the
    // client replaces its socket, however late a loaded machine fires the 300 ms timer.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const runs = new Map<string, number>();
    worker.serve(async ({ body }) => {
      const text = String(body[0]);
      runs.set(text, (runs.get(text) ?? 0) + 1);
      if (text === "hang") return new Promise<never>(() => undefined);
      await gate;
      return [`echo:${text}`];
    });
    const client = tracker.track(new MajordomoAsyncClient({ broker: endpoint, timeout: 30000 }));
    const resentOnNewSocket = new Set<number>();
    client.events$.subscribe((event) => {
      if (event.type === "request-sent" && event.socket > 1) resentOnNewSocket.add(event.request);
    });
    const hang = client.call("echo", "hang", { timeout: 300, retries: 0 });
    const others = Promise.all(Array.from({ length: 50 }, (_, i) => client.call("echo", `req-${i}`).then((f) => String(f[0]))));
    await expect(hang).rejects.toMatchObject({ reason: "timeout" });
    open();
    expect(await others).toEqual(Array.from({ length: 50 }, (_, i) => `echo:req-${i}`));
    expect(peak()).toBeGreaterThan(1);
    // The timeout replaced the socket with all 50 still in flight, so every one of them was sent again ...
    expect(resentOnNewSocket.size).toBe(50);
    // ... and yet each ran once: the three the worker held were joined or answered from the reply cache, and
    // the queued ones the broker dropped with the old socket ran only on their resend.
    expect([...runs.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    expect(runs.size).toBe(51);
  });
});
