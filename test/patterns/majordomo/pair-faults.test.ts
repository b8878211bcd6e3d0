/**
 * A Majordomo broker pair under process faults: two broker processes (a
 * Binary Star pair), three worker processes given both brokers, and clients
 * in this process given both brokers and kept busy. The active broker is
 * SIGKILLed (then restarted, then the other killed), or SIGSTOPped past the
 * pair's peer window and thawed after the backup took over. Children are
 * compiled with tsc in beforeAll.
 */
import { MajordomoClient, MajordomoError } from "../../../patterns/majordomo";
import { freePorts } from "../../helpers/free-address";
import { compileChildren, NodePeers, removeCompiled, type BrokerLine, type NodePeer, type WorkerLine } from "./node-peers";

jest.setTimeout(90000);

/** The pair's heartbeat: a broker is dead after WINDOW ms of silence. */
const PAIR_HB = 100;
const WINDOW = 2 * PAIR_HB;
/** MDP heartbeat between brokers and workers (the workers' reconnect interval too, as worker-main sets it). */
const MDP_HB = 250;
/**
 * The clients' timeout: it plays the guide's settle delay (longer than the
 * pair's window, so the first retry to the backup finds its peer dead and
 * takes over).
 */
const TIMEOUT = 500;
const RETRIES = 5;
/**
 * From the kill until every client has had a reply from the backup: the
 * clients' timeout (their settle delay, which covers the pair's window),
 * two MDP heartbeats for the workers to move (a DISCONNECT from the backup
 * while it was still passive costs one reconnect interval), and 500 ms for
 * a machine busy with other tests. Measured: about 650-700 ms.
 */
const GAP_BOUND = TIMEOUT + 2 * MDP_HB + 500;
const CLIENTS = 8;

let outDir: string;
let children: NodePeers;
const clients: MajordomoClient[] = [];

beforeAll(async () => {
  outDir = await compileChildren();
  children = new NodePeers(outDir);
}, 120000);

afterAll(async () => {
  await removeCompiled(outDir);
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await children.killAll();
});

type Role = "primary" | "backup";
interface Endpoints {
  frontend: Record<Role, string>;
  publisher: Record<Role, string>;
}

async function pairEndpoints(): Promise<Endpoints> {
  const [pf, pp, bf, bp] = (await freePorts(4)).map((port) => `tcp://127.0.0.1:${port}`);
  return { frontend: { primary: pf!, backup: bf! }, publisher: { primary: pp!, backup: bp! } };
}

function startBroker(endpoints: Endpoints, role: Role): NodePeer<BrokerLine> {
  const other: Role = role === "primary" ? "backup" : "primary";
  return children.broker({
    endpoint: endpoints.frontend[role],
    heartbeatInterval: MDP_HB,
    // Every request event but the heartbeat noise: test 3 proves from these that a thawed broker serves nothing.
    events: ["worker-ready", "worker-disconnected", "worker-expired", "request-queued", "request-dispatched", "request-requeued", "request-dropped", "reply-sent"],
    pair: { role, statePublisher: endpoints.publisher[role], stateSubscriber: endpoints.publisher[other], heartbeat: PAIR_HB },
  });
}

/** Resolves when `broker` reports its pair moving to `to` in a line printed after its first `from` lines. */
function becomes(broker: NodePeer<BrokerLine>, to: "active" | "passive", from = 0, ms = 15000): Promise<unknown> {
  const test = (line: Extract<BrokerLine, { type: "pair" }>) => line.event.type === "state-changed" && line.event.to === to;
  const skip = broker.lines.slice(0, from).filter((line) => {
    const parsed = JSON.parse(line) as BrokerLine;
    return parsed.type === "pair" && test(parsed);
  }).length;
  return broker.waitForEvent("pair", test, ms, skip);
}

/** The pair lines of `broker` printed after its first `from` lines. */
function pairEventsAfter(broker: NodePeer<BrokerLine>, from: number) {
  return broker.lines.slice(from).map((line) => JSON.parse(line) as BrokerLine).filter((line): line is Extract<BrokerLine, { type: "pair" }> => line.type === "pair").map((line) => line.event);
}

function startWorkers(endpoints: Endpoints): Array<NodePeer<WorkerLine>> {
  return Array.from({ length: 3 }, () =>
    children.worker({
      broker: [endpoints.frontend.primary, endpoints.frontend.backup],
      service: "echo",
      heartbeatInterval: MDP_HB,
      workMs: 5,
      events: ["ready", "disconnect-received", "broker-lost"],
    }),
  );
}

/** One request's fate as its client saw it. */
interface Outcome {
  readonly client: number;
  readonly body: string;
  readonly sentAt: number;
  settledAt?: number;
  /** When the attempt that was answered was sent (a retry's, if the first went unanswered). */
  answeredSentAt?: number;
  reply?: string[];
  error?: unknown;
}

/**
 * CLIENTS clients, each sending requests back to back until stopped, every
 * request recorded. `stop()` resolves once every loop has ended: each
 * request was answered or failed; a request that never settles makes it
 * reject after the longest a request may take.
 */
function load(endpoints: Endpoints) {
  const outcomes: Outcome[] = [];
  let running = true;
  const loops = Array.from({ length: CLIENTS }, async (_, index) => {
    const client = new MajordomoClient({ broker: [endpoints.frontend.primary, endpoints.frontend.backup], timeout: TIMEOUT, retries: RETRIES });
    clients.push(client);
    // One request at a time per client, so attempt numbers name this request's sends.
    const attemptSentAt = new Map<number, number>();
    let answeredAttempt = 0;
    client.events$.subscribe((event) => {
      if (event.type === "request-sent") attemptSentAt.set(event.attempt, Date.now());
      else if (event.type === "reply" && event.final) answeredAttempt = event.attempt;
    });
    for (let n = 0; running; n++) {
      attemptSentAt.clear();
      const outcome: Outcome = { client: index, body: `c${index}-${n}`, sentAt: Date.now() };
      outcomes.push(outcome);
      try {
        outcome.reply = (await client.call("echo", outcome.body)).map(String);
        outcome.answeredSentAt = attemptSentAt.get(answeredAttempt);
      } catch (error) {
        outcome.error = error;
      }
      outcome.settledAt = Date.now();
    }
  });
  const longest = (RETRIES + 1) * TIMEOUT + 2000;
  return {
    outcomes,
    /**
     * Resolves with the time at which every client had a reply to an attempt
     * sent at or after `since` (ms since epoch): after a kill, proof that the
     * other broker serves each of them, whatever was already in flight.
     */
    async allServedSince(since: number, ms = 15000): Promise<number> {
      const deadline = Date.now() + ms;
      for (;;) {
        const firsts = Array.from({ length: CLIENTS }, (_, c) => outcomes.find((o) => o.client === c && o.reply && o.answeredSentAt! >= since));
        if (firsts.every((o) => o !== undefined)) return Math.max(...firsts.map((o) => o!.settledAt!));
        if (Date.now() > deadline) throw new Error(`not every client was served within ${ms} ms`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async stop(): Promise<void> {
      running = false;
      let timer: NodeJS.Timeout | undefined;
      const hung = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`a request did not settle within ${longest} ms`)), longest);
      });
      try {
        await Promise.race([Promise.all(loops), hung]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Every request was answered with its own body (plus the worker's pid), or failed with a typed timeout after its retries. */
function expectAnsweredOrTypedFailure(outcomes: readonly Outcome[]): { answered: number; failed: number } {
  let failed = 0;
  for (const outcome of outcomes) {
    expect(outcome.settledAt).toBeDefined();
    if (outcome.reply) {
      expect(outcome.reply[0]).toBe(outcome.body);
      expect(outcome.reply[1]).toMatch(/^pid:\d+$/);
    } else {
      failed += 1;
      expect(outcome.error).toBeInstanceOf(MajordomoError);
      expect(outcome.error).toMatchObject({ reason: "timeout" });
    }
  }
  return { answered: outcomes.length - failed, failed };
}

async function startPairWithWorkers(endpoints: Endpoints) {
  const backup = startBroker(endpoints, "backup");
  const primary = startBroker(endpoints, "primary");
  await Promise.all([becomes(primary, "active"), becomes(backup, "passive")]);
  const workers = startWorkers(endpoints);
  for (let i = 0; i < workers.length; i++) await primary.waitForEvent("worker-ready", () => true, 15000, i);
  return { primary, backup, workers };
}

describe("a Majordomo broker pair in separate processes", () => {
  it("kill -9 of the active broker under load: the backup serves every client soon after; every request answered or failed typed; then the restarted primary joins passive and a failover back to it works", async () => {
    const endpoints = await pairEndpoints();
    const { primary, backup } = await startPairWithWorkers(endpoints);
    const traffic = load(endpoints);
    await traffic.allServedSince(Date.now());
    expect(pairEventsAfter(backup, 0).some((e) => e.type === "state-changed" && e.to === "active")).toBe(false);

    const killedAt = Date.now();
    await primary.kill("SIGKILL");
    // Sent once the process is gone: only the backup can answer it.
    const deadAt = Date.now();
    const backupLinesAtKill = backup.lines.length;
    await becomes(backup, "active", backupLinesAtKill);
    const allServed = await traffic.allServedSince(deadAt);
    const gap = allServed - killedAt;
    expect(gap).toBeLessThan(GAP_BOUND);
    const takeover = pairEventsAfter(backup, backupLinesAtKill).find((e) => e.type === "state-changed" && e.to === "active");
    expect(takeover).toMatchObject({ from: "passive", cause: "client-request" });

    // The dead broker comes back on the same ports: it joins as passive and serves nothing while the backup is active.
    const restarted = startBroker(endpoints, "primary");
    await becomes(restarted, "passive");
    expect(pairEventsAfter(restarted, 0).filter((e) => e.type === "state-changed").map((e) => e.type === "state-changed" && `${e.from}>${e.to}`)).toEqual(["primary>passive"]);
    await traffic.allServedSince(Date.now());

    // Second failover, back to it.
    const secondKillAt = Date.now();
    await backup.kill("SIGKILL");
    const secondDeadAt = Date.now();
    await becomes(restarted, "active");
    const servedAgain = await traffic.allServedSince(secondDeadAt);
    expect(servedAgain - secondKillAt).toBeLessThan(GAP_BOUND);
    await traffic.allServedSince(Date.now());

    await traffic.stop();
    const { answered, failed } = expectAnsweredOrTypedFailure(traffic.outcomes);
    expect(answered).toBeGreaterThan(CLIENTS * 10);
    // Logged, not asserted: how many gave up (with 6 attempts, none should).
    process.stdout.write(`pair kill -9: ${answered} answered, ${failed} failed; first failover ${gap} ms, second ${servedAgain - secondKillAt} ms\n`);
  });

  it("SIGSTOP of the active past the window, backup takes over, SIGCONT: the thawed broker serves no request and ends passive", async () => {
    const endpoints = await pairEndpoints();
    const { primary, backup } = await startPairWithWorkers(endpoints);
    const traffic = load(endpoints);
    await traffic.allServedSince(Date.now());

    const frozenAt = Date.now();
    primary.signal("SIGSTOP");
    await becomes(backup, "active", backup.lines.length);
    await traffic.allServedSince(frozenAt);
    // Let the clients' requests and the workers' heartbeats pile up in the frozen broker's socket buffers.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const linesAtThaw = primary.lines.length;
    primary.signal("SIGCONT");
    await becomes(primary, "passive", linesAtThaw);
    // Traffic goes on for a while after the thaw, in case the thawed broker would pick anything up.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await traffic.allServedSince(Date.now());
    await traffic.stop();

    const after = primary.lines.slice(linesAtThaw).map((line) => JSON.parse(line) as BrokerLine);
    const story = (): void => void process.stdout.write(`thawed broker, every line after SIGCONT:\n${primary.lines.slice(linesAtThaw).join("\n")}\n`);
    // Every way into the broker (a message, a timer, a disconnect) runs the stall check first, so from its first
    // run after SIGCONT the broker is fenced. Only the one handler that SIGSTOP interrupted midway may still finish:
    // what it decided before the freeze (one reply forwarded, one request dispatched) is printed after the thaw.
    const fence = after.findIndex(
      (line) => (line.type === "pair" && line.event.type === "stalled") || ("reason" in line && line.reason === "broker-fenced"),
    );
    if (fence < 0) story();
    expect(fence).toBeGreaterThanOrEqual(0);
    const isServed = (line: BrokerLine): boolean => ["request-queued", "request-dispatched", "reply-sent", "worker-ready"].includes(line.type);
    const interrupted = after.slice(0, fence);
    if (interrupted.length > 2 || !interrupted.every(isServed)) story();
    expect(interrupted.length).toBeLessThanOrEqual(2);
    expect(interrupted.filter((line) => !isServed(line))).toEqual([]);
    const fenced = after.slice(fence);
    const served = fenced.filter(isServed);
    if (served.length > 0) story();
    expect(served).toEqual([]);
    // Nor does it act on what it knew before the freeze (expiring workers, requeueing): besides its pair's events, it
    // only turns workers away and drops what it held.
    const other = fenced.filter(
      (line) =>
        line.type !== "pair" &&
        line.type !== "request-dropped" &&
        !(line.type === "worker-disconnected" && (line.reason === "broker-fenced" || line.reason === "broker-passive")),
    );
    if (other.length > 0) story();
    expect(other).toEqual([]);
    const pair = pairEventsAfter(primary, linesAtThaw);
    // Matchers that print the whole list when they fail: a rare failure here needs the story to be read.
    expect(pair).toContainEqual(expect.objectContaining({ type: "stalled" }));
    expect(pair).toContainEqual(expect.objectContaining({ type: "split-brain", resolution: "stepped-down" }));
    // It ends passive: its last state change is to passive, and the backup never left active.
    expect(pair.filter((e) => e.type === "state-changed").at(-1)).toMatchObject({ to: "passive" });
    expect(pairEventsAfter(backup, 0).filter((e) => e.type === "state-changed").at(-1)).toMatchObject({ to: "active" });
    // What it held when it froze was dropped, not served; the workers it still heard from were turned away.
    const turnedAway = after.filter((line) => line.type === "worker-disconnected");
    const { answered, failed } = expectAnsweredOrTypedFailure(traffic.outcomes);
    expect(answered).toBeGreaterThan(CLIENTS * 5);
    process.stdout.write(
      `pair SIGSTOP: ${answered} answered, ${failed} failed; thawed broker after SIGCONT: ${after.length} lines, ${turnedAway.length} worker-disconnected, ` +
        `${after.filter((l) => l.type === "request-dropped").length} request-dropped\n`,
    );
  });
});
