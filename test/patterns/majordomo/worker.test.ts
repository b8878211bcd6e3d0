import { interval, Observable, Subject, of, type SchedulerLike } from "rxjs";
import {
  decodeWorkerCommand,
  encodeWorkerCommand,
  MajordomoWorker,
  type MdpVersion,
  type RequestHandler,
  type WorkerEvent,
} from "privateer/internal";
import { virtualClock } from "../../helpers/clock";
import { b, fakeLinks, FakeLink } from "./virtual";

function harness(handler: RequestHandler, version: MdpVersion = "0.2", concurrency = 1) {
  const clock = virtualClock();
  const links = fakeLinks();
  const worker = new MajordomoWorker({
    service: "echo",
    version,
    heartbeatInterval: 1000,
    heartbeatLiveness: 3,
    reconnectInterval: 500,
    concurrency,
    scheduler: clock.scheduler,
    linkFactory: links.factory,
  });
  const events: WorkerEvent[] = [];
  worker.events$.subscribe((event) => events.push(event));
  worker.serve(handler);
  const commands = (link: FakeLink) => link.sent.map((frames) => decodeWorkerCommand(frames).command);
  const fromBroker = (link: FakeLink, command: Parameters<typeof encodeWorkerCommand>[1]) =>
    link.deliver(encodeWorkerCommand(version, command));
  return { clock, links, worker, events, commands, fromBroker };
}

const echo: RequestHandler = ({ body }) => body;

describe("MajordomoWorker heartbeating and reconnection (virtual time)", () => {
  it("sends READY, then a HEARTBEAT every interval", () => {
    const h = harness(echo);
    const link = h.links.last();
    expect(h.commands(link)).toEqual([{ type: "ready", service: "echo" }]);
    // The broker's beats arrive out of phase with ours, as they would on a real network.
    h.clock.advance(500);
    for (let i = 0; i < 5; i++) {
      h.fromBroker(link, { type: "heartbeat" });
      h.clock.advance(1000);
    }
    expect(h.commands(link).filter((c) => c.type === "heartbeat")).toHaveLength(5);
    expect(h.links.links).toHaveLength(1);
    expect(h.events.filter((e) => e.type === "heartbeat-missed")).toEqual([]);
    h.worker.close();
  });

  it("declares the broker lost after `liveness` silent intervals and re-registers on a fresh socket after reconnectInterval", () => {
    const h = harness(echo);
    const first = h.links.last();
    h.clock.advance(2000);
    expect(h.events.filter((e) => e.type === "heartbeat-missed")).toEqual([
      { type: "heartbeat-missed", session: 0, liveness: 2 },
      { type: "heartbeat-missed", session: 0, liveness: 1 },
    ]);
    h.clock.advance(1000);
    expect(h.events.some((e) => e.type === "broker-lost")).toBe(true);
    expect(first.closed).toBe(true);
    h.clock.advance(499);
    expect(h.links.links).toHaveLength(1);
    h.clock.advance(1);
    expect(h.links.links).toHaveLength(2);
    expect(h.commands(h.links.last())).toEqual([{ type: "ready", service: "echo" }]);
    expect(h.events.filter((e) => e.type === "ready").map((e) => (e as { attempt: number }).attempt)).toEqual([1, 2]);
    h.worker.close();
  });

  it("reconnects at once on DISCONNECT from the broker", () => {
    const h = harness(echo);
    const first = h.links.last();
    h.fromBroker(first, { type: "disconnect" });
    expect(first.closed).toBe(true);
    expect(h.links.links).toHaveLength(2);
    expect(h.commands(h.links.last())).toEqual([{ type: "ready", service: "echo" }]);
    h.worker.close();
  });

  it("sends DISCONNECT on close", async () => {
    const h = harness(echo);
    const link = h.links.last();
    await h.worker.close();
    expect(h.commands(link).at(-1)).toEqual({ type: "disconnect" });
    expect(link.closed).toBe(true);
    expect(h.events.at(-1)).toEqual({ type: "close" });
  });
});

describe("MajordomoWorker replies", () => {
  const client = b("\x00\x01\x02\x03\x04");

  it("answers a plain value with FINAL", () => {
    const h = harness(({ body }) => body.map((f) => f.toString().toUpperCase()));
    const link = h.links.last();
    h.fromBroker(link, { type: "request", client, body: [b("hi"), b("there")] });
    expect(h.commands(link).at(-1)).toEqual({ type: "final", client, body: [b("HI"), b("THERE")] });
    h.worker.close();
  });

  it("turns an Observable into PARTIAL... FINAL (0.2), sent as the values come", () => {
    const parts = new Subject<string>();
    const h = harness(() => parts);
    const link = h.links.last();
    h.fromBroker(link, { type: "request", client, body: [b("go")] });
    parts.next("1");
    expect(h.commands(link).filter((c) => c.type !== "ready")).toEqual([]);
    parts.next("2");
    expect(h.commands(link).at(-1)).toEqual({ type: "partial", client, body: [b("1")] });
    parts.next("3");
    parts.complete();
    expect(h.commands(link).slice(1)).toEqual([
      { type: "partial", client, body: [b("1")] },
      { type: "partial", client, body: [b("2")] },
      { type: "final", client, body: [b("3")] },
    ]);
    h.worker.close();
  });

  it("sends only the last value as REPLY in 0.1", () => {
    const h = harness(() => of("a", "b", "c"), "0.1");
    const link = h.links.last();
    h.fromBroker(link, { type: "request", client, body: [b("go")] });
    expect(h.commands(link).slice(1)).toEqual([{ type: "final", client, body: [b("c")] }]);
    h.worker.close();
  });

  it("answers a rejected Promise with an error reply (status 500)", async () => {
    const h = harness(() => Promise.reject(new Error("boom")));
    const link = h.links.last();
    h.fromBroker(link, { type: "request", client, body: [b("x")] });
    await new Promise((resolve) => setImmediate(resolve));
    const last = h.commands(link).at(-1);
    expect(last).toEqual({ type: "final", client, body: [b("mdp.error"), b("500"), b("boom")] });
    expect(h.events.some((e) => e.type === "handler-error")).toBe(true);
    h.worker.close();
  });

  it("abandons a request in progress on DISCONNECT, and does not send its reply on the new socket", () => {
    let subscribed = 0;
    let unsubscribed = 0;
    const never = new Observable<string>(() => {
      subscribed++;
      return () => unsubscribed++;
    });
    const h = harness(() => never);
    h.fromBroker(h.links.last(), { type: "request", client, body: [b("x")] });
    h.fromBroker(h.links.last(), { type: "disconnect" });
    expect([subscribed, unsubscribed]).toEqual([1, 1]);
    expect(h.events.some((e) => e.type === "reply-dropped")).toBe(true);
    expect(h.commands(h.links.last())).toEqual([{ type: "ready", service: "echo" }]);
    h.worker.close();
  });

  it("does not count the broker's silence while it works on a request (reference brokers heartbeat idle workers only)", () => {
    const parts = new Subject<string>();
    const h = harness(() => parts);
    h.fromBroker(h.links.last(), { type: "request", client, body: [b("x")] });
    h.clock.advance(10000);
    expect(h.links.links).toHaveLength(1);
    expect(h.commands(h.links.last()).filter((c) => c.type === "heartbeat")).toHaveLength(10);
    parts.next("done");
    parts.complete();
    expect(h.commands(h.links.last()).at(-1)).toEqual({ type: "final", client, body: [b("done")] });
    // Idle again: three silent intervals and the broker is lost.
    h.clock.advance(3000);
    expect(h.events.some((e) => e.type === "broker-lost")).toBe(true);
    h.worker.close();
  });

  it("opens one socket per unit of concurrency", () => {
    const h = harness(echo, "0.2", 3);
    expect(h.links.links).toHaveLength(3);
    for (const link of h.links.links) expect(h.commands(link)).toEqual([{ type: "ready", service: "echo" }]);
    h.worker.close();
    expect(h.links.links.every((link) => link.closed)).toBe(true);
  });

  it("refuses an mmi.* service name", () => {
    expect(() => new MajordomoWorker({ service: "mmi.x", broker: "tcp://127.0.0.1:1" })).toThrow(/reserved/);
  });
});

describe("MajordomoWorker handler streams", () => {
  const client = b("client-1");
  // A plain object is not a frame: toFrames throws on it.
  const unencodable = { not: "a frame" } as unknown as string;

  /** An endless stream that emits an unencodable value, `first` at once (during subscribe) or not. */
  function endless(h: { clock: { scheduler: SchedulerLike } }, first: "sync" | "later") {
    const probe = { emitted: 0, stopped: false };
    const source = new Observable<string>((subscriber) => {
      if (first === "sync") subscriber.next(unencodable);
      const ticks = interval(100, h.clock.scheduler).subscribe(() => {
        probe.emitted += 1;
        subscriber.next(unencodable);
      });
      return () => {
        probe.stopped = true;
        ticks.unsubscribe();
      };
    });
    return { probe, source };
  }

  // The error reply must also stop the stream, or it keeps running (and allocating) for the worker's life.
  it.each(["later", "sync"] as const)(
    "unsubscribes an endless handler stream when a value cannot be encoded (first value %s)",
    (first) => {
      let stream: ReturnType<typeof endless> | undefined;
      const h = harness(() => stream!.source);
      stream = endless(h, first);
      h.fromBroker(h.links.last(), { type: "request", client, body: [b("x")] });
      h.clock.advance(100);
      expect(h.commands(h.links.last()).filter((c) => c.type === "final")).toHaveLength(1);
      expect(h.events.filter((e) => e.type === "handler-error")).toHaveLength(1);
      expect(stream.probe.stopped).toBe(true);
      const emitted = stream.probe.emitted;
      h.clock.advance(1000);
      expect(stream.probe.emitted).toBe(emitted);
      void h.worker.close();
    },
  );
});

describe("MajordomoWorker close()", () => {
  // A link whose socket takes a while to release (flushing DISCONNECT): close() must wait for it,
  // so a process may exit as soon as close() settles without losing the DISCONNECT.
  it("settles only after every socket is released, with `close` as the last event just before", async () => {
    const clock = virtualClock();
    const releases: Array<() => void> = [];
    const links: FakeLink[] = [];
    const worker = new MajordomoWorker({
      service: "echo",
      concurrency: 2,
      scheduler: clock.scheduler,
      linkFactory: () => {
        const link = new FakeLink();
        const close = link.close.bind(link);
        link.close = () => {
          close();
          return new Promise<void>((resolve) => releases.push(resolve));
        };
        links.push(link);
        return link;
      },
    });
    const events: string[] = [];
    worker.events$.subscribe((event) => events.push(event.type));
    worker.serve(echo);
    let settled = false;
    const closing = worker.close().then(() => (settled = true));
    expect(worker.close()).toBe(worker.close());
    expect(releases).toHaveLength(2);
    releases[0]!();
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    expect(events).not.toContain("close");
    releases[1]!();
    await closing;
    expect(events.at(-1)).toBe("close");
    expect(links.every((link) => link.closed)).toBe(true);
  });
});
