/**
 * The checker and the schedules, without containers: if these are wrong, a
 * green chaos run means nothing, so they get tests of their own.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { check, readEffects, violations, type Effect } from "./lib/checker";
import { newHistory, type History, type Reply, type RequestRecord } from "./lib/driver";
import { Random } from "./lib/random";
import { combined, killWorkers, pauseBroker, pauseWorkers, restartBroker } from "./lib/schedule";

function history(records: Array<Partial<RequestRecord> & { id: number }>): History {
  const h = newHistory();
  for (const r of records) h.requests.set(r.id, { outcome: "ok", replies: [], startedAt: 0, ...r });
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
