import fc from "fast-check";
import {
  BrokerEngine,
  decodeWorkerCommand,
  encodeClientCommand,
  encodeWorkerCommand,
  takeRequestId,
  withRequestId,
  type BrokerEvent,
} from "privateer/internal";
import { virtualClock } from "../../helpers/clock";
import { b } from "./virtual";

/**
 * The broker invariants of broker-invariants.test.ts, with request ids:
 * clients retry ids from a small pool (often on a fresh socket, as after a
 * failover), workers with and without the extension come and go. Per
 * (service, id): never held by two workers at once, and never dispatched
 * again once a worker answered it (the reply cache answers instead).
 */

const WORKERS = ["W0", "W1", "W2", "W3"];
const CLIENTS = 3;
const IDS = ["i0", "i1", "i2", "i3", "i4"];

type Step =
  | { op: "ready" | "final" | "heartbeat" | "lost"; worker: number }
  | { op: "request"; client: number; id: number; service: "s" | "t" }
  | { op: "client-lost"; client: number }
  | { op: "advance"; ms: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant("ready" as const), worker: fc.nat(WORKERS.length - 1) }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant("final" as const), worker: fc.nat(WORKERS.length - 1) }), weight: 4 },
  { arbitrary: fc.record({ op: fc.constantFrom("heartbeat" as const, "lost" as const), worker: fc.nat(WORKERS.length - 1) }), weight: 2 },
  {
    arbitrary: fc.record({
      op: fc.constant("request" as const),
      client: fc.nat(CLIENTS - 1),
      id: fc.nat(IDS.length - 1),
      service: fc.constantFrom("s" as const, "t" as const),
    }),
    weight: 5,
  },
  { arbitrary: fc.record({ op: fc.constant("client-lost" as const), client: fc.nat(CLIENTS - 1) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant("advance" as const), ms: fc.integer({ min: 1, max: 2500 }) }), weight: 2 },
);

/** Checks events per (service, request id); violations are collected (RxJS would report a throw asynchronously). */
class IdAuditor {
  readonly violations: string[] = [];
  private readonly holder = new Map<string, string>();
  private readonly answered = new Set<string>();

  see(event: BrokerEvent): void {
    if (!("requestId" in event) || event.requestId === undefined) return;
    const key = `${event.service}/${event.requestId}`;
    switch (event.type) {
      case "request-dispatched": {
        const other = this.holder.get(key);
        if (other !== undefined) this.violations.push(`${key} dispatched to ${event.worker} while ${other} holds it`);
        if (this.answered.has(key)) this.violations.push(`${key} dispatched again after a worker answered it`);
        this.holder.set(key, event.worker);
        return;
      }
      case "request-requeued":
      case "request-abandoned":
        this.holder.delete(key);
        return;
      case "reply-sent":
        if (event.final && this.holder.delete(key)) this.answered.add(key);
        return;
      default:
        return;
    }
  }
}

const stats = { dispatched: 0, joined: 0, replayed: 0, requeued: 0 };

function run(steps: Step[]): void {
  const clock = virtualClock();
  // The cache must outlive the run for "never dispatched again" to hold; a TTL is tested in exactly-once-broker.
  const engine = new BrokerEngine((frames) => record(frames), {
    heartbeatInterval: 1000,
    heartbeatLiveness: 3,
    replyCacheTtl: 0,
    scheduler: clock.scheduler,
  });
  const holding = new Map<string, { client: Buffer; id?: string }>();
  function record(frames: Buffer[]): void {
    const peer = frames[0]!.toString("latin1");
    if (!WORKERS.includes(peer)) return;
    const command = decodeWorkerCommand(frames.slice(1)).command;
    if (command.type === "request") {
      const { id } = idWorker(peer) ? takeRequestId(command.body) : { id: undefined };
      holding.set(peer, { client: command.client, ...(id === undefined ? {} : { id }) });
    }
  }
  // Even-numbered workers speak the extension, odd ones are plain MDP workers.
  const idWorker = (peer: string) => WORKERS.indexOf(peer) % 2 === 0;
  const auditor = new IdAuditor();
  engine.events$.subscribe((event) => {
    auditor.see(event);
    if (event.type === "request-dispatched") stats.dispatched++;
    if (event.type === "request-joined") stats.joined++;
    if (event.type === "reply-replayed") stats.replayed++;
    if (event.type === "request-requeued") stats.requeued++;
  });
  engine.start();
  for (const peer of WORKERS) engine.peerConnected(b(peer), { ids: idWorker(peer) });
  // Each client's current socket; a lost one is replaced by a fresh routing id, as a retrying client's new socket.
  const sockets = Array.from({ length: CLIENTS }, (_, i) => `C${i}.0`);
  for (const socket of sockets) engine.peerConnected(b(socket), { ids: true });
  let generation = 0;
  for (const s of steps) {
    switch (s.op) {
      case "advance":
        clock.advance(s.ms);
        break;
      case "client-lost": {
        engine.peerDisconnected(b(sockets[s.client]!));
        sockets[s.client] = `C${s.client}.${++generation}`;
        engine.peerConnected(b(sockets[s.client]!), { ids: true });
        break;
      }
      case "request":
        engine.handle([
          b(sockets[s.client]!),
          ...encodeClientCommand("0.2", { type: "request", service: s.service, body: withRequestId(IDS[s.id]!, [b("x")]) }),
        ]);
        break;
      case "ready":
        engine.handle([b(WORKERS[s.worker]!), ...encodeWorkerCommand("0.2", { type: "ready", service: s.worker % 2 === 0 ? "s" : "t" })]);
        break;
      case "heartbeat":
        engine.handle([b(WORKERS[s.worker]!), ...encodeWorkerCommand("0.2", { type: "heartbeat" })]);
        break;
      case "lost":
        engine.peerDisconnected(b(WORKERS[s.worker]!));
        engine.peerConnected(b(WORKERS[s.worker]!), { ids: idWorker(WORKERS[s.worker]!) });
        break;
      case "final": {
        const peer = WORKERS[s.worker]!;
        const held = holding.get(peer) ?? { client: b("C0.0") };
        holding.delete(peer);
        const body = held.id === undefined ? [b("done")] : withRequestId(held.id, [b("done")]);
        engine.handle([b(peer), ...encodeWorkerCommand("0.2", { type: "final", client: held.client, body })]);
        break;
      }
    }
    if (auditor.violations.length > 0) throw new Error(auditor.violations.join("; "));
  }
  engine.stop();
}

describe("BrokerEngine invariants with request ids (property-based, virtual time)", () => {
  it("never holds one id in two workers at once, and never runs an answered id again", () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 20, maxLength: 150 }), (steps) => run(steps)),
      { numRuns: 300 },
    );
    // Not vacuous: retries did join requests in flight, hit the cache, and requeues happened.
    expect(stats.dispatched).toBeGreaterThan(300);
    expect(stats.joined).toBeGreaterThan(100);
    expect(stats.replayed).toBeGreaterThan(100);
    expect(stats.requeued).toBeGreaterThan(20);
  });

  it("the auditor catches a second dispatch of an answered id (so the property above can fail)", () => {
    const auditor = new IdAuditor();
    const ids = { request: 1, client: "c", trace: "c:1", service: "s", requestId: "i0" };
    auditor.see({ type: "request-dispatched", ...ids, worker: "a", attempt: 1 });
    auditor.see({ type: "reply-sent", ...ids, final: true });
    auditor.see({ type: "request-dispatched", ...ids, request: 2, worker: "b", attempt: 1 });
    expect(auditor.violations).toEqual([expect.stringMatching(/dispatched again after a worker answered it/)]);
  });

  it("the auditor catches two workers holding one id", () => {
    const auditor = new IdAuditor();
    const ids = { client: "c", trace: "c:1", service: "s", requestId: "i0" };
    auditor.see({ type: "request-dispatched", request: 1, ...ids, worker: "a", attempt: 1 });
    auditor.see({ type: "request-dispatched", request: 2, ...ids, worker: "b", attempt: 1 });
    expect(auditor.violations).toEqual([expect.stringMatching(/while a holds it/)]);
  });
});
