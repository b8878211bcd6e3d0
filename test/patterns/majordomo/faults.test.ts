/**
 * Process-level faults with real processes and sockets: a worker process
 * SIGKILLed or SIGSTOPped mid-request, and a broker process SIGKILLed and
 * restarted on the same port. Children are compiled with tsc in beforeAll.
 */
import { lastValueFrom } from "rxjs";
import { Dealer } from "../../../src";
import {
  decodeClientCommand,
  encodeClientCommand,
  MajordomoClient,
  MajordomoError,
  MajordomoWorker,
  type MajordomoClientEvent,
} from "privateer/internal";
import { nextBrokerEvents, startBroker, Tracker } from "./e2e";
import { compileChildren, NodePeers, removeCompiled, type BrokerLine } from "./node-peers";

jest.setTimeout(60000);

const b = (text: string) => Buffer.from(text);
const tracker = new Tracker();
let outDir: string;
let children: NodePeers;

beforeAll(async () => {
  outDir = await compileChildren();
  children = new NodePeers(outDir);
}, 120000);

afterAll(async () => {
  await removeCompiled(outDir);
});

afterEach(async () => {
  await tracker.closeAll();
  await children.killAll();
});

/** A bare DEALER speaking MDP 0.2 as a client, so the test sees every message the broker sends it. */
function rawClient(endpoint: string) {
  const dealer = tracker.track(new Dealer({ linger: 0 }));
  dealer.connect(endpoint);
  return {
    request: (service: string, ...body: string[]) =>
      dealer.send(encodeClientCommand("0.2", { type: "request", service, body: body.map(b) })),
    next: async () => decodeClientCommand(await dealer.receive(), "reply").command,
    /** Proves no stray reply is waiting: the next message must be the answer to this MMI query. */
    async expectOnlyMmiNext(): Promise<void> {
      await this.request("mmi.service", "echo");
      expect(await this.next()).toEqual({ type: "final", service: "mmi.service", body: [b("200")] });
    },
  };
}

describe("a Privateer worker process SIGKILLed mid-request", () => {
  it("is removed as soon as its connection drops, its request goes to another worker, and the client gets exactly one reply", async () => {
    // Heartbeat expiry would take 3 × 5 s: far longer than this test waits, so only the dropped connection can explain the requeue.
    const HB = 5000;
    const { broker, endpoint } = await startBroker(tracker, { heartbeatInterval: HB, requestTimeout: 0 });
    const ready = nextBrokerEvents(broker, "worker-ready");
    const doomed = children.worker({ broker: endpoint, service: "echo", heartbeatInterval: HB, workMs: 60000 });
    const doomedKey = (await ready)[0]!.worker;

    const client = rawClient(endpoint);
    await client.request("echo", "job-1");
    await doomed.waitForEvent("request");

    const handled: string[] = [];
    const survivorReady = nextBrokerEvents(broker, "worker-ready");
    const survivor = tracker.track(new MajordomoWorker({ broker: endpoint, service: "echo", heartbeatInterval: HB }));
    survivor.serve(({ body }) => {
      handled.push(body[0]!.toString());
      return ["survivor", ...body];
    });
    await survivorReady;

    const dropped = nextBrokerEvents(broker, "worker-disconnected");
    const requeued = nextBrokerEvents(broker, "request-requeued");
    const killedAt = Date.now();
    await doomed.kill("SIGKILL");
    expect(await dropped).toEqual([
      { type: "worker-disconnected", worker: doomedKey, service: "echo", reason: "connection-lost" },
    ]);
    const noticedAfter = Date.now() - killedAt;
    expect((await requeued)[0]!.worker).toBe(doomedKey);

    expect(await client.next()).toEqual({ type: "final", service: "echo", body: [b("survivor"), b("job-1")] });
    expect(handled).toEqual(["job-1"]);
    await client.expectOnlyMmiNext();
    // Generous bound: the point is "well before the first heartbeat interval", not a precise figure.
    expect(noticedAfter).toBeLessThan(HB);
  });
});

describe("a worker process frozen with SIGSTOP mid-request", () => {
  it("is expired within liveness × interval, its request is reassigned, and after SIGCONT it adds no second reply", async () => {
    const HB = 200;
    const LIVENESS = 3;
    const { broker, endpoint } = await startBroker(tracker, {
      heartbeatInterval: HB,
      heartbeatLiveness: LIVENESS,
      requestTimeout: 0,
    });
    const ready = nextBrokerEvents(broker, "worker-ready");
    // Its request takes longer than the expiry, so the worker is still holding it when frozen.
    const frozen = children.worker({ broker: endpoint, service: "echo", heartbeatInterval: HB, workMs: 1500 });
    const frozenKey = (await ready)[0]!.worker;

    const client = rawClient(endpoint);
    await client.request("echo", "job-1");
    await frozen.waitForEvent("request");
    const survivorReady = nextBrokerEvents(broker, "worker-ready");
    const survivor = tracker.track(new MajordomoWorker({ broker: endpoint, service: "echo", heartbeatInterval: HB }));
    survivor.serve(({ body }) => ["survivor", ...body]);
    await survivorReady;

    const lostConnections = nextBrokerEvents(broker, "worker-disconnected", 1, (e) => e.reason === "connection-lost");
    let connectionLost = false;
    // Settles only if the connection drops, or rejects when the broker closes at the end: either is fine.
    lostConnections.then(() => (connectionLost = true)).catch(() => undefined);
    const expired = nextBrokerEvents(broker, "worker-expired");
    const finals: number[] = [];
    broker.events$.subscribe((e) => e.type === "reply-sent" && e.final && e.service === "echo" && finals.push(e.request));

    const stoppedAt = Date.now();
    frozen.signal("SIGSTOP");
    expect((await expired)[0]!.worker).toBe(frozenKey);
    // Time itself is under test here. The worker was last heard at most one interval before the freeze;
    // the broker checks expiry once per interval, so it acts between (liveness - 1) and (liveness + 1)
    // intervals after the freeze. The upper bound gets slack for a loaded event loop.
    const expiredAfter = Date.now() - stoppedAt;
    expect(expiredAfter).toBeGreaterThanOrEqual((LIVENESS - 1) * HB - 50);
    expect(expiredAfter).toBeLessThan((LIVENESS + 1) * HB + 1000);
    // The frozen process's TCP connection stays up; only heartbeating could tell.
    expect(connectionLost).toBe(false);

    expect(await client.next()).toEqual({ type: "final", service: "echo", body: [b("survivor"), b("job-1")] });

    // Thawed, the worker either finishes its request first (and sends a FINAL the broker must refuse) or
    // reads the DISCONNECT the broker sent at expiry first (and drops the reply). Either way it re-registers.
    const refused = nextBrokerEvents(broker, "worker-disconnected", 1, (e) => e.worker === frozenKey);
    refused.catch(() => undefined); // never settles in the "reply dropped" case until the broker closes
    const rejoined = nextBrokerEvents(broker, "worker-ready");
    frozen.signal("SIGCONT");
    const outcome = await Promise.race([
      frozen.waitForEvent("reply").then(() => "late reply sent" as const),
      frozen.waitForEvent("reply-dropped").then(() => "reply dropped" as const),
    ]);
    if (outcome === "late reply sent") expect((await refused)[0]!.reason).toBe("unexpected-command");
    await frozen.waitForEvent("ready", (e) => e.attempt === 2);
    await rejoined;

    await client.expectOnlyMmiNext();
    expect(finals).toEqual([1]);
  });
});

describe("the broker process SIGKILLed and restarted on the same port", () => {
  it("workers re-register, clients retry, and every request is answered or fails with a typed error; none hangs", async () => {
    const HB = 200;
    const first = children.broker({ endpoint: "tcp://127.0.0.1:*", heartbeatInterval: HB });
    const endpoint = (await first.waitForEvent("bound")).endpoint;

    const workers = [
      new MajordomoWorker({ broker: endpoint, service: "echo", heartbeatInterval: HB, reconnectInterval: HB, concurrency: 2 }),
      new MajordomoWorker({ broker: endpoint, service: "slow", heartbeatInterval: HB, reconnectInterval: HB }),
    ].map((w) => tracker.track(w));
    workers[0]!.serve(async ({ body }) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return body;
    });
    workers[1]!.serve(async ({ body }) => {
      await new Promise((resolve) => setTimeout(resolve, 500));
      return body;
    });
    await first.waitForEvent("worker-ready", () => true, 15000, 2);

    // Patient clients: enough retries to outlive the restart.
    const patient = Array.from({ length: 4 }, () =>
      tracker.track(new MajordomoClient({ broker: endpoint, timeout: 1000, retries: 6 })),
    );
    const clientEvents: MajordomoClientEvent[][] = patient.map(() => []);
    patient.forEach((client, i) => client.events$.subscribe((e) => clientEvents[i]!.push(e)));
    type Outcome = { sent: string; reply?: string; error?: unknown };
    const outcomes: Outcome[] = [];
    const runs = patient.map(async (client, i) => {
      for (let n = 0; n < 8; n++) {
        const outcome: Outcome = { sent: `c${i}-r${n}` };
        outcomes.push(outcome);
        try {
          outcome.reply = (await lastValueFrom(client.request("echo", outcome.sent))).toString();
        } catch (error) {
          outcome.error = error;
        }
      }
    });
    // An impatient client (no retries) whose request is held by the slow worker when the broker dies.
    const impatient = tracker.track(new MajordomoClient({ broker: endpoint, timeout: 1500, retries: 0 }));
    const impatientOutcome = lastValueFrom(impatient.request("slow", "doomed")).then(
      (reply) => ({ reply: reply.toString() }),
      (error: unknown) => ({ error }),
    );
    await first.waitForEvent("request-dispatched", (e) => e.service === "slow");
    await first.waitForEvent("reply-sent", () => true, 15000, 5);

    await first.kill("SIGKILL");
    const second = children.broker({ endpoint, heartbeatInterval: HB });
    expect((await second.waitForEvent("bound")).endpoint).toBe(endpoint);
    // All three worker sockets register with the new broker by themselves.
    await second.waitForEvent("worker-ready", () => true, 15000, 2);

    await Promise.all(runs);
    const settled = await impatientOutcome;

    expect(outcomes).toHaveLength(32);
    for (const outcome of outcomes) {
      if (outcome.error === undefined) expect(outcome.reply).toBe(outcome.sent);
      else expect(outcome.error).toBeInstanceOf(MajordomoError);
    }
    // With six retries of 1 s each, the patient clients outlast the restart: all answered.
    expect(outcomes.filter((o) => o.error !== undefined)).toEqual([]);
    expect((settled as { error?: MajordomoError }).error).toBeInstanceOf(MajordomoError);
    expect((settled as { error: MajordomoError }).error.reason).toBe("timeout");

    // Each patient client saw its socket lose the broker, and requests lost with the broker were resent.
    for (const events of clientEvents) expect(events.some((e) => e.type === "disconnected")).toBe(true);
    expect(clientEvents.flat().filter((e) => e.type === "retry").length).toBeGreaterThan(0);
    const services = second.events().filter((e) => e.type === "worker-ready");
    expect(services.map((e) => (e as { service: string }).service).sort()).toEqual(["echo", "echo", "slow"]);
  });
});
