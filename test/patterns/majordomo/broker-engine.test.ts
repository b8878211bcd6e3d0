import {
  BrokerEngine,
  decodeClientCommand,
  decodeWorkerCommand,
  encodeClientCommand,
  encodeWorkerCommand,
  type BrokerEngineOptions,
  type BrokerEvent,
  type MdpVersion,
} from "privateer/internal";
import { virtualClock } from "../../helpers/clock";
import { b, engineHarness, strings } from "./virtual";

/** A broker engine on virtual time; the test plays every client and worker. */
function harness(options: BrokerEngineOptions = {}) {
  const base = engineHarness({ requestTimeout: 5000, ...options });
  const { engine, to } = base;
  return {
    ...base,
    workerCommands: (peer: string) => to(peer).map((frames) => decodeWorkerCommand(frames).command),
    clientReplies: (peer: string) => to(peer).map((frames) => decodeClientCommand(frames, "reply")),
    fromWorker: (peer: string, version: MdpVersion, ...commands: Parameters<typeof encodeWorkerCommand>[1][]) => {
      for (const command of commands) engine.handle([b(peer), ...encodeWorkerCommand(version, command)]);
    },
    request: (peer: string, version: MdpVersion, service: string, ...body: string[]) =>
      engine.handle([b(peer), ...encodeClientCommand(version, { type: "request", service, body: body.map(b) })]),
  };
}

const hexOf = (peer: string) => b(peer).toString("hex");

describe("BrokerEngine heartbeating (virtual time)", () => {
  it("heartbeats a worker every interval, reports missed beats, and expires it after `liveness` silent intervals", () => {
    const h = harness();
    h.fromWorker("W", "0.2", { type: "ready", service: "echo" });
    h.clock.advance(1000);
    expect(h.workerCommands("W")).toEqual([{ type: "heartbeat" }]);
    expect(h.ofType("heartbeat-missed")).toEqual([{ type: "heartbeat-missed", worker: hexOf("W"), service: "echo", missed: 1 }]);
    h.clock.advance(1000);
    expect(h.ofType("heartbeat-missed").map((e) => e.missed)).toEqual([1, 2]);
    expect(h.ofType("worker-expired")).toHaveLength(0);
    h.clock.advance(1000);
    expect(h.ofType("worker-expired")).toEqual([{ type: "worker-expired", worker: hexOf("W"), service: "echo" }]);
    // An expired worker is told so, and gets nothing after that.
    expect(h.workerCommands("W").at(-1)).toEqual({ type: "disconnect" });
    const count = h.to("W").length;
    h.clock.advance(5000);
    expect(h.to("W")).toHaveLength(count);
    expect(h.engine.services()).toEqual([]);
  });

  it("keeps a worker that heartbeats", () => {
    const h = harness();
    h.fromWorker("W", "0.1", { type: "ready", service: "echo" });
    for (let i = 0; i < 10; i++) {
      h.clock.advance(900);
      h.fromWorker("W", "0.1", { type: "heartbeat" });
    }
    expect(h.ofType("worker-expired")).toHaveLength(0);
    expect(h.engine.services()).toEqual([{ name: "echo", workers: 1, idle: 1, queued: 0 }]);
    // 0.1 heartbeats keep the 0.1 layout (leading empty frame).
    expect(strings(h.to("W")[0]!)).toEqual(["", "MDPW01", "\x04"]);
  });
});

describe("BrokerEngine request queueing and expiry (virtual time)", () => {
  it("queues a request until a worker registers, then dispatches it", () => {
    const h = harness();
    h.request("C", "0.2", "echo", "hi");
    expect(h.ofType("request-queued")).toHaveLength(1);
    h.clock.advance(2000);
    h.fromWorker("W", "0.2", { type: "ready", service: "echo" });
    expect(h.workerCommands("W")).toEqual([{ type: "request", client: b("C"), body: [b("hi")] }]);
    h.fromWorker("W", "0.2", { type: "final", client: b("C"), body: [b("HI")] });
    expect(h.clientReplies("C")).toEqual([
      { version: "0.2", delimited: false, command: { type: "final", service: "echo", body: [b("HI")] } },
    ]);
  });

  it("expires a request after requestTimeout: 0.2 clients get a 404 error reply, 0.1 clients get nothing", () => {
    const h = harness();
    h.request("C2", "0.2", "nobody", "x");
    h.request("C1", "0.1", "nobody", "x");
    h.clock.advance(4999);
    expect(h.ofType("request-expired")).toHaveLength(0);
    h.clock.advance(1);
    expect(h.ofType("request-expired").map((e) => e.client)).toEqual([hexOf("C2"), hexOf("C1")]);
    expect(h.to("C2").map(strings)).toEqual([["MDPC02", "\x03", "nobody", "mdp.error", "404", expect.any(String)]]);
    expect(h.to("C1")).toEqual([]);
    // A worker arriving later does not get the expired requests.
    h.fromWorker("W", "0.2", { type: "ready", service: "nobody" });
    expect(h.workerCommands("W")).toEqual([]);
  });

  it("expires each queued request exactly at its own deadline, and never one a worker took", () => {
    const h = harness();
    h.request("A", "0.2", "svc", "1"); // deadline 5000
    h.clock.advance(1000);
    h.request("B", "0.2", "svc", "2"); // deadline 6000
    h.request("C", "0.2", "svc", "3"); // deadline 6000
    h.clock.advance(1500);
    h.request("D", "0.2", "svc", "4"); // deadline 7500
    h.clock.advance(2499);
    expect(h.ofType("request-expired")).toHaveLength(0);
    h.clock.advance(1); // t = 5000
    expect(h.ofType("request-expired").map((e) => e.client)).toEqual([hexOf("A")]);
    // A worker takes B (the oldest left): it must not expire at 6000 with C.
    h.fromWorker("W", "0.2", { type: "ready", service: "svc" });
    expect(h.workerCommands("W")).toEqual([{ type: "request", client: b("B"), body: [b("2")] }]);
    h.clock.advance(999);
    expect(h.ofType("request-expired")).toHaveLength(1);
    h.clock.advance(1); // t = 6000
    expect(h.ofType("request-expired").map((e) => e.client)).toEqual([hexOf("A"), hexOf("C")]);
    h.clock.advance(1499);
    expect(h.ofType("request-expired")).toHaveLength(2);
    h.clock.advance(1); // t = 7500
    expect(h.ofType("request-expired").map((e) => e.client)).toEqual([hexOf("A"), hexOf("C"), hexOf("D")]);
    expect(h.to("B").filter((frames) => strings(frames).includes("mdp.error"))).toEqual([]);
  });

  it("expires a burst of 10,000 queued requests together, each answered once", () => {
    const h = harness({ maxQueuedRequests: 20000 });
    for (let i = 0; i < 10000; i++) h.request(`C${i}`, "0.2", "nobody", "x");
    h.clock.advance(5000);
    expect(h.ofType("request-expired")).toHaveLength(10000);
    expect(h.sent.filter((frames) => strings(frames).includes("404"))).toHaveLength(10000);
  });

  it("answers 504 when workers exist but all stayed busy", () => {
    const h = harness();
    h.fromWorker("W", "0.2", { type: "ready", service: "slow" });
    h.request("A", "0.2", "slow", "1");
    h.request("B", "0.2", "slow", "2");
    for (let i = 0; i < 6; i++) {
      h.clock.advance(1000);
      h.fromWorker("W", "0.2", { type: "heartbeat" });
    }
    expect(strings(h.to("B")[0]!).slice(3, 5)).toEqual(["mdp.error", "504"]);
    expect(h.to("A")).toEqual([]);
  });

  it("bounds each service queue and rejects the overflow with 503", () => {
    const h = harness({ maxQueuedRequests: 2 });
    h.request("A", "0.2", "s", "1");
    h.request("B", "0.2", "s", "2");
    h.request("C", "0.2", "s", "3");
    expect(h.ofType("request-rejected").map((e) => e.client)).toEqual([hexOf("C")]);
    expect(strings(h.to("C")[0]!).slice(3, 5)).toEqual(["mdp.error", "503"]);
    expect(h.engine.services()).toEqual([{ name: "s", workers: 0, idle: 0, queued: 2 }]);
  });

  it("by default neither bounds a queue nor expires a request: 20,000 queued for an hour are all served, in order", () => {
    // No requestTimeout or maxQueuedRequests given: the engine's own defaults (the harness sets only heartbeats).
    const clock = virtualClock();
    const toWorker: Array<{ client: Buffer; body: Buffer[] }> = [];
    const engine = new BrokerEngine(
      (frames) => {
        if (!frames[0]!.equals(b("W"))) return;
        const { command } = decodeWorkerCommand(frames.slice(1));
        if (command.type === "request") toWorker.push(command);
      },
      { scheduler: clock.scheduler },
    );
    const events: BrokerEvent[] = [];
    engine.events$.subscribe((event) => events.push(event));
    engine.start();
    const N = 20_000;
    for (let i = 0; i < N; i++) {
      const [client, version] = i % 2 ? (["C1", "0.1"] as const) : (["C2", "0.2"] as const);
      engine.handle([b(client), ...encodeClientCommand(version, { type: "request", service: "s", body: [b(`${i}`)] })]);
    }
    // A worker keeps heartbeating for an hour of virtual time, then serves the whole backlog.
    for (let t = 0; t < 3_600_000; t += 2500) {
      clock.advance(2500);
      engine.handle([b("W"), ...encodeWorkerCommand("0.2", { type: "heartbeat" })]);
      if (t === 0) engine.handle([b("W"), ...encodeWorkerCommand("0.2", { type: "ready", service: "s" })]);
    }
    expect(engine.services()).toEqual([{ name: "s", workers: 1, idle: 0, queued: N - 1 }]);
    const served: string[] = [];
    for (let i = 0; i < N; i++) {
      // MDP workers take one request at a time: each reply frees the worker for the next.
      if (toWorker.length !== i + 1) throw new Error(`${toWorker.length} requests dispatched after ${i} replies`);
      const command = toWorker[i]!;
      served.push(command.body[0]!.toString());
      engine.handle([b("W"), ...encodeWorkerCommand("0.2", { type: "final", client: command.client, body: command.body })]);
    }
    expect(served).toEqual(Array.from({ length: N }, (_, i) => `${i}`));
    expect(events.filter((e) => e.type === "request-expired" || e.type === "request-rejected")).toEqual([]);
    expect(events.filter((e) => e.type === "reply-sent")).toHaveLength(N);
    engine.stop();
  });

  it("gives every event about one request the same trace id, distinct from every other request's", () => {
    const h = harness();
    h.request("C", "0.2", "s", "1");
    h.request("C", "0.2", "s", "2");
    h.fromWorker("W", "0.2", { type: "ready", service: "s" });
    h.fromWorker("W", "0.2", { type: "final", client: b("C"), body: [b("r1")] });
    const traced = h.events.filter((e): e is Extract<BrokerEvent, { trace: string }> => "trace" in e);
    const byTrace = new Map<string, string[]>();
    for (const e of traced) byTrace.set(e.trace, [...(byTrace.get(e.trace) ?? []), e.type]);
    expect([...byTrace]).toEqual([
      [`${hexOf("C")}:1`, ["request-queued", "request-dispatched", "reply-sent"]],
      [`${hexOf("C")}:2`, ["request-queued", "request-dispatched"]],
    ]);
  });
});

describe("BrokerEngine failure handling", () => {
  it("hands the request of an expired worker to another worker, and a late reply from the dead one is not forwarded", () => {
    const h = harness({ requestTimeout: 0 });
    h.fromWorker("W1", "0.2", { type: "ready", service: "echo" });
    h.request("C", "0.2", "echo", "job");
    expect(h.workerCommands("W1")).toEqual([{ type: "request", client: b("C"), body: [b("job")] }]);
    h.fromWorker("W2", "0.1", { type: "ready", service: "echo" });
    // W2 keeps heartbeating; W1 goes silent while holding the request.
    for (let i = 0; i < 3; i++) {
      h.clock.advance(1000);
      h.fromWorker("W2", "0.1", { type: "heartbeat" });
    }
    expect(h.ofType("worker-expired").map((e) => e.worker)).toEqual([hexOf("W1")]);
    expect(h.ofType("request-requeued")).toHaveLength(1);
    const dispatched = h.ofType("request-dispatched");
    expect(dispatched.map((e) => [e.worker, e.attempt])).toEqual([
      [hexOf("W1"), 1],
      [hexOf("W2"), 2],
    ]);
    expect(h.workerCommands("W2").filter((c) => c.type === "request")).toHaveLength(1);
    // The dead worker's reply arrives late: refused, not forwarded.
    h.fromWorker("W1", "0.2", { type: "final", client: b("C"), body: [b("from W1")] });
    expect(h.workerCommands("W1").at(-1)).toEqual({ type: "disconnect" });
    h.fromWorker("W2", "0.1", { type: "final", client: b("C"), body: [b("from W2")] });
    expect(h.to("C").map(strings)).toEqual([["MDPC02", "\x03", "echo", "from W2"]]);
  });

  it("requeues the request of a worker that sends DISCONNECT, without answering it", () => {
    const h = harness();
    h.fromWorker("W1", "0.2", { type: "ready", service: "s" });
    h.request("C", "0.2", "s", "x");
    const before = h.to("W1").length;
    h.fromWorker("W1", "0.2", { type: "disconnect" });
    expect(h.to("W1")).toHaveLength(before);
    expect(h.ofType("worker-disconnected")).toEqual([
      { type: "worker-disconnected", worker: hexOf("W1"), service: "s", reason: "worker-disconnect" },
    ]);
    expect(h.engine.services()).toEqual([{ name: "s", workers: 0, idle: 0, queued: 1 }]);
    h.fromWorker("W2", "0.2", { type: "ready", service: "s" });
    expect(h.workerCommands("W2")).toEqual([{ type: "request", client: b("C"), body: [b("x")] }]);
  });

  it("disconnects workers that break the protocol", () => {
    const h = harness();
    h.fromWorker("A", "0.2", { type: "heartbeat" }); // not registered
    h.fromWorker("B", "0.1", { type: "ready", service: "s" }, { type: "ready", service: "s" }); // second READY
    h.fromWorker("C", "0.2", { type: "ready", service: "s" }, { type: "final", client: b("nobody"), body: [b("x")] });
    h.engine.handle([b("D"), b("MDPW02"), b("\x09")]); // unknown command
    for (const peer of ["A", "B", "C", "D"]) expect(h.workerCommands(peer).at(-1)).toEqual({ type: "disconnect" });
    // Each DISCONNECT is in the peer's own version.
    expect(strings(h.to("B").at(-1)!)).toEqual(["", "MDPW01", "\x05"]);
    expect(h.ofType("worker-disconnected").map((e) => e.reason)).toEqual([
      "unexpected-command",
      "unexpected-command",
      "unexpected-reply",
      "invalid-message",
    ]);
    expect(h.ofType("protocol-error")).toHaveLength(1);
    expect(h.engine.services()).toEqual([]);
  });

  it("drops client messages it cannot parse without answering", () => {
    const h = harness();
    h.engine.handle([b("X"), b("HELLO")]);
    expect(h.sent).toEqual([]);
    expect(h.ofType("protocol-error")).toHaveLength(1);
  });
});

describe("BrokerEngine connection loss", () => {
  it("removes a worker whose connection drops at once, requeues its request, and hands it to another worker", () => {
    const h = harness({ requestTimeout: 0 });
    h.engine.peerConnected(b("W1"));
    h.fromWorker("W1", "0.2", { type: "ready", service: "s" });
    h.request("C", "0.2", "s", "job");
    h.engine.peerConnected(b("W2"));
    h.fromWorker("W2", "0.2", { type: "ready", service: "s" });
    const sentToW1 = h.to("W1").length;
    h.engine.peerDisconnected(b("W1"));
    // No time passed: this is not heartbeat expiry.
    expect(h.ofType("worker-expired")).toEqual([]);
    expect(h.ofType("worker-disconnected")).toEqual([
      { type: "worker-disconnected", worker: hexOf("W1"), service: "s", reason: "connection-lost" },
    ]);
    expect(h.ofType("request-requeued")).toEqual([
      {
        type: "request-requeued",
        request: 1,
        client: hexOf("C"),
        trace: `${hexOf("C")}:1`,
        service: "s",
        worker: hexOf("W1"),
      },
    ]);
    expect(h.workerCommands("W2")).toEqual([{ type: "request", client: b("C"), body: [b("job")] }]);
    // Nobody is there to read a DISCONNECT.
    expect(h.to("W1")).toHaveLength(sentToW1);
    expect(h.engine.services()).toEqual([{ name: "s", workers: 1, idle: 0, queued: 0 }]);
  });

  it("keeps a worker while another connection under its routing id is still open (a handover winding down)", () => {
    const h = harness();
    h.engine.peerConnected(b("W"));
    h.fromWorker("W", "0.2", { type: "ready", service: "s" });
    h.engine.peerConnected(b("W"));
    h.engine.peerDisconnected(b("W"));
    expect(h.engine.services()).toEqual([{ name: "s", workers: 1, idle: 1, queued: 0 }]);
    h.engine.peerDisconnected(b("W"));
    expect(h.engine.services()).toEqual([]);
    expect(h.ofType("worker-disconnected").map((e) => e.reason)).toEqual(["connection-lost"]);
  });

  it("drops the queued requests of a client whose connection drops, but not one a worker already holds", () => {
    const h = harness();
    h.fromWorker("W", "0.2", { type: "ready", service: "s" });
    h.request("C", "0.2", "s", "held");
    h.request("C", "0.2", "s", "queued");
    h.request("C", "0.2", "nobody", "queued too");
    h.request("D", "0.2", "s", "someone else's");
    h.engine.peerDisconnected(b("C"));
    expect(h.ofType("request-abandoned")).toEqual([
      { type: "request-abandoned", request: 2, client: hexOf("C"), trace: `${hexOf("C")}:2`, service: "s" },
      { type: "request-abandoned", request: 3, client: hexOf("C"), trace: `${hexOf("C")}:3`, service: "nobody" },
    ]);
    expect(h.engine.services()).toEqual([{ name: "s", workers: 1, idle: 0, queued: 1 }]);
    // The held request is finished normally; the next one dispatched is D's, not C's.
    h.fromWorker("W", "0.2", { type: "final", client: b("C"), body: [b("done")] });
    expect(h.workerCommands("W").filter((c) => c.type === "request").map((c) => (c as { body: Buffer[] }).body[0]!.toString())).toEqual([
      "held",
      "someone else's",
    ]);
    // An abandoned request never expires into an error reply either.
    h.clock.advance(10000);
    expect(h.ofType("request-expired").filter((e) => e.client === hexOf("C"))).toEqual([]);
    expect(h.to("C").map(strings).filter((frames) => frames.includes("mdp.error"))).toEqual([]);
  });

  it("does not requeue the request of a failed worker when the request's client is gone", () => {
    const h = harness();
    h.fromWorker("W1", "0.2", { type: "ready", service: "s" });
    h.request("C", "0.2", "s", "job");
    h.engine.peerDisconnected(b("C"));
    expect(h.ofType("request-abandoned")).toEqual([]);
    h.fromWorker("W2", "0.2", { type: "ready", service: "s" });
    h.engine.peerDisconnected(b("W1"));
    expect(h.ofType("request-requeued")).toEqual([]);
    expect(h.ofType("request-abandoned")).toEqual([
      { type: "request-abandoned", request: 1, client: hexOf("C"), trace: `${hexOf("C")}:1`, service: "s" },
    ]);
    expect(h.workerCommands("W2")).toEqual([]);
  });

  it("ignores the loss of an unknown peer", () => {
    const h = harness();
    h.fromWorker("W", "0.2", { type: "ready", service: "s" });
    h.request("C", "0.2", "nobody", "x");
    h.engine.peerDisconnected(b("stranger"));
    expect(h.engine.services()).toEqual([
      { name: "nobody", workers: 0, idle: 0, queued: 1 },
      { name: "s", workers: 1, idle: 1, queued: 0 },
    ]);
    expect(h.events.filter((e) => e.type === "worker-disconnected" || e.type === "request-abandoned")).toEqual([]);
  });
});

describe("BrokerEngine replies", () => {
  it("forwards 0.2 PARTIALs in order; a 0.1 client gets only the final part as its REPLY", () => {
    const h = harness();
    h.fromWorker("W", "0.2", { type: "ready", service: "stream" });
    h.request("C2", "0.2", "stream", "go");
    for (const part of ["1", "2"]) h.fromWorker("W", "0.2", { type: "partial", client: b("C2"), body: [b(part)] });
    h.fromWorker("W", "0.2", { type: "final", client: b("C2"), body: [b("3")] });
    expect(h.to("C2").map(strings)).toEqual([
      ["MDPC02", "\x02", "stream", "1"],
      ["MDPC02", "\x02", "stream", "2"],
      ["MDPC02", "\x03", "stream", "3"],
    ]);
    h.request("C1", "0.1", "stream", "go");
    for (const part of ["1", "2"]) h.fromWorker("W", "0.2", { type: "partial", client: b("C1"), body: [b(part)] });
    h.fromWorker("W", "0.2", { type: "final", client: b("C1"), body: [b("3")] });
    expect(h.to("C1").map(strings)).toEqual([["", "MDPC01", "stream", "3"]]);
  });

  it("spreads requests over idle workers, least recently used first", () => {
    const h = harness();
    for (const w of ["W1", "W2", "W3"]) h.fromWorker(w, "0.2", { type: "ready", service: "s" });
    for (const c of ["A", "B", "C"]) h.request(c, "0.2", "s", c);
    expect(h.ofType("request-dispatched").map((e) => e.worker)).toEqual(["W1", "W2", "W3"].map(hexOf));
    h.request("D", "0.2", "s", "D");
    expect(h.engine.services()[0]!.queued).toBe(1);
    h.fromWorker("W2", "0.2", { type: "final", client: b("B"), body: [b("ok")] });
    expect(h.ofType("request-dispatched").at(-1)!.worker).toBe(hexOf("W2"));
  });
});

describe("BrokerEngine MMI (8/MMI)", () => {
  it("answers mmi.service with 200/404, unknown mmi.* with 501, and lists services", () => {
    const h = harness();
    h.fromWorker("W", "0.2", { type: "ready", service: "echo" });
    h.request("C", "0.2", "mmi.service", "echo");
    h.request("C", "0.2", "mmi.service", "nope");
    h.request("C", "0.1", "mmi.frobnicate", "x");
    h.request("C", "0.2", "mmi.services");
    const replies = h.to("C").map(strings);
    expect(replies[0]).toEqual(["MDPC02", "\x03", "mmi.service", "200"]);
    expect(replies[1]).toEqual(["MDPC02", "\x03", "mmi.service", "404"]);
    expect(replies[2]).toEqual(["", "MDPC01", "mmi.frobnicate", "501"]);
    expect(JSON.parse(replies[3]![3]!)).toEqual([{ name: "echo", workers: 1, idle: 1, queued: 0 }]);
  });

  it("disconnects a worker that registers an mmi.* service", () => {
    const h = harness();
    h.fromWorker("W", "0.2", { type: "ready", service: "mmi.service" });
    expect(h.workerCommands("W")).toEqual([{ type: "disconnect" }]);
    expect(h.ofType("worker-disconnected")[0]!.reason).toBe("reserved-service");
    h.request("C", "0.2", "mmi.service", "mmi.service");
    expect(strings(h.to("C")[0]!)[3]).toBe("404");
  });
});

describe("BrokerEngine stop", () => {
  it("sends DISCONNECT to every worker and stops heartbeating", () => {
    const h = harness();
    h.fromWorker("W", "0.2", { type: "ready", service: "s" });
    h.engine.stop();
    expect(h.workerCommands("W")).toEqual([{ type: "disconnect" }]);
    h.clock.advance(10000);
    expect(h.workerCommands("W")).toHaveLength(1);
  });
});
