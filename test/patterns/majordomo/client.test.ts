import { lastValueFrom, toArray, type Subscription } from "rxjs";
import {
  decodeClientCommand,
  encodeClientCommand,
  MajordomoAsyncClient,
  MajordomoClient,
  MajordomoError,
  type MajordomoClientOptions,
  type MdpVersion,
} from "privateer/internal";
import { virtualClock } from "../../helpers/clock";
import { b, fakeLinks, type FakeLink } from "./virtual";

function harness(kind: "sync" | "async", options: Partial<MajordomoClientOptions> = {}) {
  const clock = virtualClock();
  const links = fakeLinks();
  const settings = { timeout: 1000, retries: 2, scheduler: clock.scheduler, linkFactory: links.factory, ...options };
  const client = kind === "sync" ? new MajordomoClient(settings) : new MajordomoAsyncClient(settings);
  const version: MdpVersion = options.version ?? "0.2";
  const requests = (link: FakeLink) => link.sent.map((frames) => decodeClientCommand(frames, "request").command);
  const reply = (link: FakeLink, type: "partial" | "final", service: string, ...body: string[]) =>
    link.deliver(encodeClientCommand(version, { type, service, body: body.map(b) }));
  return { clock, links, client, requests, reply };
}

function collect(observable: ReturnType<MajordomoClient["request"]>) {
  const values: string[][] = [];
  const state: { error?: unknown; complete: boolean; subscription?: Subscription } = { complete: false };
  state.subscription = observable.subscribe({
    next: (frames) => values.push(frames.map((f) => f.toString())),
    error: (error: unknown) => (state.error = error),
    complete: () => (state.complete = true),
  });
  return { values, state };
}

describe("MajordomoClient (virtual time)", () => {
  it("retries on a fresh socket after each timeout, then fails with a typed timeout error", () => {
    const h = harness("sync");
    const r = collect(h.client.request("echo", "hi"));
    expect(h.links.links).toHaveLength(1);
    h.clock.advance(1000);
    expect(h.links.links).toHaveLength(2);
    expect(h.links.links[0]!.closed).toBe(true);
    h.clock.advance(1000);
    expect(h.links.links).toHaveLength(3);
    expect(r.state.error).toBeUndefined();
    h.clock.advance(1000);
    expect(r.state.error).toBeInstanceOf(MajordomoError);
    expect((r.state.error as MajordomoError).reason).toBe("timeout");
    expect((r.state.error as MajordomoError).code).toBe("EAGAIN");
    // Three attempts (1 + retries), each on its own socket, each carrying the request once.
    for (const link of h.links.links.slice(0, 3)) {
      expect(h.requests(link)).toEqual([{ type: "request", service: "echo", body: [b("hi")] }]);
    }
    h.client.close();
  });

  it("ignores a late reply on a socket it has given up on", () => {
    const h = harness("sync");
    const r = collect(h.client.request("echo", "hi"));
    h.clock.advance(1000);
    h.reply(h.links.links[0]!, "final", "echo", "stale");
    expect(r.values).toEqual([]);
    h.reply(h.links.links[1]!, "final", "echo", "fresh");
    expect(r.values).toEqual([["fresh"]]);
    expect(r.state.complete).toBe(true);
    h.client.close();
  });

  it("emits partial replies in order and completes on FINAL; each partial restarts the timeout", () => {
    const h = harness("sync");
    const r = collect(h.client.request("stream", "go"));
    const link = h.links.last();
    for (const part of ["1", "2", "3"]) {
      h.clock.advance(900);
      h.reply(link, "partial", "stream", part);
    }
    h.clock.advance(900);
    h.reply(link, "final", "stream", "4");
    expect(r.values).toEqual([["1"], ["2"], ["3"], ["4"]]);
    expect(r.state.complete).toBe(true);
    expect(h.links.links).toHaveLength(1);
    h.client.close();
  });

  it("runs one request at a time: the second is sent after the first completes", () => {
    const h = harness("sync");
    const first = collect(h.client.request("a", "1"));
    const second = collect(h.client.request("b", "2"));
    const link = h.links.last();
    expect(h.requests(link).map((c) => c.service)).toEqual(["a"]);
    h.reply(link, "final", "a", "A");
    expect(h.requests(link).map((c) => c.service)).toEqual(["a", "b"]);
    h.reply(link, "final", "b", "B");
    expect([first.values, second.values]).toEqual([[["A"]], [["B"]]]);
    h.client.close();
  });

  it("turns a broker error reply into a typed error", () => {
    const h = harness("sync");
    const r = collect(h.client.request("nobody", "x"));
    h.reply(h.links.last(), "final", "nobody", "mdp.error", "404", "no worker");
    expect(r.state.error).toBeInstanceOf(MajordomoError);
    expect((r.state.error as MajordomoError).reason).toBe("service-unavailable");
    expect((r.state.error as MajordomoError).status).toBe("404");
    h.client.close();
  });

  it("fails pending requests with reason 'closed' on close", () => {
    const h = harness("sync");
    const first = collect(h.client.request("a", "1"));
    const second = collect(h.client.request("a", "2"));
    h.client.close();
    for (const r of [first, second]) expect((r.state.error as MajordomoError).reason).toBe("closed");
    expect(h.links.last().closed).toBe(true);
  });

  it("abandons a request on unsubscribe: its socket is replaced so a late reply cannot be taken for the next", () => {
    const h = harness("sync");
    const first = collect(h.client.request("a", "1"));
    first.state.subscription!.unsubscribe();
    const second = collect(h.client.request("a", "2"));
    h.reply(h.links.links[0]!, "final", "a", "for-first");
    expect(second.values).toEqual([]);
    h.reply(h.links.last(), "final", "a", "for-second");
    expect(second.values).toEqual([["for-second"]]);
    h.client.close();
  });
});

describe("MajordomoAsyncClient (virtual time)", () => {
  it("has requests to different services in flight at once, and serialises requests to one service", () => {
    const h = harness("async");
    const a1 = collect(h.client.request("a", "1"));
    const b1 = collect(h.client.request("b", "1"));
    const a2 = collect(h.client.request("a", "2"));
    const link = h.links.last();
    expect(h.requests(link).map((c) => `${c.service}:${c.body[0]}`)).toEqual(["a:1", "b:1"]);
    h.reply(link, "final", "b", "B1");
    h.reply(link, "final", "a", "A1");
    expect(h.requests(link).map((c) => `${c.service}:${c.body[0]}`)).toEqual(["a:1", "b:1", "a:2"]);
    h.reply(link, "final", "a", "A2");
    expect([a1.values, b1.values, a2.values]).toEqual([[["A1"]], [["B1"]], [["A2"]]]);
    expect(h.links.links).toHaveLength(1);
    h.client.close();
  });

  it("on a timeout, resends every request in flight on a fresh socket", () => {
    const h = harness("async");
    collect(h.client.request("a", "1"));
    h.clock.advance(500);
    const b1 = collect(h.client.request("b", "1"));
    h.clock.advance(500); // "a" times out
    expect(h.links.links).toHaveLength(2);
    expect(h.requests(h.links.last()).map((c) => c.service).sort()).toEqual(["a", "b"]);
    h.reply(h.links.last(), "final", "b", "B");
    expect(b1.values).toEqual([["B"]]);
    h.client.close();
  });

  it("works as an async iterable of replies with lastValueFrom", async () => {
    const h = harness("async");
    const done = lastValueFrom(h.client.request("s", "x").pipe(toArray()));
    h.reply(h.links.last(), "partial", "s", "p");
    h.reply(h.links.last(), "final", "s", "f");
    expect((await done).map((frames) => frames.toString())).toEqual(["p", "f"]);
    h.client.close();
  });
});
