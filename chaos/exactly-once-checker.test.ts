/**
 * The exactly-once checker and report on hand-made runs, no containers: a
 * green chaos run means nothing unless each property, broken on purpose,
 * turns the verdict red with its own named line. One negative control per
 * property below.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  checkRun,
  FAULT_EFFECT_GRACE_MS,
  killedIncarnations,
  longestGapMs,
  recoveryMs,
  repliesPerSecond,
} from "./lib/exactly-once/checker";
import { writeReport, writeSummary } from "./lib/exactly-once/report";
import type { ClientLine, EoExpectation, FaultRecord, LedgerRow, RunRecord } from "./lib/exactly-once/types";

const T0 = 1_780_000_000_000;

const sent = (client: string, incarnation: number, id: string, at: number): ClientLine => ({
  type: "sent",
  client,
  incarnation,
  id,
  at: T0 + at,
});
const ok = (client: string, incarnation: number, id: string, at: number, reply = `ok:${id}`): ClientLine => ({
  type: "ok",
  client,
  incarnation,
  id,
  at: T0 + at,
  reply,
});
const failed = (client: string, incarnation: number, id: string, at: number, code = "ETIMEOUT"): ClientLine => ({
  type: "failed",
  client,
  incarnation,
  id,
  at: T0 + at,
  code,
  reason: "no reply within the retries",
});
const row = (id: string, at: number, worker = "worker-1"): LedgerRow => ({ id, worker, at: T0 + at });
const fault = (kind: FaultRecord["kind"], target: string, at: number): FaultRecord => ({ kind, target, at: T0 + at });

function runOf(overrides: Partial<RunRecord>): RunRecord {
  return {
    scenario: "synthetic",
    seed: 1,
    launcher: "process",
    store: "sqlite",
    requests: 0,
    inFlightPerClient: 5,
    clients: ["client-1", "client-2"],
    workers: ["worker-1", "worker-2", "worker-3"],
    clientLines: [],
    ledger: [],
    faults: [],
    startedAt: T0,
    endedAt: T0 + 2000,
    hungClients: [],
    nodeEvents: {},
    ...overrides,
  };
}

/** Two clients, five requests each, every one sent, executed once and acknowledged once. */
function cleanRun(): RunRecord {
  const clientLines: ClientLine[] = [];
  const ledger: LedgerRow[] = [];
  for (const client of ["client-1", "client-2"]) {
    for (let n = 0; n < 5; n++) {
      const id = `${client}-${n}`;
      clientLines.push(sent(client, 1, id, n * 100));
      ledger.push(row(id, n * 100 + 20, `worker-${(n % 3) + 1}`));
      clientLines.push(ok(client, 1, id, n * 100 + 50));
    }
  }
  return runOf({ requests: 10, clientLines, ledger });
}

const strict: EoExpectation = { maxFailed: 0 };

/** The one violation line for `property`, failing the test if there is not exactly one. */
function violationOf(run: RunRecord, property: string, expectation: EoExpectation = strict): string {
  const verdict = checkRun(run, expectation);
  expect(verdict.ok).toBe(false);
  const lines = verdict.violations.filter((v) => v.startsWith(`${property}:`));
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

describe("the exactly-once checker", () => {
  it("passes a clean run and counts it", () => {
    const verdict = checkRun(cleanRun(), strict);
    expect(verdict.violations).toEqual([]);
    expect(verdict.ok).toBe(true);
    expect(verdict.counts).toEqual({
      sent: 10,
      ok: 10,
      failed: 0,
      unknown: 0,
      unanswered: 0,
      executions: 10,
      duplicated: 0,
      lostAcked: 0,
      phantom: 0,
      wrongReply: 0,
      repliedTwice: 0,
    });
  });

  describe("negative controls: each broken property fails the run with its own line", () => {
    it("a double execution (property 2), acknowledged or not", () => {
      const base = cleanRun();
      const line = violationOf({ ...base, ledger: [...base.ledger, row("client-1-3", 400, "worker-2")] }, "duplicated");
      expect(line).toBe("duplicated: 1 ids with two or more committed executions (e.g. client-1-3×2)");

      // An id that was never acknowledged (it failed) but ran twice is just as much a violation.
      const unacked = runOf({
        requests: 1,
        clientLines: [sent("client-1", 1, "x", 0), failed("client-1", 1, "x", 900)],
        ledger: [row("x", 10), row("x", 500, "worker-2")],
      });
      expect(violationOf(unacked, "duplicated", { maxFailed: 1 })).toMatch(/^duplicated: 1 .*x×2/);
    });

    it("an acknowledged id with no committed execution (property 1)", () => {
      const base = cleanRun();
      const verdict = checkRun({ ...base, ledger: base.ledger.filter((r) => r.id !== "client-2-4") }, strict);
      expect(verdict.violations).toEqual([
        "lostAcked: 1 acknowledged ids with no committed execution (e.g. client-2-4)",
      ]);
      expect(verdict.counts.lostAcked).toBe(1);
    });

    it("an ok line whose reply is another request's (property 3)", () => {
      const base = cleanRun();
      const clientLines = base.clientLines.map((l) =>
        l.type === "ok" && l.id === "client-1-2" ? { ...l, reply: "ok:client-1-3" } : l,
      );
      expect(violationOf({ ...base, clientLines }, "wrongReply")).toBe(
        'wrongReply: 1 ok lines whose reply is not ok:<id> or whose id the incarnation never sent (e.g. client-1#1/client-1-2="ok:client-1-3")',
      );
    });

    it("an ok line for an id its incarnation never sent (property 3)", () => {
      const base = cleanRun();
      const clientLines = [...base.clientLines, ok("client-2", 1, "client-1-0", 600)];
      expect(violationOf({ ...base, clientLines }, "wrongReply")).toMatch(/client-2#1\/client-1-0 \(never sent\)/);
    });

    it("a reply delivered twice to one incarnation (property 3)", () => {
      const base = cleanRun();
      const clientLines = [...base.clientLines, ok("client-2", 1, "client-2-1", 700)];
      const verdict = checkRun({ ...base, clientLines }, strict);
      expect(verdict.violations).toEqual([
        "repliedTwice: 1 (incarnation, id) pairs answered more than once (e.g. client-2#1/client-2-1)",
      ]);
      expect(verdict.counts.repliedTwice).toBe(1);
      // Still one request, acknowledged: the second reply is the violation, not a second request.
      expect(verdict.counts.ok).toBe(10);
    });

    it("an ok after the same send already failed (property 3)", () => {
      const run = runOf({
        requests: 1,
        clientLines: [sent("client-1", 1, "x", 0), failed("client-1", 1, "x", 500), ok("client-1", 1, "x", 600)],
        ledger: [row("x", 10)],
      });
      expect(violationOf(run, "repliedTwice")).toMatch(/client-1#1\/x/);
    });

    it("an execution of an id no client sent (property 4)", () => {
      const base = cleanRun();
      const verdict = checkRun({ ...base, ledger: [...base.ledger, row("client-9-1", 300)] }, strict);
      expect(verdict.violations).toEqual([
        "phantom: 1 ids with a committed execution that no client ever sent (e.g. client-9-1)",
      ]);
      expect(verdict.counts.phantom).toBe(1);
    });

    it("a client still running when the runner gave up (property 5)", () => {
      expect(violationOf({ ...cleanRun(), hungClients: ["client-2"] }, "hung")).toBe(
        "hung: 1 clients still running when the runner gave up waiting (e.g. client-2)",
      );
    });

    it("an id a living incarnation sent and never got an answer for (property 5)", () => {
      const base = cleanRun();
      const clientLines = base.clientLines.filter((l) => !(l.type === "ok" && l.id === "client-1-4"));
      const verdict = checkRun({ ...base, clientLines }, strict);
      expect(verdict.violations).toEqual([
        "unanswered: 1 requests sent by an incarnation that was not killed and never answered (e.g. client-1#1/client-1-4)",
      ]);
      expect(verdict.counts).toMatchObject({ ok: 9, unanswered: 1, unknown: 0 });
    });

    it("more failures than the scenario allows (property 6)", () => {
      const base = cleanRun();
      const clientLines: ClientLine[] = [
        ...base.clientLines.filter((l) => l.type !== "ok" || !["client-1-1", "client-2-2"].includes(l.id)),
        failed("client-1", 1, "client-1-1", 900),
        failed("client-2", 1, "client-2-2", 950, "EBROKER"),
      ];
      // The failed requests ran anyway (an honest "failed" may still have taken effect); that is not lostAcked.
      const run = { ...base, clientLines };
      expect(violationOf(run, "failed", { maxFailed: 1 })).toBe(
        "failed: 2 requests failed, at most 1 allowed (e.g. client-1-1 (ETIMEOUT), client-2-2 (EBROKER))",
      );
      expect(checkRun(run, { maxFailed: 2 }).violations).toEqual([]);
      expect(checkRun(run, { maxFailed: 2 }).counts).toMatchObject({ ok: 8, failed: 2 });
    });

    it("node events that do not show the recovery the scenario is for (property 7)", () => {
      const expectation: EoExpectation = { maxFailed: 0, evidence: { takeover: 1, requeued: 2 } };
      const verdict = checkRun({ ...cleanRun(), nodeEvents: { requeued: 5 } }, expectation);
      expect(verdict.violations).toEqual(["recovery not shown: takeover=0, at least 1 required"]);
      expect(checkRun({ ...cleanRun(), nodeEvents: { takeover: 1, requeued: 2 } }, expectation).ok).toBe(true);
    });

    it("a run that sent fewer ids than it was told to (property 8)", () => {
      expect(violationOf({ ...cleanRun(), requests: 11 }, "sentTooFew")).toBe(
        "sentTooFew: 10 distinct ids sent, at least 11 required",
      );
    });

    it("one id sent by two clients, which the ledger could not tell apart", () => {
      const base = cleanRun();
      const clientLines = [...base.clientLines, sent("client-2", 1, "client-1-0", 600), ok("client-2", 1, "client-1-0", 650)];
      expect(violationOf({ ...base, clientLines }, "idReused")).toMatch(/^idReused: 1 .*client-1-0/);
    });

    it("names at most five example ids, and the count of all of them", () => {
      const base = cleanRun();
      const line = violationOf({ ...base, ledger: [...base.ledger, ...base.ledger] }, "duplicated");
      expect(line).toMatch(/^duplicated: 10 /);
      expect(line.match(/×2/g)).toHaveLength(5);
      expect(line).toMatch(/, \.\.\.\)$/);
    });
  });

  describe("a client killed and restarted with the same ids", () => {
    // client-1#1 sends a, b, c; a is acknowledged; the kill lands with b and c
    // in flight; client-1#2 resends b (acknowledged) but not c.
    const lines: ClientLine[] = [
      sent("client-1", 1, "a", 0),
      sent("client-1", 1, "b", 10),
      sent("client-1", 1, "c", 20),
      ok("client-1", 1, "a", 50),
      sent("client-1", 2, "b", 400),
      ok("client-1", 2, "b", 450),
    ];
    const killed = runOf({
      requests: 3,
      clients: ["client-1"],
      clientLines: lines,
      ledger: [row("a", 30), row("b", 420)],
      faults: [fault("kill-client", "client-1", 100), fault("restart-client", "client-1", 300)],
    });

    it("counts the killed incarnation's unanswered id unknown, and the resent one ok with one execution", () => {
      expect([...killedIncarnations(killed)]).toEqual(["client-1#1"]);
      const verdict = checkRun(killed, strict);
      expect(verdict.violations).toEqual([]);
      expect(verdict.counts).toMatchObject({ sent: 3, ok: 2, failed: 0, unknown: 1, unanswered: 0, executions: 2 });
    });

    it("calls the same lines unanswered when no kill excuses them", () => {
      const verdict = checkRun({ ...killed, faults: [] }, strict);
      // Two (incarnation, id) pairs owe an answer; by id, b was acknowledged later, so only c is unanswered.
      expect(verdict.counts).toMatchObject({ unknown: 0, unanswered: 1 });
      expect(verdict.violations).toEqual([
        "unanswered: 2 requests sent by an incarnation that was not killed and never answered (e.g. client-1#1/b, client-1#1/c)",
      ]);
    });

    it("does not call a reply to the new incarnation for an id the old one had acknowledged a second reply", () => {
      const resentAcked = { ...killed, clientLines: [...lines, sent("client-1", 2, "a", 460), ok("client-1", 2, "a", 480)] };
      const verdict = checkRun(resentAcked, strict);
      expect(verdict.violations).toEqual([]);
      expect(verdict.counts.repliedTwice).toBe(0);
      // ...while executing it again is exactly what the suite exists to catch.
      const again = checkRun({ ...resentAcked, ledger: [...resentAcked.ledger, row("a", 470, "worker-3")] }, strict);
      expect(again.violations).toEqual(["duplicated: 1 ids with two or more committed executions (e.g. a×2)"]);
    });

    it("counts an id whose last attempt failed as failed, though an earlier incarnation was killed with it in flight", () => {
      const run = { ...killed, clientLines: [...lines, sent("client-1", 2, "c", 500), failed("client-1", 2, "c", 900)] };
      const verdict = checkRun(run, { maxFailed: 1 });
      expect(verdict.violations).toEqual([]);
      expect(verdict.counts).toMatchObject({ ok: 2, failed: 1, unknown: 0 });
    });
  });
});

describe("the gap and recovery figures", () => {
  // Replies per second 4, 4, 0, 2, 4, 4 (median 4, so recovered means >= 2 in a second).
  const okAt = [100, 300, 500, 700, 1100, 1300, 1500, 1700, 3400, 3600, 4100, 4300, 4500, 4700, 5100, 5300, 5500, 5700];
  const timelineRun = runOf({
    endedAt: T0 + 6000,
    clientLines: okAt.flatMap((at, n) => [sent("client-1", 1, `r${n}`, at - 50), ok("client-1", 1, `r${n}`, at)]),
    faults: [
      fault("kill-broker", "broker-primary", 1800),
      fault("pause-worker", "worker-2", 4750),
      fault("resume-worker", "worker-2", 4800),
      fault("kill-worker", "worker-3", 5500),
    ],
  });

  it("buckets ok replies by whole seconds from the start", () => {
    expect(repliesPerSecond(timelineRun)).toEqual([4, 4, 0, 2, 4, 4]);
  });

  it("measures the longest reply gap that overlaps a fault", () => {
    // 1700 -> 3400 holds the broker kill at 1800.
    expect(longestGapMs(timelineRun)).toBe(1700);
    expect(checkRun(timelineRun, strict).longestGapMs).toBe(1700);
  });

  it("measures each fault's recovery to the first second at half the median rate", () => {
    const recovery = recoveryMs(timelineRun, repliesPerSecond(timelineRun));
    expect(recovery.map((r) => [r.fault.kind, r.ms])).toEqual([
      ["kill-broker", 1200], // second 2 has 0 replies, second 3 (from 3000) has 2
      ["pause-worker", 250], // second 5 starts 250 ms after the pause
      ["resume-worker", 200],
      ["kill-worker", null], // no whole second starts after it before the run ends
    ]);
  });

  it("ignores gaps that touch no fault, counts from the start, and spans a pause until its resume", () => {
    const at = [1500, 2600, 2700, 5600, 5700, 6000, 6500];
    const clientLines = at.flatMap((t, n) => [sent("client-1", 1, `g${n}`, t - 10), ok("client-1", 1, `g${n}`, t)]);
    const base = runOf({ endedAt: T0 + 8000, clientLines });
    // 2700 -> 5600 (2900 ms) is the longest, but no fault touches it.
    expect(longestGapMs(base)).toBe(0);
    const paused = { ...base, faults: [fault("pause-worker", "worker-1", 5650), fault("resume-worker", "worker-1", 6400)] };
    expect(longestGapMs(paused)).toBe(500); // 6000 -> 6500, inside the pause range
    expect(longestGapMs({ ...base, faults: [fault("kill-broker", "broker-primary", 100)] })).toBe(1500); // start -> 1500
    // A pause never resumed lasts until the run ends (and a second more).
    expect(longestGapMs({ ...base, faults: [fault("pause-broker", "broker-primary", 5900)] })).toBe(500);
  });

  it("gives a fault the gap that begins just after it, once the replies in flight have arrived", () => {
    // The kill lands at 1000; a reply already on its way arrives at 1010, then nothing until 2500.
    const at = [100, 200, 1010, 1100, 2500, 5000];
    const clientLines = at.flatMap((t, n) => [sent("client-1", 1, `f${n}`, t - 5), ok("client-1", 1, `f${n}`, t)]);
    const run = runOf({ endedAt: T0 + 6000, clientLines, faults: [fault("kill-broker", "broker-primary", 1000)] });
    // 1100 -> 2500 begins within FAULT_EFFECT_GRACE_MS of the kill; 2500 -> 5000 begins later and is not the kill's.
    expect(FAULT_EFFECT_GRACE_MS).toBe(1000);
    expect(longestGapMs(run)).toBe(1400);
  });
});

describe("the exactly-once report", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "privateer-eo-report-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("writes the JSON, Markdown and chart of a failing run, with its counts and FAIL lines", async () => {
    const base = cleanRun();
    const run: RunRecord = {
      ...base,
      scenario: "kill-active-broker",
      ledger: [...base.ledger, row("client-1-3", 400, "worker-2")],
      faults: [fault("kill-broker", "broker-primary", 250)],
      nodeEvents: { takeover: 1 },
    };
    const verdict = checkRun(run, strict);
    expect(verdict.ok).toBe(false);
    const written = await writeReport(dir, run, verdict, { commit: "abc1234", expectation: strict });

    for (const name of ["kill-active-broker.json", "kill-active-broker.md", "kill-active-broker.svg"]) {
      expect(existsSync(join(dir, name))).toBe(true);
    }
    const md = readFileSync(written.files.md, "utf8");
    expect(md).toContain("**FAIL**");
    expect(md).toContain("- FAIL duplicated: 1 ids with two or more committed executions (e.g. client-1-3×2)");
    expect(md).toContain("| 10 | 10 | 0 | 0 | 0 | 11 | 1 | 0 | 0 | 0 | 0 |");
    // All ten replies came in the first second, so no later second recovered the rate.
    expect(md).toContain("| 250 | kill-broker | broker-primary | never |");
    expect(md).toContain("![ok replies per second, faults marked](kill-active-broker.svg)");

    const json = JSON.parse(readFileSync(written.files.json, "utf8"));
    expect(json).toMatchObject({ scenario: "kill-active-broker", ok: false, commit: "abc1234", counts: verdict.counts });
    expect(json.faults[0]).toMatchObject({ kind: "kill-broker", offsetMs: 250 });
    expect(json.clientLines).toBeUndefined();
    expect(readFileSync(written.files.svg, "utf8")).toMatch(/^<svg/);

    const index = readFileSync(writeSummary(dir, [written.summary]), "utf8");
    expect(index).toContain("0 of 1 scenarios passed");
    expect(index).toMatch(/\| \[kill-active-broker\]\(kill-active-broker\.md\) \|.*\| FAIL \(1\) \|/);
  }, 60_000);

  it("keeps the JSON of a 10,000-request run small: no per-request data", async () => {
    const clientLines: ClientLine[] = [];
    const ledger: LedgerRow[] = [];
    for (let n = 0; n < 10_000; n++) {
      clientLines.push(sent("client-1", 1, `id-${n}`, n * 6), ok("client-1", 1, `id-${n}`, n * 6 + 3));
      ledger.push(row(`id-${n}`, n * 6 + 1));
    }
    const run = runOf({ scenario: "big", requests: 10_000, clientLines, ledger, endedAt: T0 + 60_000 });
    const verdict = checkRun(run, strict);
    expect(verdict.ok).toBe(true);
    const written = await writeReport(dir, run, verdict);
    expect(statSync(written.files.json).size).toBeLessThan(200 * 1024);
    expect(readFileSync(written.files.md, "utf8")).toContain("**PASS**");
    expect(readFileSync(writeSummary(dir, [written.summary]), "utf8")).toContain("1 of 1 scenarios passed");
  }, 60_000);
});
