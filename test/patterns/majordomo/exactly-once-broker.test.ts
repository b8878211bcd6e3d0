import {
  encodeClientCommand,
  encodeWorkerCommand,
  ID_TAG,
  withRequestId,
  type BrokerEngineOptions,
  type MdpVersion,
} from "privateer/internal";
import { b, engineHarness, strings } from "./virtual";

/**
 * The broker side of the request-id extension (issue #9), on virtual time:
 * the test plays every client and worker and reads the exact frames the
 * engine sends, so "a plain peer never sees an id frame" is checked byte for byte.
 */
function harness(options: BrokerEngineOptions = {}) {
  const base = engineHarness(options);
  const { engine, to } = base;
  return {
    ...base,
    /** A peer's handshake; `ids` when its READY metadata announced the extension. */
    connect: (peer: string, ids: boolean) => engine.peerConnected(b(peer), { ids }),
    ready: (worker: string, service = "svc", version: MdpVersion = "0.2") =>
      engine.handle([b(worker), ...encodeWorkerCommand(version, { type: "ready", service })]),
    /** A client request; with `id`, the id frames go first, as an extension client sends them. */
    request: (client: string, service: string, body: string[], id?: string, version: MdpVersion = "0.2") => {
      const frames = body.map(b);
      engine.handle([
        b(client),
        ...encodeClientCommand(version, { type: "request", service, body: id === undefined ? frames : withRequestId(id, frames) }),
      ]);
    },
    /** A worker's FINAL for `client`; with `id`, echoed as an extension worker does. */
    final: (worker: string, client: string, body: string[], id?: string) => {
      const frames = body.map(b);
      engine.handle([
        b(worker),
        ...encodeWorkerCommand("0.2", {
          type: "final",
          client: b(client),
          body: id === undefined ? frames : withRequestId(id, frames),
        }),
      ]);
    },
    /** REQUEST commands a worker got, as the exact frames after its routing id. */
    requestsTo: (worker: string) => to(worker).filter((frames) => frames[1]![0] === 0x02),
  };
}

const exactRequest = (client: string, body: Buffer[]) =>
  encodeWorkerCommand("0.2", { type: "request", client: b(client), body });
const exactFinal = (service: string, body: Buffer[]) => encodeClientCommand("0.2", { type: "final", service, body });

describe("request ids at the broker: plain peers see plain MDP", () => {
  it("a plain client and a plain worker get exactly the frames they get without the extension", () => {
    const h = harness();
    h.connect("C", false);
    h.connect("W", false);
    h.ready("W");
    h.request("C", "svc", ["a", "b"]);
    expect(h.requestsTo("W")).toEqual([exactRequest("C", [b("a"), b("b")])]);
    h.final("W", "C", ["r"]);
    expect(h.to("C")).toEqual([exactFinal("svc", [b("r")])]);
  });

  it("an extension client's id never reaches a plain worker, and comes back on its reply", () => {
    const h = harness();
    h.connect("C", true);
    h.connect("W", false);
    h.ready("W");
    h.request("C", "svc", ["a"], "id-1");
    expect(h.requestsTo("W")).toEqual([exactRequest("C", [b("a")])]);
    h.final("W", "C", ["r"]);
    expect(h.to("C")).toEqual([exactFinal("svc", [ID_TAG, b("id-1"), b("r")])]);
  });

  it("a plain client's body that happens to start with the tag is left alone", () => {
    const h = harness();
    h.connect("C", false);
    h.connect("W", true);
    h.ready("W");
    h.request("C", "svc", ["PX-ID1", "x", "y"]);
    // The worker gets the body as sent: no id was taken off, none was added.
    expect(h.requestsTo("W")).toEqual([exactRequest("C", [b("PX-ID1"), b("x"), b("y")])]);
    expect(h.ofType("request-queued")[0]).not.toHaveProperty("requestId");
  });

  it("an extension worker gets the id before the body, and its echo is taken off the client's reply", () => {
    const h = harness();
    h.connect("C", true);
    h.connect("W", true);
    h.ready("W");
    h.request("C", "svc", [], "id-2");
    // An empty body is still one empty frame after the id, as MDP sends it.
    expect(h.requestsTo("W")).toEqual([exactRequest("C", [ID_TAG, b("id-2"), Buffer.alloc(0)])]);
    h.final("W", "C", ["r"], "id-2");
    expect(strings(h.to("C")[0]!)).toEqual(["MDPC02", "\x03", "svc", "PX-ID1", "id-2", "r"]);
  });

  it("an extension worker echoing another id is dropped and the request requeued, not answered", () => {
    const h = harness();
    h.connect("C", true);
    h.connect("W", true);
    h.ready("W");
    h.request("C", "svc", ["a"], "id-3");
    h.final("W", "C", ["r"], "someone-else");
    expect(h.to("C")).toEqual([]);
    expect(h.ofType("worker-disconnected")).toEqual([expect.objectContaining({ reason: "unexpected-reply" })]);
    expect(h.ofType("request-requeued")).toHaveLength(1);
  });
});

describe("request ids at the broker: one dispatch per id", () => {
  it("a retry of a queued request joins it: queued once, dispatched once, answered to the retry's socket", () => {
    const h = harness();
    h.connect("C1", true);
    h.connect("C2", true);
    h.request("C1", "svc", ["a"], "id-q");
    h.request("C2", "svc", ["a"], "id-q");
    expect(h.engine.services()).toEqual([{ name: "svc", workers: 0, idle: 0, queued: 1 }]);
    expect(h.ofType("request-joined")).toEqual([expect.objectContaining({ client: b("C2").toString("hex"), requestId: "id-q" })]);
    h.connect("W", true);
    h.ready("W");
    expect(h.requestsTo("W")).toHaveLength(1);
    h.final("W", "C2", ["r"], "id-q");
    expect(h.to("C1")).toEqual([]);
    expect(h.to("C2")).toEqual([exactFinal("svc", [ID_TAG, b("id-q"), b("r")])]);
  });

  it("a retry of a request a worker holds is not given to an idle worker; the holder's reply goes to the retry", () => {
    const h = harness();
    h.connect("C1", true);
    h.connect("C2", true);
    h.connect("W1", true);
    h.connect("W2", true);
    h.ready("W1");
    h.request("C1", "svc", ["a"], "id-f");
    h.ready("W2");
    h.request("C2", "svc", ["a"], "id-f");
    expect(h.requestsTo("W1")).toHaveLength(1);
    expect(h.requestsTo("W2")).toEqual([]);
    // The worker addresses its reply to the client it was given; the broker sends it to whoever asked last.
    h.final("W1", "C1", ["r"], "id-f");
    expect(h.to("C2")).toEqual([exactFinal("svc", [ID_TAG, b("id-f"), b("r")])]);
    expect(h.to("C1")).toEqual([]);
  });

  it("a retry that took over from a lost socket keeps the request alive when its worker dies: requeued, not abandoned", () => {
    const h = harness();
    h.connect("C1", true);
    h.connect("C2", true);
    h.connect("W1", true);
    h.connect("W2", true);
    h.ready("W1");
    h.request("C1", "svc", ["a"], "id-k");
    h.request("C2", "svc", ["a"], "id-k");
    h.engine.peerDisconnected(b("C1"));
    h.engine.peerDisconnected(b("W1"));
    h.ready("W2");
    expect(h.ofType("request-abandoned")).toEqual([]);
    expect(h.requestsTo("W2")).toHaveLength(1);
    // Requeued after the takeover, it goes out addressed to the client that asked last.
    expect(h.requestsTo("W2")).toEqual([exactRequest("C2", [ID_TAG, b("id-k"), b("a")])]);
    h.final("W2", "C2", ["r"], "id-k");
    expect(h.to("C2")).toEqual([exactFinal("svc", [ID_TAG, b("id-k"), b("r")])]);
  });

  it("negative control: without ids (plain clients) the same retry is dispatched to a second worker at once", () => {
    const h = harness();
    h.connect("C1", false);
    h.connect("C2", false);
    h.ready("W1");
    h.request("C1", "svc", ["a"]);
    h.ready("W2");
    h.request("C2", "svc", ["a"]);
    expect(h.requestsTo("W1")).toHaveLength(1);
    expect(h.requestsTo("W2")).toHaveLength(1);
  });

  it("ids are scoped by service: the same id to two services is two requests", () => {
    const h = harness();
    h.connect("C", true);
    h.ready("W1", "one");
    h.ready("W2", "two");
    h.request("C", "one", ["a"], "same");
    h.request("C", "two", ["a"], "same");
    expect(h.requestsTo("W1")).toHaveLength(1);
    expect(h.requestsTo("W2")).toHaveLength(1);
  });
});

describe("request ids at the broker: the reply cache", () => {
  /** Runs one request id to completion through worker W. */
  function complete(h: ReturnType<typeof harness>, id: string): void {
    h.request("C", "svc", ["a"], id);
    h.final("W", "C", [`reply-${id}`], id);
  }

  it("a retry of a completed request is answered from the cache without a dispatch", () => {
    const h = harness();
    h.connect("C", true);
    h.connect("W", true);
    h.ready("W");
    complete(h, "done");
    h.connect("C2", true);
    h.request("C2", "svc", ["a"], "done");
    expect(h.requestsTo("W")).toHaveLength(1);
    expect(h.to("C2")).toEqual([exactFinal("svc", [ID_TAG, b("done"), b("reply-done")])]);
    expect(h.ofType("reply-replayed")).toEqual([expect.objectContaining({ requestId: "done" })]);
  });

  it("holds at most replyCacheSize replies, evicting the least recently used", () => {
    const h = harness({ replyCacheSize: 2 });
    h.connect("C", true);
    h.connect("W", true);
    h.ready("W");
    complete(h, "1");
    complete(h, "2");
    h.request("C", "svc", ["a"], "1"); // a hit makes "1" the most recently used
    complete(h, "3"); // evicts "2"
    expect(h.requestsTo("W")).toHaveLength(3);
    h.request("C", "svc", ["a"], "1");
    h.request("C", "svc", ["a"], "3");
    expect(h.requestsTo("W")).toHaveLength(3);
    h.request("C", "svc", ["a"], "2");
    expect(h.requestsTo("W")).toHaveLength(4);
    expect(h.ofType("reply-replayed").map((e) => e.requestId)).toEqual(["1", "1", "3"]);
  });

  it("forgets a reply after replyCacheTtl ms (virtual time)", () => {
    const h = harness({ replyCacheTtl: 1000, heartbeatInterval: 100_000 });
    h.connect("C", true);
    h.connect("W", true);
    h.ready("W");
    complete(h, "t");
    h.clock.advance(999);
    h.request("C", "svc", ["a"], "t");
    expect(h.requestsTo("W")).toHaveLength(1);
    h.clock.advance(1000);
    h.request("C", "svc", ["a"], "t");
    expect(h.requestsTo("W")).toHaveLength(2);
  });

  it("replyCacheSize 0 turns the cache off: a retry after completion runs again", () => {
    const h = harness({ replyCacheSize: 0 });
    h.connect("C", true);
    h.connect("W", true);
    h.ready("W");
    complete(h, "x");
    h.request("C", "svc", ["a"], "x");
    expect(h.requestsTo("W")).toHaveLength(2);
  });
});
