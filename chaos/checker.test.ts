/**
 * The checker and the schedules, without containers: if these are wrong, a
 * green chaos run means nothing, so they get tests of their own.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  check,
  expectationViolations,
  readEffects,
  violations,
  type Effect,
  type Evidence,
  type Expectation,
  type Verdict,
} from "./lib/checker";
import { CONTAINER_START_MS, expectationFor, longestOutageMs, retriesOutlast } from "./lib/expectations";
import { Observable, Subject } from "rxjs";
import { drive, newHistory, type History, type Reply, type RequestClient, type RequestRecord } from "./lib/driver";
import { Random } from "./lib/random";
import { combined, killWorkers, pauseBroker, pauseWorkers, restartBroker, type Schedule } from "./lib/schedule";

function history(records: Array<Partial<RequestRecord> & { id: number }>): History {
  const h = newHistory();
  for (const r of records) h.requests.set(r.id, { outcome: "ok", replies: [], retries: 0, startedAt: 0, ...r });
  return h;
}
const reply = (id: number, worker = "w1.1", seq = id): Reply => ({ id: String(id), worker, seq });
const effect = (id: number, worker = "w1.1", seq = id): Effect => ({ id: String(id), worker, seq });
const timeout = { reason: "timeout", code: "EAGAIN", typed: true, message: "no reply" };

describe("the checker", () => {
  it("passes a clean run and counts executions per request", () => {
    const h = history([
      { id: 1, replies: [reply(1)] },
      { id: 2, replies: [reply(2, "w2.1", 7)] },
    ]);
    const verdict = check(h, { effects: [effect(1), effect(2, "w3.1", 4), effect(2, "w2.1", 7)], malformed: [] });
    expect(violations(verdict)).toEqual([]);
    expect(verdict.executions).toEqual({ never: 0, once: 1, twice: 1, more: 0 });
    expect(verdict.executedMoreThanOnce).toEqual([2]);
  });

  it("calls an acknowledged request that no worker executed lost", () => {
    const verdict = check(history([{ id: 1, replies: [reply(1)] }]), { effects: [], malformed: [] });
    expect(verdict.lost).toEqual([1]);
    expect(verdict.unbackedReplies).toEqual([1]);
    expect(violations(verdict).join()).toMatch(/lost/);
  });

  it("flags a second reply, and a reply delivered to the wrong request", () => {
    const h = history([
      { id: 1, replies: [reply(1), reply(1, "w2.1", 3)] },
      { id: 2, replies: [reply(1)] },
    ]);
    const verdict = check(h, { effects: [effect(1), effect(1, "w2.1", 3), effect(2)], malformed: [] });
    expect(verdict.duplicatedReplies).toEqual([1]);
    expect(verdict.misdelivered).toEqual([2]);
  });

  it("tells recovered (failed yet executed) from clean failures, and flags hangs and untyped errors", () => {
    const h = history([
      { id: 1, outcome: "failed", error: timeout },
      { id: 2, outcome: "failed", error: timeout },
      { id: 3, outcome: "hung" },
      { id: 4, outcome: "failed", error: { ...timeout, typed: false } },
    ]);
    const verdict = check(h, { effects: [effect(1), effect(3)], malformed: [] });
    expect(verdict.recovered).toEqual([1, 3]);
    expect(verdict.cleanFailures).toBe(2);
    expect(verdict.hung).toEqual([3]);
    expect(verdict.untypedFailures).toEqual([4]);
    expect(verdict.failedBy).toEqual({ timeout: 3 });
  });

  it("flags effects of requests nobody sent", () => {
    const h = history([{ id: 1, replies: [reply(1)] }]);
    const verdict = check(h, { effects: [effect(1), effect(99)], malformed: [] });
    expect(verdict.unexpected).toEqual(["99"]);
  });

  it("reads effects files and reports lines that do not parse", () => {
    const dir = mkdtempSync(join(tmpdir(), "privateer-chaos-checker-"));
    try {
      writeFileSync(join(dir, "w1.1.effects"), "1 w1.1 1\n2 w1.1 2\n3 w1");
      writeFileSync(join(dir, "w1.1.log"), "not an effects file\n");
      const read = readEffects(dir);
      expect(read.effects).toEqual([effect(1, "w1.1", 1), effect(2, "w1.1", 2)]);
      expect(read.malformed).toEqual(["w1.1.effects: 3 w1"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("fault schedules", () => {
  const workers = ["w1", "w2", "w3"];
  const timing = { expiryMs: 1000 };

  it("are the same for the same seed and differ for another", () => {
    expect(combined(7, workers, timing)).toEqual(combined(7, workers, timing));
    expect(combined(7, workers, timing).steps).not.toEqual(combined(8, workers, timing).steps);
    expect(new Random(3).next()).toBe(new Random(3).next());
  });

  it("freeze for longer than the expiry, and thaw or restart everything they stop", () => {
    for (let seed = 1; seed <= 50; seed++) {
      for (const schedule of [
        killWorkers(seed, workers),
        pauseWorkers(seed, workers, timing),
        restartBroker(seed),
        pauseBroker(seed, timing),
        combined(seed, workers, timing),
      ]) {
        const down = new Map<string, { kind: string; at: number }>();
        for (const { atMs, fault } of schedule.steps) {
          if (fault.kind === "kill" || fault.kind === "pause") {
            expect(down.has(fault.slot)).toBe(false);
            down.set(fault.slot, { kind: fault.kind, at: atMs });
          } else {
            const since = down.get(fault.slot);
            expect(since?.kind).toBe(fault.kind === "unpause" ? "pause" : "kill");
            if (fault.kind === "unpause") expect(atMs - since!.at).toBeGreaterThanOrEqual(2 * timing.expiryMs);
            down.delete(fault.slot);
          }
        }
        expect([...down.keys()]).toEqual([]);
        expect(schedule.steps.at(-1)!.atMs).toBeLessThan(15_000);
      }
    }
  });
});

/** The evidence runScenario would compute, for a hand-made run. */
function evidenceOf(verdict: Verdict, extra: Partial<Evidence> = {}): Evidence {
  return {
    retries: 0,
    ackedAfterRetry: verdict.ackedAfterRetry,
    requeued: 0,
    reexecutedWithoutRetry: verdict.reexecutedWithoutRetry.length,
    workersExpired: 0,
    workerReconnects: 0,
    midRequestKills: 0,
    ...extra,
  };
}

describe("scenario expectations", () => {
  const killWorkerExpects: Expectation = {
    maxFailed: 0,
    failedBecause: "retries outlast the fault",
    atLeast: { midRequestKills: 1, requeued: 1, reexecutedWithoutRetry: 1 },
  };

  it("tell a broker requeue (re-executed, never resent) from a client's retry", () => {
    const h = history([
      // Executed by a worker that died, then by another, with no resend: the broker did it.
      { id: 1, replies: [reply(1, "w2.1", 5)] },
      // Executed twice, but the client resent it: the client did it.
      { id: 2, replies: [reply(2, "w3.1", 6)], retries: 1 },
    ]);
    const verdict = check(h, {
      effects: [effect(1, "w1.1", 3), effect(1, "w2.1", 5), effect(2, "w1.1", 4), effect(2, "w3.1", 6)],
      malformed: [],
    });
    expect(verdict.reexecutedWithoutRetry).toEqual([1]);
    expect(verdict.ackedAfterRetry).toBe(1);
    const evidence = evidenceOf(verdict, { requeued: 1, midRequestKills: 1, retries: 1 });
    expect(expectationViolations(verdict, evidence, killWorkerExpects)).toEqual([]);
  });

  it("fail typed timeouts when the retries outlast the fault, and pass them when the bound allows them", () => {
    const h = history([
      { id: 1, replies: [reply(1)] },
      { id: 2, outcome: "failed", error: timeout },
      { id: 3, outcome: "failed", error: timeout },
    ]);
    const verdict = check(h, { effects: [effect(1)], malformed: [] });
    // The common properties are all kept: typed, clean failures are not violations by themselves.
    expect(violations(verdict)).toEqual([]);
    const strict: Expectation = { maxFailed: 0, failedBecause: "12000 ms > 4250 ms", atLeast: {} };
    expect(expectationViolations(verdict, evidenceOf(verdict), strict)).toEqual([
      "failed=2, at most 0 allowed (12000 ms > 4250 ms)",
    ]);
    expect(expectationViolations(verdict, evidenceOf(verdict), { ...strict, maxFailed: 2 })).toEqual([]);
  });

  // Negative control 1, in process: the history a broker that drops every
  // requeued request leaves behind (the same broker runs for real in
  // majordomo.chaos.test.ts). Each kill lands mid-request; the broker says
  // it requeued the request but never hands it out; the client's retry
  // recovers it, so every request succeeds and nothing is "lost".
  it("fail a broker that drops every requeued request, though all requests succeed", () => {
    const h = history([
      { id: 1, replies: [reply(1, "w1.1", 1)] },
      { id: 2, replies: [reply(2, "w3.1", 1)], retries: 1 },
      { id: 3, replies: [reply(3, "w3.1", 2)] },
      { id: 4, replies: [reply(4, "w3.1", 3)], retries: 1 },
    ]);
    const verdict = check(h, {
      effects: [
        effect(1, "w1.1", 1),
        effect(2, "w1.1", 2), // w1.1 killed here, mid-request
        effect(2, "w3.1", 1),
        effect(3, "w3.1", 2),
        effect(4, "w2.1", 1), // w2.1 killed here, mid-request
        effect(4, "w3.1", 3),
      ],
      malformed: [],
    });
    expect(violations(verdict)).toEqual([]);
    expect(verdict.failed).toBe(0);
    const evidence = evidenceOf(verdict, { requeued: 2, midRequestKills: 2, retries: 2 });
    expect(expectationViolations(verdict, evidence, killWorkerExpects)).toEqual([
      "recovery not shown: reexecutedWithoutRetry=0, needs at least 1",
    ]);
  });

  // Negative control 2, in process: a client that gives up (retries 0) under a
  // broker restart: the requests in flight at the kill fail with typed timeouts.
  it("fail a client that never retries under a broker restart", () => {
    const h = history([
      { id: 1, replies: [reply(1)] },
      { id: 2, outcome: "failed", error: timeout },
      { id: 3, replies: [reply(3)] },
    ]);
    const verdict = check(h, { effects: [effect(1), effect(2), effect(3)], malformed: [] });
    const restart: Expectation = { maxFailed: 0, failedBecause: "retries outlast", atLeast: { retries: 1 } };
    expect(expectationViolations(verdict, evidenceOf(verdict), restart)).toEqual([
      "failed=1, at most 0 allowed (retries outlast)",
      "recovery not shown: retries=0, needs at least 1",
    ]);
  });
});

describe("the failure bound", () => {
  const recovery = { expiryMs: 1000, workerReconnectMaxMs: 250 };

  it("measures a broker outage from kill to restart (plus the container start) and a freeze from pause to thaw", () => {
    const restart: Schedule = {
      name: "r",
      seed: 0,
      steps: [
        { atMs: 1000, fault: { kind: "kill", slot: "broker" } },
        { atMs: 2500, fault: { kind: "restart", slot: "broker" } },
      ],
    };
    expect(longestOutageMs(restart, recovery)).toBe(1500 + CONTAINER_START_MS);
    const freeze: Schedule = {
      name: "p",
      seed: 0,
      steps: [
        { atMs: 1000, fault: { kind: "pause", slot: "broker" } },
        { atMs: 4000, fault: { kind: "unpause", slot: "broker" } },
      ],
    };
    expect(longestOutageMs(freeze, recovery)).toBe(3000);
    // A worker fault leaves the others serving: one expiry at most.
    expect(longestOutageMs(killWorkers(1, ["w1", "w2", "w3"]), recovery)).toBe(1000);
  });

  it("requires failed = 0 when retries × timeout outlast the outage, and a declared bound when they do not", () => {
    const schedule = restartBroker(20261128);
    const generous = retriesOutlast(schedule, recovery, { timeoutMs: 3000, retries: 4 });
    expect(generous.outlast).toBe(true);
    expect(expectationFor(schedule, recovery, { timeoutMs: 3000, retries: 4 }, { retries: 1 }).maxFailed).toBe(0);
    const none = { timeoutMs: 3000, retries: 0 };
    expect(retriesOutlast(schedule, recovery, none).outlast).toBe(false);
    expect(() => expectationFor(schedule, recovery, none, {})).toThrow(/outlasts the client's retries/);
    expect(expectationFor(schedule, recovery, none, {}, 12)).toMatchObject({ maxFailed: 12 });
  });

  it("holds for every standard schedule, seeds 1-50, with both patterns' client settings", () => {
    const workers = ["w1", "w2", "w3"];
    const patterns = [
      // chaos/majordomo.chaos.test.ts and chaos/pirate.chaos.test.ts
      { recovery: { expiryMs: 1000, workerReconnectMaxMs: 250 }, client: { timeoutMs: 3000, retries: 4 } },
      { recovery: { expiryMs: 1000, workerReconnectMaxMs: 2000 }, client: { timeoutMs: 1500, retries: 6 } },
    ];
    for (const { recovery: timing, client } of patterns) {
      for (let seed = 1; seed <= 50; seed++) {
        for (const schedule of [
          killWorkers(seed, workers),
          pauseWorkers(seed, workers, timing),
          restartBroker(seed),
          pauseBroker(seed, timing),
          combined(seed, workers, timing),
        ]) {
          expect(retriesOutlast(schedule, timing, client)).toMatchObject({ outlast: true });
        }
      }
    }
  });
});

describe("the driver", () => {
  /**
   * A client that resends request 2 twice before answering it: the resends
   * must be charged to request 2 alone, since the evidence that a broker (not
   * the client) re-executed a request rests on that attribution.
   */
  function resendingClient(): RequestClient {
    const events = new Subject<{ type: string }>();
    return {
      events$: events,
      request: (_service, body) =>
        new Observable<Buffer[]>((subscriber) => {
          const id = body[0]!;
          if (id === "2") {
            events.next({ type: "retry" });
            events.next({ type: "retry" });
          }
          // Answer on a later turn, as a socket would.
          const timer = setTimeout(() => {
            subscriber.next([Buffer.from(id), Buffer.from("w1.1"), Buffer.from(id)]);
            subscriber.complete();
          }, 1);
          return () => clearTimeout(timer);
        }),
      close: () => events.complete(),
    };
  }

  it("charges a client's resends to the request in flight, and counts them all", async () => {
    const h = await drive({
      service: "s",
      count: 3,
      concurrency: 1,
      makeClient: resendingClient,
      isTypedError: (error): error is Error & { code: string } => error instanceof Error,
      hangAfterMs: 5000,
      deadlineMs: 5000,
    });
    expect([...h.requests.values()].map((r) => [r.id, r.outcome, r.retries])).toEqual([
      [1, "ok", 0],
      [2, "ok", 2],
      [3, "ok", 0],
    ]);
    expect(h.retries).toBe(2);
    const verdict = check(h, { effects: [effect(1), effect(2, "w9.1", 9), effect(2), effect(3)], malformed: [] });
    // Executed twice, but resent by its client: not evidence of a broker requeue.
    expect(verdict.reexecutedWithoutRetry).toEqual([]);
    expect(verdict.ackedAfterRetry).toBe(1);
  });
});
