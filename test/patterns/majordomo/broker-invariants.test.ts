import fc from "fast-check";
import {
  BrokerEngine,
  decodeWorkerCommand,
  encodeClientCommand,
  encodeWorkerCommand,
  type BrokerEvent,
} from "privateer/internal";
import { virtualClock } from "../../helpers/clock";
import { b } from "./virtual";

/**
 * Random interleavings of everything that can happen to a broker: workers
 * joining, answering, heartbeating, leaving, losing their connection or going
 * silent; clients sending requests or losing their connection; time passing. After each step the
 * broker's own event stream must show that no request was ever held by two
 * workers at once and none was answered twice.
 */

const WORKERS = ["W0", "W1", "W2", "W3"];
const CLIENTS = ["C0", "C1", "C2"];

type Step =
  | { op: "ready" | "final" | "heartbeat" | "disconnect" | "lost" | "connect"; worker: number }
  | { op: "request"; client: number; service: "s" | "t" }
  | { op: "client-lost"; client: number }
  | { op: "advance"; ms: number };

const workerStep = (...ops: Array<"ready" | "final" | "heartbeat" | "disconnect" | "lost" | "connect">): fc.Arbitrary<Step> =>
  fc.record({ op: fc.constantFrom(...ops), worker: fc.nat(WORKERS.length - 1) });

// Weighted so that most runs have several workers registered and requests flowing through them.
const step: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: workerStep("ready"), weight: 3 },
  { arbitrary: workerStep("final"), weight: 4 },
  { arbitrary: workerStep("heartbeat"), weight: 2 },
  { arbitrary: workerStep("disconnect", "lost", "connect"), weight: 1 },
  {
    arbitrary: fc.record({
      op: fc.constant("request" as const),
      client: fc.nat(CLIENTS.length - 1),
      service: fc.constantFrom("s" as const, "t" as const),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({ op: fc.constant("client-lost" as const), client: fc.nat(CLIENTS.length - 1) }),
    weight: 1,
  },
  { arbitrary: fc.record({ op: fc.constant("advance" as const), ms: fc.integer({ min: 1, max: 2500 }) }), weight: 2 },
);

/**
 * Checks the event stream as it arrives. Violations are collected, not
 * thrown: RxJS reports an error thrown by a subscriber asynchronously, where
 * fast-check would never see it.
 */
class Auditor {
  readonly violations: string[] = [];

  private readonly holder = new Map<number, string>();
  private readonly finals = new Map<number, number>();
  private readonly closed = new Set<number>();

  see(event: BrokerEvent): void {
    try {
      this.check(event);
    } catch (error) {
      this.violations.push((error as Error).message);
    }
  }

  private check(event: BrokerEvent): void {
    switch (event.type) {
      case "request-dispatched": {
        const other = this.holder.get(event.request);
        if (other !== undefined) throw new Error(`request ${event.request} dispatched to ${event.worker} while ${other} holds it`);
        if (this.closed.has(event.request)) throw new Error(`request ${event.request} dispatched after it ended`);
        this.holder.set(event.request, event.worker);
        return;
      }
      case "request-requeued":
        if (this.holder.get(event.request) !== event.worker) {
          throw new Error(`request ${event.request} requeued from ${event.worker}, which did not hold it`);
        }
        this.holder.delete(event.request);
        return;
      case "reply-sent":
        if (!event.final) return;
        this.finals.set(event.request, (this.finals.get(event.request) ?? 0) + 1);
        if (this.finals.get(event.request)! > 1) throw new Error(`request ${event.request} answered twice`);
        this.holder.delete(event.request);
        this.closed.add(event.request);
        return;
      case "request-abandoned":
        // Also emitted instead of a requeue when the worker holding it fails after its client left.
        this.holder.delete(event.request);
        this.closed.add(event.request);
        return;
      case "request-expired":
      case "request-rejected":
        if (this.holder.has(event.request)) throw new Error(`request ${event.request} expired while a worker held it`);
        this.closed.add(event.request);
        return;
      default:
        return;
    }
  }
}

const stats = { dispatched: 0, requeued: 0 };

function run(steps: Step[]): void {
  const clock = virtualClock();
  const engine = new BrokerEngine((frames) => record(frames), {
    heartbeatInterval: 1000,
    heartbeatLiveness: 3,
    requestTimeout: 4000,
    maxQueuedRequests: 5,
    scheduler: clock.scheduler,
  });
  // The client each worker was last handed, as the worker itself would know it.
  const holding = new Map<string, Buffer>();
  function record(frames: Buffer[]): void {
    const peer = frames[0]!.toString("latin1");
    if (!WORKERS.includes(peer)) return;
    const command = decodeWorkerCommand(frames.slice(1)).command;
    if (command.type === "request") holding.set(peer, command.client);
  }
  const auditor = new Auditor();
  let dispatched = 0;
  let requeued = 0;
  engine.events$.subscribe((event) => {
    auditor.see(event);
    if (event.type === "request-dispatched") dispatched++;
    if (event.type === "request-requeued") requeued++;
  });
  engine.start();
  const fromWorker = (peer: string, command: Parameters<typeof encodeWorkerCommand>[1]) =>
    engine.handle([b(peer), ...encodeWorkerCommand("0.2", command)]);
  let sequence = 0;
  for (const s of steps) {
    if (s.op === "advance") {
      clock.advance(s.ms);
      if (auditor.violations.length > 0) throw new Error(auditor.violations.join("; "));
      continue;
    }
    if (s.op === "client-lost") {
      engine.peerDisconnected(b(CLIENTS[s.client]!));
      continue;
    }
    if (s.op === "request") {
      const body = [b(`req-${sequence++}`)];
      engine.handle([b(CLIENTS[s.client]!), ...encodeClientCommand("0.2", { type: "request", service: s.service, body })]);
      continue;
    }
    const peer = WORKERS[s.worker]!;
    act(peer, s.op);
    if (auditor.violations.length > 0) throw new Error(auditor.violations.join("; "));
  }
  engine.stop();
  stats.dispatched += dispatched;
  stats.requeued += requeued;

  function act(peer: string, op: Exclude<Step["op"], "advance" | "request">): void {
    switch (op) {
      case "ready":
        fromWorker(peer, { type: "ready", service: WORKERS.indexOf(peer) % 2 === 0 ? "s" : "t" });
        break;
      case "final": {
        // Possibly a reply the broker no longer expects (the worker was expired meanwhile): it must not be forwarded.
        const client = holding.get(peer) ?? b("C0");
        holding.delete(peer);
        fromWorker(peer, { type: "final", client, body: [b("done")] });
        break;
      }
      case "heartbeat":
        fromWorker(peer, { type: "heartbeat" });
        break;
      case "disconnect":
        fromWorker(peer, { type: "disconnect" });
        break;
      case "lost":
        engine.peerDisconnected(b(peer));
        break;
      case "connect":
        engine.peerConnected(b(peer));
        break;
    }
  }
}

describe("BrokerEngine invariants (property-based, virtual time)", () => {
  it("never hands a request to two workers at once, never answers one twice, never dispatches one that ended", () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 20, maxLength: 150 }), (steps) => run(steps)),
      { numRuns: 300 },
    );
    // The property is not vacuous: the random runs did dispatch and requeue plenty.
    expect(stats.dispatched).toBeGreaterThan(500);
    expect(stats.requeued).toBeGreaterThan(100);
  });

  it("the auditor catches a double dispatch (so the property above can fail)", () => {
    const auditor = new Auditor();
    const dispatch = (worker: string): BrokerEvent => ({
      type: "request-dispatched",
      request: 1,
      client: "c",
      trace: "c:1",
      service: "s",
      worker,
      attempt: 1,
    });
    auditor.see(dispatch("a"));
    auditor.see(dispatch("b"));
    expect(auditor.violations).toEqual([expect.stringMatching(/dispatched to b while a holds it/)]);
  });
});
