/**
 * Two MajordomoBrokers as a Binary Star pair in this process, over inproc,
 * each on its own virtual-time clock (so one can stall while the other
 * runs); the clients and workers are bare DEALERs, so the test sees every
 * message a broker sends them. Covers the broker's gating: votes for client
 * requests, DISCONNECT for workers of a broker that does not serve, and the
 * reset when a broker is fenced or steps down.
 */
import { Dealer } from "../../../src";
import { MajordomoBroker, type BrokerEvent } from "../../../patterns/majordomo";
import { decodeClientCommand, decodeWorkerCommand, encodeClientCommand, encodeWorkerCommand } from "privateer/internal";
import type { BinaryStarEvent } from "../../../patterns/binary-star";
import { advanceWithIo, settle, virtualScheduler } from "../../helpers/clock";

const HB = 1000;
const WINDOW = 2 * HB;
const MDP_HB = 500;

const brokers: MajordomoBroker[] = [];
const dealers: Dealer[] = [];
afterEach(async () => {
  for (const dealer of dealers.splice(0)) dealer.close();
  await Promise.all(brokers.splice(0).map((broker) => broker.close()));
});

let counter = 0;

async function pair() {
  const id = `${process.pid}-${++counter}`;
  const at = (what: string) => `inproc://mdp-pair-${id}-${what}`;
  const clocks = { primary: virtualScheduler(), backup: virtualScheduler() };
  const make = (role: "primary" | "backup") => {
    const other = role === "primary" ? "backup" : "primary";
    const broker = new MajordomoBroker({
      heartbeatInterval: MDP_HB,
      scheduler: clocks[role],
      linger: 0,
      pair: { role, statePublisher: at(`${role}-state`), stateSubscriber: at(`${other}-state`), heartbeat: HB },
    });
    brokers.push(broker);
    const events: BrokerEvent[] = [];
    const pairEvents: BinaryStarEvent[] = [];
    broker.events$.subscribe((event) => events.push(event));
    broker.pair!.events$.subscribe((event) => pairEvents.push(event));
    return { broker, events, pairEvents, endpoint: at(`${role}-frontend`) };
  };
  const primary = make("primary");
  const backup = make("backup");
  await backup.broker.bind(backup.endpoint);
  await primary.broker.bind(primary.endpoint);
  const both = async (ms: number) => {
    for (let t = 0; t < ms; t += 10) await Promise.all([advanceWithIo(clocks.primary, 10), advanceWithIo(clocks.backup, 10)]);
  };
  await both(HB + 10);
  expect(primary.broker.pair!.state).toBe("active");
  expect(backup.broker.pair!.state).toBe("passive");
  return { primary, backup, clocks, both };
}

/** A bare DEALER that records what it receives. */
function peer(endpoint: string) {
  const dealer = new Dealer({ linger: 0 });
  dealers.push(dealer);
  dealer.connect(endpoint);
  const received: Buffer[][] = [];
  dealer.messages$.subscribe((frames) => received.push(frames));
  return { dealer, received };
}

function worker(endpoint: string) {
  const p = peer(endpoint);
  return {
    ...p,
    send: (command: Parameters<typeof encodeWorkerCommand>[1]) => p.dealer.send(encodeWorkerCommand("0.2", command)),
    commands: () => p.received.map((frames) => decodeWorkerCommand(frames).command),
  };
}

function client(endpoint: string) {
  const p = peer(endpoint);
  return {
    ...p,
    request: (service: string, body: string) => p.dealer.send(encodeClientCommand("0.2", { type: "request", service, body: [Buffer.from(body)] })),
    replies: () => p.received.map((frames) => decodeClientCommand(frames, "reply").command),
  };
}

const types = (events: readonly BrokerEvent[]) => events.map((event) => event.type);

describe("a Majordomo broker pair in virtual time", () => {
  it("only the active broker serves: the passive one turns workers away and drops client requests without a word", async () => {
    const { primary, backup } = await pair();

    const wb = worker(backup.endpoint);
    await wb.send({ type: "ready", service: "echo" });
    const cb = client(backup.endpoint);
    await cb.request("echo", "to the passive");
    await cb.request("mmi.service", "echo");
    await settle(20);
    expect(wb.commands()).toEqual([{ type: "disconnect" }]);
    expect(cb.received).toEqual([]);
    expect(backup.events).toEqual([{ type: "worker-disconnected", worker: expect.any(String), service: "echo", reason: "broker-passive" }]);
    // The votes were refused (the peer is alive), so the backup stays passive.
    expect(backup.pairEvents.filter((e) => e.type === "vote")).toEqual([
      { type: "vote", accepted: false, state: "passive", reason: "peer-alive" },
      { type: "vote", accepted: false, state: "passive", reason: "peer-alive" },
    ]);
    expect(backup.broker.pair!.state).toBe("passive");

    const wp = worker(primary.endpoint);
    await wp.send({ type: "ready", service: "echo" });
    const cp = client(primary.endpoint);
    await settle(20);
    await cp.request("echo", "to the active");
    await settle(20);
    expect(wp.commands()).toEqual([{ type: "request", client: expect.any(Buffer), body: [Buffer.from("to the active")] }]);
    const [request] = wp.commands();
    await wp.send({ type: "final", client: (request as { client: Buffer }).client, body: [Buffer.from("done")] });
    await settle(20);
    expect(cp.replies()).toEqual([{ type: "final", service: "echo", body: [Buffer.from("done")] }]);
  });

  /** A worker registered with the primary holding one request, and a second request queued behind it. */
  async function busyPrimary(primary: { endpoint: string; events: BrokerEvent[] }) {
    const wp = worker(primary.endpoint);
    await wp.send({ type: "ready", service: "echo" });
    const c1 = client(primary.endpoint);
    const c2 = client(primary.endpoint);
    await settle(20);
    await c1.request("echo", "held by the worker");
    await c2.request("echo", "queued");
    await settle(20);
    expect(types(primary.events)).toEqual(["worker-ready", "request-queued", "request-dispatched", "request-queued"]);
    const [held] = wp.commands();
    return { wp, c1, c2, heldBy: (held as { client: Buffer }).client };
  }

  it("an active whose loop stalled is fenced: it drops what it held, turns its worker away and serves nothing from its backlog; after the fence it serves again", async () => {
    const { primary, clocks, both } = await pair();
    const { wp, c1, c2, heldBy } = await busyPrimary(primary);

    // The thaw: the primary's clock jumps past the window, and its backlog (the worker's reply, a client's request, a
    // worker's heartbeat) is read before any of its timers ran.
    clocks.primary.frame += WINDOW + HB;
    const before = primary.events.length;
    await wp.send({ type: "final", client: heldBy, body: [Buffer.from("late")] });
    await c2.request("echo", "backlog");
    await settle(20);
    await advanceWithIo(clocks.primary, MDP_HB);

    const after = primary.events.slice(before);
    expect(after.filter((e) => ["request-queued", "request-dispatched", "reply-sent", "worker-ready", "request-requeued"].includes(e.type))).toEqual([]);
    expect(after.filter((e) => e.type === "request-dropped").map((e) => e.type === "request-dropped" && e.reason)).toEqual(["broker-fenced", "broker-fenced"]);
    expect(after).toContainEqual({ type: "worker-disconnected", worker: expect.any(String), service: "echo", reason: "broker-fenced" });
    expect(primary.pairEvents.filter((e) => e.type === "stalled")).toHaveLength(1);
    // Nobody got a reply through the fenced broker; its worker was told to leave (once on the reset, once for its reply).
    expect(c1.received).toEqual([]);
    expect(c2.received).toEqual([]);
    expect(wp.commands().slice(1)).toEqual([{ type: "disconnect" }, { type: "disconnect" }]);

    // No one took over, so once the fence is over the primary is still active and serves from empty.
    await both(WINDOW + HB);
    expect(primary.broker.pair!.state).toBe("active");
    const again = worker(primary.endpoint);
    await again.send({ type: "ready", service: "echo" });
    await settle(20);
    await c2.request("echo", "after the fence");
    await settle(20);
    expect(again.commands()).toEqual([{ type: "request", client: expect.any(Buffer), body: [Buffer.from("after the fence")] }]);
  });

  it("a stalled active that first hears of a worker's lost connection does not hand that worker's request to another", async () => {
    const { primary, clocks } = await pair();
    const w1 = worker(primary.endpoint);
    await w1.send({ type: "ready", service: "echo" });
    await settle(20);
    const w2 = worker(primary.endpoint);
    await w2.send({ type: "ready", service: "echo" });
    const c = client(primary.endpoint);
    await settle(20);
    await c.request("echo", "held by w1");
    await settle(20);
    expect(w1.commands()).toEqual([{ type: "request", client: expect.any(Buffer), body: [Buffer.from("held by w1")] }]);

    // The thaw: the first thing the primary learns is that w1's connection is gone.
    clocks.primary.frame += WINDOW + HB;
    const before = primary.events.length;
    w1.dealer.close();
    await settle(20);

    const after = primary.events.slice(before);
    expect(after.filter((e) => e.type === "request-requeued" || e.type === "request-dispatched")).toEqual([]);
    expect(after.filter((e) => e.type === "request-dropped").map((e) => e.type === "request-dropped" && e.reason)).toEqual(["broker-fenced"]);
    expect(w2.commands()).toEqual([{ type: "disconnect" }]);
  });

  it("an active that hears the backup active with a higher term steps down: it drops what it held and turns its worker away", async () => {
    const { primary, backup, clocks, both } = await pair();
    const { wp, c1, c2 } = await busyPrimary(primary);
    const before = primary.events.length;

    // The primary's loop stops (its sockets still read): the backup finds it dead and takes over on a client's vote.
    await advanceWithIo(clocks.backup, WINDOW + HB);
    const cb = client(backup.endpoint);
    await cb.request("echo", "to the backup");
    await settle(20);
    await advanceWithIo(clocks.backup, HB);
    expect(backup.broker.pair!.state).toBe("active");
    expect(primary.pairEvents).toContainEqual(expect.objectContaining({ type: "split-brain", kind: "dual-active", resolution: "stepped-down", rule: "term" }));
    expect(primary.broker.pair!.state).toBe("passive");

    const after = primary.events.slice(before);
    expect(after.filter((e) => e.type === "request-dropped").map((e) => e.type === "request-dropped" && e.reason)).toEqual(["broker-passive", "broker-passive"]);
    expect(after).toContainEqual({ type: "worker-disconnected", worker: expect.any(String), service: "echo", reason: "broker-passive" });
    expect(wp.commands().slice(1)).toEqual([{ type: "disconnect" }]);
    // Time goes on for both: the passive primary sends its former clients nothing, and its timers send the worker nothing more.
    await both(WINDOW);
    expect(c1.received).toEqual([]);
    expect(c2.received).toEqual([]);
    expect(wp.commands().slice(1)).toEqual([{ type: "disconnect" }]);
    expect(primary.broker.pair!.state).toBe("passive");
  });
});
