import {
  decodeClientCommand,
  encodeClientCommand,
  MajordomoAsyncClient,
  MajordomoClient,
  MajordomoError,
  PrivateerError,
  type MajordomoClientEvent,
} from "privateer/internal";
import { virtualClock } from "../../helpers/clock";
import { b, fakeLinks } from "./virtual";

/** A client over in-memory links in virtual time, with client defaults timeout 1000 ms and 2 retries. */
function harness(kind: "sync" | "async") {
  const clock = virtualClock();
  const links = fakeLinks();
  const settings = { timeout: 1000, retries: 2, scheduler: clock.scheduler, linkFactory: links.factory };
  const client = kind === "sync" ? new MajordomoClient(settings) : new MajordomoAsyncClient(settings);
  const events: MajordomoClientEvent[] = [];
  client.events$.subscribe((event) => events.push(event));
  /** Requests written on every link so far, as service:body. */
  const sent = () =>
    links.links.flatMap((link) =>
      link.sent.map((frames) => {
        const { command } = decodeClientCommand(frames, "request");
        return command.type === "request" ? `${command.service}:${command.body.map(String).join(",")}` : command.type;
      }),
    );
  const reply = (service: string, ...body: string[]) =>
    links.last().deliver(encodeClientCommand("0.2", { type: "final", service, body: body.map(b) }));
  return { clock, links, client, events, sent, reply };
}

/** Settles a promise's outcome into a box the test can read synchronously after advancing virtual time. */
function watch<T>(promise: Promise<T>): { value?: T; error?: unknown } {
  const box: { value?: T; error?: unknown } = {};
  promise.then(
    (value) => (box.value = value),
    (error: unknown) => (box.error = error),
  );
  return box;
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe.each(["sync", "async"] as const)("Majordomo %s client per-request options (virtual time)", (kind) => {
  it("call() resolves with the final reply, no lastValueFrom needed", async () => {
    const h = harness(kind);
    const pending = h.client.call("echo", "hi");
    h.reply("echo", "HI");
    expect((await pending).map(String)).toEqual(["HI"]);
    await h.client.close();
  });

  it("a per-request timeout and retries override the client's defaults for that request only", async () => {
    const h = harness(kind);
    const quick = watch(h.client.call("echo", "quick", { timeout: 100, retries: 0 }));
    h.clock.advance(100);
    await flush();
    // Client defaults would have waited 1000 ms and retried twice.
    expect(quick.error).toBeInstanceOf(MajordomoError);
    expect(quick.error).toMatchObject({ reason: "timeout", code: "EAGAIN" });
    expect(h.sent()).toEqual(["echo:quick"]);
    // The next request gets the defaults back: 3 attempts of 1000 ms.
    const slow = watch(h.client.call("echo", "slow"));
    h.clock.advance(2999);
    await flush();
    expect(slow.error).toBeUndefined();
    h.clock.advance(1);
    await flush();
    expect(slow.error).toMatchObject({ reason: "timeout" });
    expect(h.sent().filter((s) => s === "echo:slow")).toHaveLength(3);
    await h.client.close();
  });

  it("rejects bad per-request options at the call with EINVAL, under the same rules as the client's", () => {
    const h = harness(kind);
    expect(() => h.client.request("echo", "x", { timeout: 0 })).toThrow(expect.objectContaining({ code: "EINVAL" }));
    expect(() => h.client.request("echo", "x", { retries: 1.5 })).toThrow(expect.objectContaining({ code: "EINVAL" }));
    expect(() => h.client.request("echo", "x", { retries: -1 })).toThrow(PrivateerError);
    void h.client.close();
  });

  it("an aborted signal fails the request with reason aborted and cancels its pending retries", async () => {
    const h = harness(kind);
    const controller = new AbortController();
    const pending = watch(h.client.call("echo", "x", { signal: controller.signal }));
    h.clock.advance(1000); // first attempt times out: attempt 2 is in flight
    controller.abort();
    await flush();
    expect(pending.error).toBeInstanceOf(MajordomoError);
    expect(pending.error).toMatchObject({ reason: "aborted", code: "ECANCELED" });
    const sentBefore = h.sent().length;
    h.clock.advance(5000);
    expect(h.sent()).toHaveLength(sentBefore);
    expect(h.events.filter((e) => e.type === "timeout")).toHaveLength(1);
    expect(h.events.filter((e) => e.type === "aborted")).toEqual([{ type: "aborted", request: 1, service: "echo" }]);
    // The client carries on: the aborted request's late reply cannot be taken for the next one's.
    const next = h.client.call("echo", "y");
    expect(h.links.last().sent).toHaveLength(1);
    h.reply("echo", "Y");
    expect((await next).map(String)).toEqual(["Y"]);
    await h.client.close();
  });

  it("a signal that has already fired fails the request before anything is sent", async () => {
    const h = harness(kind);
    const controller = new AbortController();
    controller.abort();
    await expect(h.client.call("echo", "x", { signal: controller.signal })).rejects.toMatchObject({ reason: "aborted" });
    expect(h.sent()).toEqual([]);
    await h.client.close();
  });

  it("a queued request that is aborted never goes out, and the one in flight is untouched", async () => {
    const h = harness(kind);
    const controller = new AbortController();
    const first = h.client.call("echo", "first");
    const second = watch(h.client.call("echo", "second", { signal: controller.signal }));
    controller.abort();
    await flush();
    expect(second.error).toMatchObject({ reason: "aborted" });
    h.reply("echo", "FIRST");
    expect((await first).map(String)).toEqual(["FIRST"]);
    expect(h.sent()).toEqual(["echo:first"]);
    expect(h.links.links).toHaveLength(1);
    await h.client.close();
  });

  it("tags every event of a request with its id, so two requests can be told apart", async () => {
    const h = harness(kind);
    const one = h.client.call("echo", "one", { timeout: 100, retries: 1 });
    h.clock.advance(100);
    h.reply("echo", "ONE");
    await one;
    const two = watch(h.client.call("echo", "two", { timeout: 100, retries: 0 }));
    h.clock.advance(100);
    await flush();
    expect(two.error).toMatchObject({ reason: "timeout" });
    const perRequest = h.events.flatMap((event) => ("request" in event ? [`${event.request}:${event.type}`] : []));
    expect(perRequest).toEqual([
      "1:request-sent",
      "1:timeout",
      "1:retry",
      "1:request-sent",
      "1:reply",
      "2:request-sent",
      "2:timeout",
      "2:gave-up",
    ]);
    await h.client.close();
  });
});

describe("Majordomo client close()", () => {
  it("settles only after its socket is released, with `close` as the last event just before", async () => {
    const clock = virtualClock();
    let release: (() => void) | undefined;
    const links = fakeLinks();
    const client = new MajordomoClient({
      scheduler: clock.scheduler,
      linkFactory: () => {
        const link = links.factory();
        const close = link.close.bind(link);
        link.close = () => {
          close();
          return new Promise<void>((resolve) => (release = resolve));
        };
        return link;
      },
    });
    const events: string[] = [];
    client.events$.subscribe((event) => events.push(event.type));
    const pending = client.call("echo", "x").catch((error: unknown) => error);
    let settled = false;
    const closing = client.close().then(() => (settled = true));
    expect(client.close()).toBe(client.close());
    expect(await pending).toMatchObject({ reason: "closed" });
    await flush();
    expect(settled).toBe(false);
    expect(events).not.toContain("close");
    release!();
    await closing;
    expect(events.at(-1)).toBe("close");
  });
});
