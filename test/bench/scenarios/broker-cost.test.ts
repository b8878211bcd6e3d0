import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { ForeignProcess } from "../../../bench/harness/foreign-process";
import { cpuBetween, cpuUsPerRequest, parseProcStat, parseSchedstat, sampleCpu } from "../../../bench/harness/proc-cpu";
import { Progress, runScenario, type ScenarioResult } from "../../../bench/harness/runner";
import type { Measurement, Scenario } from "../../../bench/harness/scenario";
import { runBench } from "../../../bench/harness/session";
import { scenario as inproc } from "../../../bench/scenarios/inproc-push-pull";
import { queue } from "../../../bench/scenarios/majordomo";
import { checkServed, costScenario, scenarios as costScenarios } from "../../../bench/scenarios/majordomo-broker-cost";
import { natsScenario, natsUnavailable, scenarios as natsScenarios } from "../../../bench/scenarios/nats-baseline";
import { scenario as reqRep } from "../../../bench/scenarios/req-rep-latency";
import type { ImplName } from "../../../bench/harness/lib";

class Sink extends Writable {
  override _write(_chunk: Buffer, _encoding: string, done: () => void): void {
    done();
  }
}

/** Runs a scenario's real targets on figures handed in, one measurement per implementation, no process started. */
async function verdicts(s: Scenario, figures: Partial<Record<ImplName, Measurement>>): Promise<ScenarioResult> {
  const impls = Object.keys(figures) as ImplName[];
  const fake: Scenario = { ...s, impls, unavailable: undefined, measure: async (ctx) => figures[ctx.impl]! };
  return runScenario(fake, { quick: true, impls, peerScript: "/nonexistent/peer.js", rounds: 1 }, new Progress(0, new Sink()));
}

/** Every extra of a scenario set to 1, then the given ones: a figure set measureProblem accepts. */
function figures(s: Scenario, value: number, extra: Record<string, number>): Measurement {
  const all: Record<string, number> = {};
  for (const key of Object.keys(s.extras ?? {})) all[key] = 1;
  return { value, extra: { ...all, ...extra } };
}

describe("broker-cost targets (issue 14): each can fail", () => {
  it("broker CPU per request: met at 0.2x the pyzmq broker's, missed above", async () => {
    for (const s of costScenarios) {
      const met = await verdicts(s, { privateer: figures(s, 15, { cpuRatio: 0.19, rateRatio: 6 }) });
      expect(met.errors).toEqual([]);
      expect(met.met).toBe(true);
      // Negative control: today's figures (about 65 µs against 75 µs).
      const missed = await verdicts(s, { privateer: figures(s, 65, { cpuRatio: 65 / 75, rateRatio: 6 }) });
      expect(missed.met).toBe(false);
    }
  });

  it("broker throughput: with 16 workers, 5x the pyzmq broker's requests/s has a verdict of its own", async () => {
    const s = costScenario(16, "0.2");
    const met = await verdicts(s, { privateer: figures(s, 15, { cpuRatio: 0.19, rateRatio: 5.2 }) });
    expect(met.sideTargets).toEqual([{ figure: "rateRatio", text: expect.stringContaining("5x") as string, met: true }]);
    const missed = await verdicts(s, { privateer: figures(s, 15, { cpuRatio: 0.19, rateRatio: 1.9 }) });
    expect(missed.met).toBe(true);
    expect(missed.sideTargets?.[0]?.met).toBe(false);
    // The issue sets that goal with 16 workers only.
    expect(costScenario(4, "0.2").sideTargets).toEqual([]);
  });

  it("against NATS: requests/s at least NATS's, broker CPU per request at most nats-server's", async () => {
    for (const s of natsScenarios) {
      const met = await verdicts(s, { privateer: figures(s, 30_000, { rateRatio: 1.05, cpuRatio: 0.9 }) });
      expect([met.met, met.sideTargets?.[0]?.met]).toEqual([true, true]);
      // Negative control: the measured figures (20-22k against 27-33k requests/s, 28 µs against 10 µs).
      const missed = await verdicts(s, { privateer: figures(s, 21_000, { rateRatio: 21 / 30, cpuRatio: 2.8 }) });
      expect([missed.met, missed.sideTargets?.[0]?.met]).toEqual([false, false]);
    }
  });

  it("a figure that is not a number is no pass (a NaN ratio is missed, not met)", async () => {
    const s = costScenario(16, "0.1");
    expect(s.target?.kind === "limit" && s.target.met({ value: 1, extra: { cpuRatio: Number.NaN } })).toBe(false);
    const n = natsScenario(4, 16);
    expect(n.target?.kind === "limit" && n.target.met({ value: 1, extra: {} })).toBe(false);
  });

  it("memory per queued request: at most 300 B of heap", () => {
    const target = queue.target;
    expect(target?.kind).toBe("limit");
    if (target?.kind !== "limit") return;
    expect(target.met({ value: 290, extra: {} })).toBe(true);
    expect(target.met({ value: 366, extra: {} })).toBe(false);
  });

  it("inproc PUSH to PULL: at least 10x zeromq.js, compared in the same run", async () => {
    const met = await verdicts(inproc, { privateer: { value: 10.5e6 }, "zeromq.js": { value: 1e6 } });
    expect(met.met).toBe(true);
    const missed = await verdicts(inproc, { privateer: { value: 7.8e6 }, "zeromq.js": { value: 1e6 } });
    expect(missed.ratio["zeromq.js"]).toBeCloseTo(7.8);
    expect(missed.met).toBe(false);
  });

  it("REQ/REP tail: Privateer's p99 at most zeromq.js's in the same run", async () => {
    const run = (mine: number, theirs: number): Promise<ScenarioResult> =>
      verdicts(reqRep, {
        privateer: { value: 100, extra: { p50Us: 90, p99Us: mine } },
        "zeromq.js": { value: 160, extra: { p50Us: 150, p99Us: theirs } },
      });
    const met = await run(248, 272);
    expect(met.sideTargets).toEqual([
      { figure: "p99Us", text: expect.any(String) as string, met: true, versus: "zeromq.js", ratio: expect.closeTo(248 / 272) as number },
    ]);
    // Negative control: a p99 above zeromq.js's misses, although the mean still meets its own target.
    const missed = await run(300, 272);
    expect(missed.met).toBe(true);
    expect(missed.sideTargets?.[0]?.met).toBe(false);
    // Without zeromq.js's figure there is no verdict, rather than a pass.
    const alone = await verdicts(reqRep, { privateer: { value: 100, extra: { p50Us: 90, p99Us: 248 } } });
    expect(alone.sideTargets?.[0]?.met).toBeUndefined();
  });
});

describe("CPU time from /proc", () => {
  it("adds utime and stime (fields 14 and 15), counted from the last ')' of the command name", () => {
    // A command name with spaces and a ')' of its own must not shift the fields.
    const line = "4242 (py thon) x) S 1 4242 4242 0 -1 4194304 100 0 0 0 250 75 0 0 20 0 3 0 555 1000 50";
    expect(parseProcStat(line, 100)).toBe(3250);
    expect(parseProcStat(line, 1000)).toBe(325);
    // Negative control: a truncated line has no figure rather than a wrong one.
    expect(() => parseProcStat("4242 (node) S 1 4242", 100)).toThrow(/utime/);
    expect(() => parseProcStat("garbage", 100)).toThrow(/stat/);
  });

  it("agrees with the process's own account of its CPU time, and does not move while the process sleeps", async () => {
    const before = sampleCpu(process.pid);
    const own = process.cpuUsage();
    // Busy until this process has used 300 ms of CPU, however loaded the machine is.
    for (let spent = 0; spent < 300_000; ) {
      const d = process.cpuUsage(own);
      spent = d.user + d.system;
    }
    const after = sampleCpu(process.pid);
    // /proc counts in clock ticks (10 ms) and every thread (GC helpers too): a little more, never much less.
    expect(after.cpuMs - before.cpuMs).toBeGreaterThanOrEqual(280);
    expect(after.cpuMs - before.cpuMs).toBeLessThan(600);
    // Negative control: a sleeping process (ours, in a child shell) uses next to none.
    const sleeper = new ForeignProcess("sleeper", "sh", ["-c", "echo up; exec sleep 5"]);
    try {
      await sleeper.waitFor(/^up$/, 5000);
      const a = sampleCpu(sleeper.pid);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(sampleCpu(sleeper.pid).cpuMs - a.cpuMs).toBeLessThan(30);
    } finally {
      await sleeper.stop();
    }
  });

  it("reads the main thread's run-queue wait from schedstat, as a share of the interval", () => {
    expect(parseSchedstat("3969364 14506393 2\n")).toBeCloseTo(14.506393);
    expect(() => parseSchedstat("garbage")).toThrow(/schedstat/);
    const share = cpuBetween({ atMs: 0, cpuMs: 0, waitMs: 100 }, { atMs: 1000, cpuMs: 400, waitMs: 350 });
    expect(share).toEqual({ cpuMs: 400, wallMs: 1000, load: 0.4, waitShare: 0.25 });
  });

  it("divides by the requests served over the sampling interval", () => {
    // 500 ms of CPU over 2 s at 10,000 requests/s: 20,000 requests, 25 µs each.
    expect(cpuUsPerRequest(500, 2000, 10_000)).toBe(25);
    expect(() => cpuUsPerRequest(500, 2000, 0)).toThrow(/no request/);
  });
});

describe("the workers' account of a run", () => {
  it("passes only when every worker socket served and no request had the wrong size", () => {
    expect(() => checkServed({ event: "served", sockets: 8, active: 8, total: 9000, wrong: 0 })).not.toThrow();
    // Negative controls: a worker the broker never used, a request that was not what the client sent.
    expect(() => checkServed({ event: "served", sockets: 8, active: 7, total: 9000, wrong: 0 })).toThrow(/only 7 of 8/);
    expect(() => checkServed({ event: "served", sockets: 8, active: 8, total: 9000, wrong: 3 })).toThrow(/3 requests of the wrong size/);
  });
});

describe("a baseline that is not installed", () => {
  it("skips the NATS scenarios with a message, and the run does not fail", async () => {
    expect(natsUnavailable(process.execPath)).toBeUndefined();
    expect(natsUnavailable("/nonexistent/nats-server")).toMatch(/\/nonexistent\/nats-server not found/);
    const dir = mkdtempSync(join(tmpdir(), "bench-skip-"));
    const err: string[] = [];
    const out: string[] = [];
    const sink = (lines: string[]): Writable =>
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(chunk.toString());
          done();
        },
      });
    let measured = false;
    const missing: Scenario = {
      ...natsScenario(4, 16),
      unavailable: () => natsUnavailable("/nonexistent/nats-server"),
      measure: async () => {
        measured = true;
        return { value: 1 };
      },
    };
    try {
      const { report, problems } = await runBench({
        quick: true,
        cpuProf: false,
        impls: ["privateer"],
        scenarios: [missing],
        root: join(__dirname, "..", "..", ".."),
        resultsDir: dir,
        nativeOutDir: dir,
        peerScript: "/nonexistent/peer.js",
        ci: true,
        out: sink(out),
        err: sink(err),
      });
      expect(measured).toBe(false);
      expect(problems).toEqual([]);
      expect(report.results).toEqual([]);
      expect(report.skippedScenarios).toEqual({ "nats-baseline-4w-16b": expect.stringContaining("not found") as string });
      expect(err.join("")).toContain("Skipping nats-baseline-4w-16b: /nonexistent/nats-server not found");
      expect(out.join("")).toContain("Skipped scenario nats-baseline-4w-16b");
      // Negative control: the same scenario with its program present is run.
      const present = await runBench({
        quick: true,
        cpuProf: false,
        impls: ["privateer"],
        scenarios: [{ ...missing, unavailable: () => natsUnavailable(process.execPath) }],
        root: join(__dirname, "..", "..", ".."),
        resultsDir: dir,
        nativeOutDir: dir,
        peerScript: "/nonexistent/peer.js",
        ci: true,
        out: sink([]),
        err: sink([]),
      });
      expect(measured).toBe(true);
      expect(present.report.skippedScenarios).toBeUndefined();
      expect(present.report.results.map((r) => r.id)).toEqual(["nats-baseline-4w-16b"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("a program that does not speak the peer protocol", () => {
  it("is waited for by its output line, and its early exit is an error, not a hang", async () => {
    const ok = new ForeignProcess("echoer", "sh", ["-c", "echo noise; echo READY tcp://127.0.0.1:5555 >&2; exec sleep 5"]);
    try {
      const match = await ok.waitFor(/^READY (\S+)$/, 5000);
      expect(match[1]).toBe("tcp://127.0.0.1:5555");
      expect(ok.pid).toBeGreaterThan(0);
    } finally {
      await ok.stop();
    }
    const dead = new ForeignProcess("quitter", "sh", ["-c", "echo bye; exit 3"]);
    await expect(dead.waitFor(/^READY/, 5000)).rejects.toThrow(/quitter exited \(code 3\)[\s\S]*bye/);
  });
});
