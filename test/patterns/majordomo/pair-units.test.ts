/**
 * The pieces of a Majordomo broker pair that need no second process, in
 * virtual time: the engine's reset (what a broker does when it stops
 * serving), its turning away of traffic while it does not serve, and the
 * worker's and clients' rotation over the pair's two endpoints.
 */
import { lastValueFrom, toArray } from "rxjs";
import { MajordomoAsyncClient, MajordomoClient, MajordomoError, MajordomoWorker, type MajordomoClientEvent, type WorkerEvent } from "../../../patterns/majordomo";
import {
  BrokerEngine,
  decodeClientCommand,
  decodeWorkerCommand,
  encodeClientCommand,
  encodeWorkerCommand,
  type MdpVersion,
} from "privateer/internal";
import { virtualClock } from "../../helpers/clock";
import { b, engineHarness, FakeLink } from "./virtual";

function brokerHarness() {
  const base = engineHarness();
  const { engine, to } = base;
  return {
    ...base,
    workerCommands: (peer: string) => to(peer).map((frames) => decodeWorkerCommand(frames).command),
    fromWorker: (peer: string, version: MdpVersion, command: Parameters<typeof encodeWorkerCommand>[1]) =>
      engine.handle([b(peer), ...encodeWorkerCommand(version, command)]),
    request: (peer: string, service: string, body: string) =>
      engine.handle([b(peer), ...encodeClientCommand("0.2", { type: "request", service, body: [b(body)] })]),
  };
}

const hexOf = (peer: string) => b(peer).toString("hex");

describe("BrokerEngine.reset: a broker of a pair that stops serving", () => {
  it("disconnects every worker, drops queued and held requests unanswered, refuses late replies, and serves again from empty", () => {
    const h = brokerHarness();
    h.fromWorker("W1", "0.2", { type: "ready", service: "echo" });
    h.fromWorker("W2", "0.1", { type: "ready", service: "slow" });
    h.request("C1", "echo", "one"); // dispatched to W1
    h.request("C2", "echo", "two"); // queued behind it
    h.request("C3", "nobody", "three"); // queued, no worker at all
    expect(h.ofType("request-dispatched").map((e) => e.client)).toEqual([hexOf("C1")]);

    h.engine.reset("broker-passive");

    expect(h.workerCommands("W1").at(-1)).toEqual({ type: "disconnect" });
    expect(h.workerCommands("W2")).toEqual([{ type: "disconnect" }]);
    expect(h.ofType("worker-disconnected")).toEqual([
      { type: "worker-disconnected", worker: hexOf("W1"), service: "echo", reason: "broker-passive" },
      { type: "worker-disconnected", worker: hexOf("W2"), service: "slow", reason: "broker-passive" },
    ]);
    expect(h.ofType("request-dropped").map((e) => [e.client, e.service, e.reason])).toEqual([
      [hexOf("C1"), "echo", "broker-passive"],
      [hexOf("C2"), "echo", "broker-passive"],
      [hexOf("C3"), "nobody", "broker-passive"],
    ]);
    expect(h.engine.services()).toEqual([]);
    // Clients hear nothing: they time out and retry on the other broker.
    for (const client of ["C1", "C2", "C3"]) expect(h.to(client)).toEqual([]);

    // W1's reply to the request it held arrives late: refused, not forwarded.
    h.fromWorker("W1", "0.2", { type: "final", client: b("C1"), body: [b("ONE")] });
    expect(h.to("C1")).toEqual([]);
    expect(h.ofType("reply-sent")).toEqual([]);
    expect(h.workerCommands("W1").at(-1)).toEqual({ type: "disconnect" });

    // No timer left behind sends anything to the dropped workers.
    const before = h.to("W1").length + h.to("W2").length;
    h.clock.advance(10_000);
    expect(h.to("W1").length + h.to("W2").length).toBe(before);

    // Still running: a worker that registers again and a new request are served.
    expect(h.completed()).toBe(false);
    h.fromWorker("W3", "0.2", { type: "ready", service: "echo" });
    h.request("C4", "echo", "four");
    expect(h.workerCommands("W3")).toEqual([{ type: "request", client: b("C4"), body: [b("four")] }]);
  });

  it("turnAway: a worker's command gets DISCONNECT (its own DISCONNECT gets nothing); a client's request gets nothing", () => {
    const h = brokerHarness();
    const away = (peer: string, frames: Buffer[]) => h.engine.turnAway([b(peer), ...frames], "broker-fenced");
    away("W", encodeWorkerCommand("0.2", { type: "ready", service: "echo" }));
    away("H", encodeWorkerCommand("0.1", { type: "heartbeat" }));
    away("D", encodeWorkerCommand("0.2", { type: "disconnect" }));
    away("C", encodeClientCommand("0.2", { type: "request", service: "echo", body: [b("x")] }));
    away("G", [b("garbage")]);
    expect(h.workerCommands("W")).toEqual([{ type: "disconnect" }]);
    // The DISCONNECT speaks the version (and layout) of what it answers.
    expect(decodeWorkerCommand(h.to("H")[0]!).version).toBe("0.1");
    for (const peer of ["D", "C", "G"]) expect(h.to(peer)).toEqual([]);
    expect(h.ofType("worker-disconnected")).toEqual([
      { type: "worker-disconnected", worker: hexOf("W"), service: "echo", reason: "broker-fenced" },
      { type: "worker-disconnected", worker: hexOf("H"), reason: "broker-fenced" },
    ]);
    // Nothing was registered or queued.
    expect(h.engine.services()).toEqual([]);
  });
});

/** A link factory that records which endpoint each link was made for. */
function endpointLinks() {
  const made: Array<{ endpoint: string | undefined; link: FakeLink }> = [];
  return {
    made,
    factory: (endpoint?: string) => {
      const link = new FakeLink();
      made.push({ endpoint, link });
      return link;
    },
    endpoints: () => made.map((m) => m.endpoint),
    last: () => made[made.length - 1]!.link,
  };
}

const workerFrames = (command: Parameters<typeof encodeWorkerCommand>[1]) => encodeWorkerCommand("0.2", command);

describe("MajordomoWorker over a broker pair (virtual time)", () => {
  function pairWorker() {
    const clock = virtualClock();
    const links = endpointLinks();
    const worker = new MajordomoWorker({
      broker: ["tcp://A", "tcp://B"],
      service: "echo",
      heartbeatInterval: 100,
      heartbeatLiveness: 3,
      reconnectInterval: 500,
      scheduler: clock.scheduler,
      linkFactory: links.factory,
    });
    const events: WorkerEvent[] = [];
    worker.events$.subscribe((event) => events.push(event));
    worker.serve(({ body }) => body);
    return { clock, links, worker, events };
  }

  it("moves to the other broker at once on DISCONNECT, and pauses reconnectInterval after a whole round refused it", () => {
    const w = pairWorker();
    expect(w.links.endpoints()).toEqual(["tcp://A"]);
    w.links.last().deliver(workerFrames({ type: "disconnect" }));
    expect(w.links.endpoints()).toEqual(["tcp://A", "tcp://B"]);
    // B refuses too: no active broker yet. The worker waits rather than spin.
    w.links.last().deliver(workerFrames({ type: "disconnect" }));
    expect(w.links.made).toHaveLength(2);
    w.clock.advance(499);
    expect(w.links.made).toHaveLength(2);
    w.clock.advance(1);
    expect(w.links.endpoints()).toEqual(["tcp://A", "tcp://B", "tcp://A"]);
    // A serves (a heartbeat), which starts a new round: its later DISCONNECT moves the worker to B at once.
    w.links.last().deliver(workerFrames({ type: "heartbeat" }));
    w.links.last().deliver(workerFrames({ type: "disconnect" }));
    expect(w.links.endpoints()).toEqual(["tcp://A", "tcp://B", "tcp://A", "tcp://B"]);
    expect(w.events.filter((e) => e.type === "ready").map((e) => (e.type === "ready" ? e.broker : undefined))).toEqual(w.links.endpoints());
    // Every replaced link was closed.
    expect(w.links.made.slice(0, -1).every((m) => m.link.closed)).toBe(true);
  });

  it("moves to the other broker at once when its connection drops or cannot be made, or after liveness × heartbeat of silence", () => {
    const w = pairWorker();
    w.links.last().deliver(workerFrames({ type: "heartbeat" }));
    w.links.last().report("disconnected"); // A killed
    expect(w.links.endpoints()).toEqual(["tcp://A", "tcp://B"]);
    w.links.last().deliver(workerFrames({ type: "heartbeat" }));
    // B goes silent (frozen): the tick that consumes the heartbeat heard, three silent ones, then A.
    w.clock.advance(399);
    expect(w.links.made).toHaveLength(2);
    w.clock.advance(1);
    expect(w.links.endpoints()).toEqual(["tcp://A", "tcp://B", "tcp://A"]);
    // A cannot be reached: the round (B silent, A unreachable) is over, so B is retried after reconnectInterval.
    w.links.last().report("unreachable");
    expect(w.links.made).toHaveLength(3);
    w.clock.advance(500);
    expect(w.links.endpoints()).toEqual(["tcp://A", "tcp://B", "tcp://A", "tcp://B"]);
    expect(w.events.filter((e) => e.type === "broker-lost")).toHaveLength(3);
  });

  it("with one broker, a dropped connection is left to the socket's own reconnect, as before", () => {
    const clock = virtualClock();
    const links = endpointLinks();
    const worker = new MajordomoWorker({ broker: "tcp://A", service: "echo", heartbeatInterval: 100, scheduler: clock.scheduler, linkFactory: links.factory });
    worker.serve(({ body }) => body);
    links.last().report("disconnected");
    links.last().report("unreachable");
    expect(links.endpoints()).toEqual(["tcp://A"]);
  });
});

describe("Majordomo clients over a broker pair (virtual time)", () => {
  it("MajordomoClient sends each retry after a timeout to the next broker, and stays with the one that answered", async () => {
    const clock = virtualClock();
    const links = endpointLinks();
    const client = new MajordomoClient({ broker: ["tcp://A", "tcp://B"], timeout: 300, retries: 3, scheduler: clock.scheduler, linkFactory: links.factory });
    const events: MajordomoClientEvent[] = [];
    client.events$.subscribe((event) => events.push(event));
    const first = lastValueFrom(client.request("echo", "one").pipe(toArray()));
    expect(links.endpoints()).toEqual(["tcp://A"]);
    clock.advance(300);
    expect(links.endpoints()).toEqual(["tcp://A", "tcp://B"]);
    const resent = decodeClientCommand(links.last().sent[0]!, "request").command;
    expect(resent).toMatchObject({ type: "request", service: "echo", body: [b("one")] });
    links.last().deliver(encodeClientCommand("0.2", { type: "final", service: "echo", body: [b("ONE")] }));
    expect((await first).map((frames) => frames.map(String))).toEqual([["ONE"]]);
    // The next request goes where the last answer came from.
    const second = client.call("echo", "two");
    expect(links.made).toHaveLength(2);
    links.last().deliver(encodeClientCommand("0.2", { type: "final", service: "echo", body: [b("TWO")] }));
    expect((await second).map(String)).toEqual(["TWO"]);
    await client.close();
  });

  it("MajordomoAsyncClient alternates too, and fails with a typed timeout after its retries when neither broker answers", async () => {
    const clock = virtualClock();
    const links = endpointLinks();
    const client = new MajordomoAsyncClient({ broker: ["tcp://A", "tcp://B"], timeout: 100, retries: 2, scheduler: clock.scheduler, linkFactory: links.factory });
    const failed = client.call("echo", "x").catch((error: unknown) => error);
    clock.advance(300);
    // Three attempts (retries 2): A, B, A; no fourth socket once it gave up.
    expect(links.endpoints()).toEqual(["tcp://A", "tcp://B", "tcp://A"]);
    const error = await failed;
    expect(error).toBeInstanceOf(MajordomoError);
    expect(error).toMatchObject({ reason: "timeout" });
    await client.close();
  });
});
