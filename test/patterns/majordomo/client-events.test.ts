import type { Subscription } from "rxjs";
import {
  encodeClientCommand,
  MajordomoAsyncClient,
  MajordomoClient,
  MajordomoError,
  type MajordomoClientEvent,
} from "privateer/internal";
import { virtualClock } from "../../helpers/clock";
import { b, fakeLinks } from "./virtual";

function harness(kind: "sync" | "async" = "sync", retries = 2) {
  const clock = virtualClock();
  const links = fakeLinks();
  const settings = { timeout: 1000, retries, scheduler: clock.scheduler, linkFactory: links.factory };
  const client = kind === "sync" ? new MajordomoClient(settings) : new MajordomoAsyncClient(settings);
  const events: MajordomoClientEvent[] = [];
  let completed = false;
  client.events$.subscribe({ next: (event) => events.push(event), complete: () => (completed = true) });
  const outcome: { error?: unknown; replies: string[]; subscription?: Subscription } = { replies: [] };
  const send = (service: string, body: string) => {
    outcome.subscription = client.request(service, body).subscribe({
      next: (frames) => outcome.replies.push(frames.map(String).join(",")),
      error: (error: unknown) => (outcome.error = error),
    });
  };
  const reply = (type: "partial" | "final", service: string, ...body: string[]) =>
    links.last().deliver(encodeClientCommand("0.2", { type, service, body: body.map(b) }));
  return { clock, links, client, events, outcome, send, reply, isCompleted: () => completed };
}

describe("Majordomo client events$ (virtual time)", () => {
  it("reports every send, timeout, retry and fresh socket, then gave-up before the timeout error", () => {
    const h = harness();
    h.send("echo", "hi");
    h.clock.advance(3000);
    expect(h.events).toEqual([
      { type: "request-sent", request: 1, service: "echo", attempt: 1, socket: 1 },
      { type: "timeout", request: 1, service: "echo", attempt: 1 },
      { type: "retry", request: 1, service: "echo", attempt: 2 },
      { type: "reconnected", socket: 2, cause: "timeout" },
      { type: "request-sent", request: 1, service: "echo", attempt: 2, socket: 2 },
      { type: "timeout", request: 1, service: "echo", attempt: 2 },
      { type: "retry", request: 1, service: "echo", attempt: 3 },
      { type: "reconnected", socket: 3, cause: "timeout" },
      { type: "request-sent", request: 1, service: "echo", attempt: 3, socket: 3 },
      { type: "timeout", request: 1, service: "echo", attempt: 3 },
      { type: "gave-up", request: 1, service: "echo", attempts: 3 },
    ]);
    expect((h.outcome.error as MajordomoError).reason).toBe("timeout");
    h.client.close();
  });

  it("reports partial and final replies with the attempt that got them", () => {
    const h = harness();
    h.send("stream", "go");
    h.clock.advance(1000);
    h.reply("partial", "stream", "1");
    h.reply("final", "stream", "2");
    expect(h.events.filter((e) => e.type === "reply")).toEqual([
      { type: "reply", request: 1, service: "stream", attempt: 2, final: false },
      { type: "reply", request: 1, service: "stream", attempt: 2, final: true },
    ]);
    expect(h.outcome.replies).toEqual(["1", "2"]);
    h.client.close();
  });

  it("reports an error reply with the typed error the request fails with", () => {
    const h = harness("async");
    h.send("ghost", "x");
    h.reply("final", "ghost", "mdp.error", "404", "no worker");
    const event = h.events.at(-1) as Extract<MajordomoClientEvent, { type: "error-reply" }>;
    expect(event.type).toBe("error-reply");
    expect(event.error).toBe(h.outcome.error);
    expect(event.error.reason).toBe("service-unavailable");
    h.client.close();
  });

  it("reports the socket's connection to the broker, and ignores a replaced socket's", () => {
    const h = harness();
    h.send("echo", "hi");
    const first = h.links.last();
    first.report("connected");
    first.report("disconnected");
    first.report("connected");
    h.clock.advance(1000);
    // The first socket is closed now; anything it still reports is about a socket the client no longer uses.
    first.report("disconnected");
    h.links.last().report("connected");
    expect(h.events.filter((e) => e.type === "connected" || e.type === "disconnected")).toEqual([
      { type: "connected", socket: 1 },
      { type: "disconnected", socket: 1 },
      { type: "connected", socket: 1 },
      { type: "connected", socket: 2 },
    ]);
    h.client.close();
  });

  it("reports an abandoned request, and the fresh socket the next request goes out on", () => {
    const h = harness();
    h.send("a", "1");
    h.outcome.subscription!.unsubscribe();
    h.send("a", "2");
    expect(h.events).toEqual([
      { type: "request-sent", request: 1, service: "a", attempt: 1, socket: 1 },
      { type: "abandoned", request: 1, service: "a" },
      { type: "reconnected", socket: 2, cause: "abandoned" },
      { type: "request-sent", request: 2, service: "a", attempt: 1, socket: 2 },
    ]);
    h.client.close();
  });

  it("ends with close and completes", async () => {
    const h = harness();
    h.send("a", "1");
    await h.client.close();
    expect(h.events.at(-1)).toEqual({ type: "close" });
    expect(h.isCompleted()).toBe(true);
    expect((h.outcome.error as MajordomoError).reason).toBe("closed");
  });
});
