import { firstValueFrom, type Subscription } from "rxjs";
import { Router } from "../../../src";
import { LazyPirateClient, PirateError, type LazyPirateEvent } from "../../../patterns";
import { closeAll } from "../../helpers/endpoints";
import { advanceBy, virtualScheduler } from "../../helpers/clock";

const ANY = "tcp://127.0.0.1:*";

/** A REQ-compatible server on a ROUTER that silently drops every `n`th request it receives. */
async function lossyServer(n: number): Promise<{ server: Router; received: string[]; dropped: string[] }> {
  const server = new Router();
  await server.bind(ANY);
  const received: string[] = [];
  const dropped: string[] = [];
  server.messages$.subscribe(([peer, delimiter, body]) => {
    received.push(body!.toString());
    if (received.length % n === 0) {
      dropped.push(body!.toString());
      return;
    }
    void server.send([peer!, delimiter!, "reply", body!]);
  });
  return { server, received, dropped };
}

describe("Lazy Pirate client", () => {
  let server: Router | undefined;
  let client: LazyPirateClient | undefined;
  afterEach(async () => {
    await client?.close();
    closeAll(server);
  });

  it("gets every reply exactly once from a server that drops every third request", async () => {
    const lossy = await lossyServer(3);
    server = lossy.server;
    client = new LazyPirateClient(server.lastEndpoint!, { timeout: 250, retries: 3 });
    const events: LazyPirateEvent[] = [];
    client.events$.subscribe((e) => events.push(e));

    const replies = new Map<string, number>();
    for (let i = 0; i < 12; i++) {
      const [tag, body] = (await client.call(`req-${i}`)).map(String);
      expect(tag).toBe("reply");
      expect(body).toBe(`req-${i}`);
      replies.set(body!, (replies.get(body!) ?? 0) + 1);
    }
    expect([...replies.keys()]).toEqual(Array.from({ length: 12 }, (_, i) => `req-${i}`));
    expect([...replies.values()].every((count) => count === 1)).toBe(true);
    // Every drop cost exactly one retry on a fresh socket, and the server saw each retried request twice.
    expect(lossy.dropped.length).toBeGreaterThanOrEqual(4);
    expect(events.filter((e) => e.type === "retry")).toHaveLength(lossy.dropped.length);
    expect(events.filter((e) => e.type === "reconnect")).toHaveLength(lossy.dropped.length);
    expect(events.filter((e) => e.type === "reply")).toHaveLength(12);
    expect(lossy.received).toHaveLength(12 + lossy.dropped.length);
    for (const body of lossy.dropped) expect(lossy.received.filter((r) => r === body)).toHaveLength(2);
  });

  it("serves concurrent requests one at a time, in call order, each with its own reply", async () => {
    const lossy = await lossyServer(1000);
    server = lossy.server;
    client = new LazyPirateClient(server.lastEndpoint!, { timeout: 2000 });
    const replies = await Promise.all(["a", "b", "c", "d"].map((body) => client!.call(body)));
    expect(replies.map((r) => r.map(String))).toEqual([
      ["reply", "a"],
      ["reply", "b"],
      ["reply", "c"],
      ["reply", "d"],
    ]);
    expect(lossy.received).toEqual(["a", "b", "c", "d"]);
  });

  it("abandons an in-flight request on unsubscribe and carries on with the next on a fresh socket", async () => {
    server = new Router();
    await server.bind(ANY);
    const received: string[] = [];
    server.messages$.subscribe(([peer, delimiter, body]) => {
      received.push(body!.toString());
      // Never answer "ignored": only abandoning it can free the REQ lockstep.
      if (body!.toString() !== "ignored") void server!.send([peer!, delimiter!, body!]);
    });
    client = new LazyPirateClient(server.lastEndpoint!, { timeout: 60000, retries: 0 });
    const events: LazyPirateEvent[] = [];
    client.events$.subscribe((e) => events.push(e));
    const seen: Buffer[][] = [];
    const first: Subscription = client.request("ignored").subscribe((reply) => seen.push(reply));
    await firstValueFrom(server.messages$);
    first.unsubscribe();
    expect((await client.call("next")).map(String)).toEqual(["next"]);
    expect(seen).toEqual([]);
    expect(events.map((e) => e.type)).toEqual(["request-sent", "abandoned", "reconnect", "request-sent", "reply"]);
    expect(received).toEqual(["ignored", "next"]);
  });

  it("gives up with reason timeout after timeout x (retries + 1), reconnecting before each retry (virtual time)", async () => {
    // A bound socket that never answers: the client's only way out is its own timers.
    server = new Router();
    await server.bind(ANY);
    const scheduler = virtualScheduler();
    client = new LazyPirateClient(server.lastEndpoint!, { scheduler });
    const timeline: string[] = [];
    client.events$.subscribe((e) => timeline.push(`${scheduler.now()}:${e.type}`));
    let failure: unknown;
    client.request("anyone?").subscribe({ error: (error: unknown) => (failure = error) });
    advanceBy(scheduler, 9999);
    expect(failure).toBeUndefined();
    advanceBy(scheduler, 1);
    expect(failure).toBeInstanceOf(PirateError);
    expect(failure).toMatchObject({ reason: "timeout", code: "EAGAIN" });
    expect(timeline).toEqual([
      "0:request-sent",
      "2500:retry",
      "2500:reconnect",
      "2500:request-sent",
      "5000:retry",
      "5000:reconnect",
      "5000:request-sent",
      "7500:retry",
      "7500:reconnect",
      "7500:request-sent",
      "10000:gave-up",
    ]);
  });

  it("fails pending requests with reason closed when closed, and refuses new ones", async () => {
    server = new Router();
    await server.bind(ANY);
    client = new LazyPirateClient(server.lastEndpoint!, { timeout: 60000 });
    const pending = client.call("waiting");
    const queued = client.call("queued");
    client.close();
    await expect(pending).rejects.toMatchObject({ reason: "closed", code: "EBADF" });
    await expect(queued).rejects.toMatchObject({ reason: "closed", code: "EBADF" });
    await expect(client.call("late")).rejects.toMatchObject({ reason: "closed", code: "EBADF" });
  });

  it("per-request timeout and retries override the client's defaults for that request only (virtual time)", async () => {
    server = new Router();
    await server.bind(ANY);
    const scheduler = virtualScheduler();
    client = new LazyPirateClient(server.lastEndpoint!, { scheduler, timeout: 2500, retries: 3 });
    const timeline: string[] = [];
    client.events$.subscribe((e) => timeline.push(`${scheduler.now()}:${"request" in e ? e.request : "-"}:${e.type}`));
    let quick: unknown;
    client.request("quick", { timeout: 100, retries: 1 }).subscribe({ error: (error: unknown) => (quick = error) });
    advanceBy(scheduler, 200);
    expect(quick).toMatchObject({ reason: "timeout" });
    let slow: unknown;
    client.request("slow").subscribe({ error: (error: unknown) => (slow = error) });
    advanceBy(scheduler, 4 * 2500);
    expect(slow).toMatchObject({ reason: "timeout" });
    expect(timeline.filter((line) => !line.endsWith(":reconnect"))).toEqual([
      "0:1:request-sent",
      "100:1:retry",
      "100:1:request-sent",
      "200:1:gave-up",
      "200:2:request-sent",
      "2700:2:retry",
      "2700:2:request-sent",
      "5200:2:retry",
      "5200:2:request-sent",
      "7700:2:retry",
      "7700:2:request-sent",
      "10200:2:gave-up",
    ]);
  });

  it("an AbortSignal fails the request with reason aborted and cancels its pending retries (virtual time)", async () => {
    server = new Router();
    await server.bind(ANY);
    const scheduler = virtualScheduler();
    client = new LazyPirateClient(server.lastEndpoint!, { scheduler, timeout: 1000, retries: 3 });
    const events: LazyPirateEvent[] = [];
    client.events$.subscribe((e) => events.push(e));
    const controller = new AbortController();
    const failed = client.call("x", { signal: controller.signal }).catch((error: unknown) => error);
    advanceBy(scheduler, 1000);
    controller.abort();
    const error = await failed;
    expect(error).toBeInstanceOf(PirateError);
    expect(error).toMatchObject({ reason: "aborted", code: "ECANCELED" });
    advanceBy(scheduler, 10000);
    expect(events.filter((e) => e.type === "request-sent")).toHaveLength(2);
    expect(events.filter((e) => e.type === "aborted")).toEqual([{ type: "aborted", request: 1, attempt: 2 }]);
    // Already aborted: refused before anything is sent.
    await expect(client.call("y", { signal: controller.signal })).rejects.toMatchObject({ reason: "aborted" });
    expect(events.filter((e) => e.type === "request-sent")).toHaveLength(2);
    // Bad per-request options throw at the call, under the client's rules.
    expect(() => client!.request("z", { retries: 0.5 })).toThrow(expect.objectContaining({ code: "EINVAL" }));
  });

  it("an aborted request frees the REQ lockstep: the next request goes out at once on a fresh socket", async () => {
    server = new Router();
    await server.bind(ANY);
    server.messages$.subscribe(([peer, delimiter, body]) => {
      if (body!.toString() !== "ignored") void server!.send([peer!, delimiter!, body!]);
    });
    client = new LazyPirateClient(server.lastEndpoint!, { timeout: 60000, retries: 0 });
    const controller = new AbortController();
    const ignored = client.call("ignored", { signal: controller.signal }).catch((error: unknown) => error);
    const next = client.call("next");
    await firstValueFrom(server.messages$);
    controller.abort();
    expect(await ignored).toMatchObject({ reason: "aborted" });
    expect((await next).map(String)).toEqual(["next"]);
  });

  it("rejects invalid options with EINVAL", () => {
    expect(() => new LazyPirateClient("tcp://127.0.0.1:1", { timeout: 0 })).toThrow(expect.objectContaining({ code: "EINVAL" }));
    expect(() => new LazyPirateClient([], {})).toThrow(expect.objectContaining({ code: "EINVAL" }));
  });
});
