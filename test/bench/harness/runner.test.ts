import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { runProblems } from "../../../bench/harness/checks";
import type { ImplName } from "../../../bench/harness/lib";
import type { RunReport } from "../../../bench/harness/report";
import { parseFault, Progress, runScenario, type Fault, type RunnerConfig } from "../../../bench/harness/runner";
import type { Measurement, Scenario } from "../../../bench/harness/scenario";
import { runBench } from "../../../bench/harness/session";

const ROOT = join(__dirname, "..", "..", "..");

/** Collects what the runner prints, so the tests can read it and jest's output stays clean. */
class Sink extends Writable {
  text = "";
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

/** A scenario that starts no process: `measure` is whatever the test says. */
function fake(id: string, measure: (impl: ImplName) => Measurement | Promise<Measurement>, more: Partial<Scenario> = {}): Scenario {
  return {
    id,
    title: `fake ${id}`,
    metric: { label: "throughput", unit: "msg/s", better: "higher" },
    impls: ["privateer", "zeromq.js", "libzmq"],
    rounds: { full: 2, quick: 2 },
    inTable: true,
    measure: async (ctx) => measure(ctx.impl),
    ...more,
  };
}

function config(fault?: Fault): RunnerConfig {
  // No native binary and no peer script: the fake scenarios start no process.
  return { quick: true, impls: ["privateer", "zeromq.js"], peerScript: "/nonexistent/peer.js", fault };
}

async function problemsOf(scenarios: readonly Scenario[], cfg: RunnerConfig = config()): Promise<string[]> {
  const progress = new Progress(0, new Sink());
  const report: RunReport = {
    date: "2026-01-01T00:00:00.000Z",
    quick: true,
    durationSec: 0,
    machine: { cpu: "test", cores: 1, memoryGiB: 1, node: process.version, kernel: "test" },
    versions: {},
    skipped: {},
    results: [],
  };
  for (const s of scenarios) report.results.push(await runScenario(s, cfg, progress));
  return runProblems(report, false);
}

describe("bench runner: what makes a run fail", () => {
  it("passes a run where every pair has a figure", async () => {
    expect(await problemsOf([fake("healthy", () => ({ value: 1000 }))])).toEqual([]);
  });

  it("fails on a scenario that throws, names it, and still reports the healthy ones", async () => {
    const progress = new Progress(0, new Sink());
    const failing = await runScenario(
      fake("broken", () => {
        throw new Error("peer exited (code 1)");
      }),
      config(),
      progress,
    );
    const healthy = await runScenario(fake("healthy", () => ({ value: 1000 })), config(), progress);
    expect(healthy.summary.privateer?.value).toBe(1000);
    expect(healthy.summary["zeromq.js"]?.value).toBe(1000);
    const report = { skipped: {}, results: [failing, healthy] } as unknown as RunReport;
    expect(runProblems(report, false)).toEqual([
      "broken: privateer, round 1: peer exited (code 1)",
      "broken: zeromq.js, round 1: peer exited (code 1)",
      "broken: zeromq.js, round 2: peer exited (code 1)",
      "broken: privateer, round 2: peer exited (code 1)",
      "broken: no figure for privateer (no run succeeded)",
      "broken: no figure for zeromq.js (no run succeeded)",
    ]);
  });

  it("fails when one implementation's runs all fail, even though the other has figures", async () => {
    const problems = await problemsOf([fake("half", (impl) => (impl === "zeromq.js" ? { value: Number.NaN } : { value: 5 }))]);
    expect(problems).toContain("half: no figure for zeromq.js (no run succeeded)");
    expect(problems).toContain("half: zeromq.js, round 1: no figure (value is NaN)");
    expect(problems.some((p) => p.includes("privateer"))).toBe(false);
  });

  it.each([
    ["NaN", Number.NaN, "value is NaN"],
    ["Infinity (a window of 0 ms)", Number.POSITIVE_INFINITY, "value is Infinity"],
    ["zero messages", 0, "value is 0 msg/s"],
  ])("treats a rate of %s as no figure", async (_name, value, why) => {
    const problems = await problemsOf([fake("odd", () => ({ value }))]);
    expect(problems).toContain(`odd: privateer, round 1: no figure (${why})`);
    expect(problems).toContain("odd: no figure for privateer (no run succeeded)");
  });

  it("treats a missing or NaN side figure as no figure", async () => {
    const extras = { mibPerSec: { label: "bandwidth", unit: "MiB/s" } };
    const missing = await problemsOf([fake("extra", () => ({ value: 1 }), { extras })]);
    expect(missing).toContain("extra: privateer, round 1: no figure (mibPerSec missing)");
    const nan = await problemsOf([fake("extra", () => ({ value: 1, extra: { mibPerSec: Number.NaN } }), { extras })]);
    expect(nan).toContain("extra: privateer, round 1: no figure (mibPerSec is NaN)");
  });

  it("accepts zero and negative memory figures (they are differences) but not for counted units", async () => {
    const memory = fake("memory", () => ({ value: -0.5 }), { metric: { label: "heap", unit: "KiB", better: "lower" } });
    expect(await problemsOf([memory])).toEqual([]);
    const latency = fake("latency", () => ({ value: 0 }), { metric: { label: "mean round trip", unit: "µs", better: "lower" } });
    expect(await problemsOf([latency])).toContain("latency: privateer, round 1: no figure (value is 0 µs)");
  });

  it("accepts NaN only for figures the scenario declares an implementation cannot report", async () => {
    const extras = { externalKiB: { label: "external", unit: "KiB" } };
    const unreported = { "zeromq.js": { fields: ["value", "externalKiB"], why: "no JS heap" } };
    const nan = (): Measurement => ({ value: Number.NaN, extra: { externalKiB: Number.NaN } });
    // Declared for zeromq.js only: the same NaN figures from privateer still fail the run.
    const problems = await problemsOf([fake("heap", nan, { extras, unreported })]);
    expect(problems).toEqual([
      "heap: privateer, round 1: no figure (value is NaN, externalKiB is NaN)",
      "heap: privateer, round 2: no figure (value is NaN, externalKiB is NaN)",
      "heap: no figure for privateer (no run succeeded)",
    ]);
  });
});

describe("bench runner: injected faults", () => {
  it("parses BENCH_FAULT", () => {
    expect(parseFault(undefined)).toBeUndefined();
    expect(parseFault("")).toBeUndefined();
    expect(parseFault("inproc")).toEqual({ kind: "error", scenario: "inproc" });
    expect(parseFault("size:push-pull-tcp-16")).toEqual({ kind: "size", scenario: "push-pull-tcp-16" });
    expect(() => parseFault("slow:inproc")).toThrow(/expected error:<scenario> or size:<scenario>/);
    expect(() => parseFault("size:")).toThrow(/expected/);
  });

  it("an error fault makes every run of the matching scenario fail, and only that scenario", async () => {
    const scenarios = [fake("target-1", () => ({ value: 1 })), fake("other", () => ({ value: 1 }))];
    const problems = await problemsOf(scenarios, config({ kind: "error", scenario: "target" }));
    expect(problems).toContain("target-1: privateer, round 1: injected fault (BENCH_FAULT=error:target)");
    expect(problems).toContain("target-1: no figure for zeromq.js (no run succeeded)");
    expect(problems.filter((p) => p.startsWith("other"))).toEqual([]);
  });

  it("a fault that no run catches is itself a failure", async () => {
    // This scenario starts no sender, so a size fault changes nothing it measures.
    const problems = await problemsOf([fake("deaf", () => ({ value: 1 }))], config({ kind: "size", scenario: "deaf" }));
    expect(problems).toEqual(["deaf: BENCH_FAULT=size:deaf was injected and no run failed: this scenario does not detect it"]);
  });
});

describe("bench runner: skipped baselines", () => {
  const report = { skipped: { libzmq: "zmq.h not found (apt-get install libzmq3-dev)" }, results: [] } as unknown as RunReport;

  it("outside CI, a skipped optional baseline is not a failure", () => {
    expect(runProblems(report, false)).toEqual([]);
  });

  it("in CI, every implementation must run", () => {
    expect(runProblems(report, true)).toEqual(["libzmq skipped, and CI must run every implementation: zmq.h not found (apt-get install libzmq3-dev)"]);
  });
});

describe("runBench (the run behind npm run bench)", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "privateer-bench-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function run(scenarios: readonly Scenario[], fault?: Fault): Promise<{ problems: string[]; out: string; err: string }> {
    const out = new Sink();
    const err = new Sink();
    const { problems } = await runBench({
      quick: true,
      // privateer alone: no native build, and the fake scenarios start no process anyway.
      impls: ["privateer"],
      cpuProf: false,
      scenarios,
      root: ROOT,
      resultsDir: dir,
      nativeOutDir: join(dir, "native"),
      peerScript: "/nonexistent/peer.js",
      ci: false,
      fault,
      out,
      err,
    });
    return { problems, out: out.text, err: err.text };
  }

  it("returns no problem for a healthy run and writes its figures", async () => {
    const { problems, err } = await run([fake("ok", () => ({ value: 42 }))]);
    expect(problems).toEqual([]);
    expect(err).not.toContain("FAILED");
    const json = JSON.parse(readFileSync(join(dir, "partial.json"), "utf8")) as RunReport;
    expect(json.results[0]?.summary.privateer?.value).toBe(42);
  });

  it("returns the problems of a failing scenario, prints them, and still reports the others", async () => {
    const scenarios = [fake("ok", () => ({ value: 42 })), fake("also-ok", () => ({ value: 7 }))];
    const { problems, out, err } = await run(scenarios, { kind: "error", scenario: "also-ok" });
    expect(problems).toEqual([
      "also-ok: privateer, round 1: injected fault (BENCH_FAULT=error:also-ok)",
      "also-ok: privateer, round 2: injected fault (BENCH_FAULT=error:also-ok)",
      "also-ok: no figure for privateer (no run succeeded)",
    ]);
    expect(err).toContain("Benchmark run FAILED (3 problems):");
    expect(out).toMatch(/fake ok[^\n]*\n\s+privateer\s+throughput 42\.0 msg\/s/);
  });
});
