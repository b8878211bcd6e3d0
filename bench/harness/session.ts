import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import type { ThroughputPoint } from "./chart";
import { runProblems } from "./checks";
import { proseQuoteProblems, replaceResultsBlock, RESULTS_END, RESULTS_START } from "./doc-quotes";
import type { ImplName } from "./lib";
import { describeMachine } from "./machine";
import { buildNative } from "./native";
import { consoleReport, machineLine, markdownReport, type RunReport } from "./report";
import { implsOf, Progress, roundsOf, runScenario, type Fault, type RunnerConfig, type ScenarioResult } from "./runner";
import { ALL_IMPLS, type Scenario } from "./scenario";

/** What the command line chose. */
export interface BenchSelection {
  quick: boolean;
  /** Scenarios whose id contains one of these words. */
  only?: string[];
  impls?: ImplName[];
  rounds?: number;
  cpuProf: boolean;
}

export interface BenchOptions extends BenchSelection {
  readonly scenarios: readonly Scenario[];
  /** The repository: package.json, node_modules, bench/native/peer.c. */
  readonly root: string;
  /** Where results/*.json and the charts go. */
  readonly resultsDir: string;
  /** Where the native peer is compiled to. */
  readonly nativeOutDir: string;
  /** The compiled Node peer entry point (dist/bench/peer.js). */
  readonly peerScript: string;
  /** docs/benchmarks.md: rewritten by a plain full run only. */
  readonly docsFile?: string;
  /** In CI every implementation must run: a skipped baseline fails the run. */
  readonly ci: boolean;
  readonly fault?: Fault;
  readonly out: NodeJS.WritableStream;
  /** Progress, skips and problems; a TTY gets a self-rewriting progress line. */
  readonly err: NodeJS.WritableStream & { isTTY?: boolean };
}

export interface BenchOutcome {
  report: RunReport;
  /** Why the run failed, one line each; empty when it did not. */
  problems: string[];
}

/**
 * One benchmark run: builds the native peer if it is wanted, runs the
 * scenarios, prints the report, writes the JSON (and chart, and for a
 * plain full run the docs), and says what went wrong. A failed run still
 * reports every figure it has; the caller turns problems into an exit code.
 */
export async function runBench(options: BenchOptions): Promise<BenchOutcome> {
  const { out, err } = options;
  const partial =
    options.only !== undefined || options.impls !== undefined || options.rounds !== undefined || options.cpuProf || options.fault !== undefined;
  const wanted = partial ? "partial" : options.quick ? "quick" : "latest";
  const started = Date.now();
  mkdirSync(options.resultsDir, { recursive: true });

  const report: RunReport = {
    date: new Date().toISOString(),
    quick: options.quick,
    durationSec: 0,
    machine: describeMachine(),
    versions: {
      privateer: version(join(options.root, "package.json")),
      "zeromq.js": version(join(options.root, "node_modules", "zeromq", "package.json")),
    },
    skipped: {},
    results: [],
  };
  let impls = options.impls ?? [...ALL_IMPLS];
  let nativeBinary: string | undefined;
  if (impls.includes("libzmq")) {
    const native = buildNative(options.root, options.nativeOutDir);
    if ("skipped" in native) {
      report.skipped.libzmq = native.skipped;
      impls = impls.filter((i) => i !== "libzmq");
      err.write(`Skipping libzmq: ${native.skipped}\n`);
    } else {
      nativeBinary = native.binary;
      report.versions.libzmq = native.version;
    }
  }
  const cpuProfDir = options.cpuProf ? join(options.resultsDir, "profiles", report.date.replace(/[:.]/g, "-")) : undefined;
  if (cpuProfDir) mkdirSync(cpuProfDir, { recursive: true });
  const config: RunnerConfig = {
    quick: options.quick,
    impls,
    nativeBinary,
    peerScript: options.peerScript,
    cpuProfDir,
    rounds: options.rounds,
    fault: options.fault,
  };
  const wantedScenarios = options.scenarios.filter((s) => !options.only || options.only.some((word) => s.id.includes(word)));
  const selected: Scenario[] = [];
  for (const scenario of wantedScenarios) {
    const why = scenario.unavailable?.();
    if (why === undefined) selected.push(scenario);
    else {
      (report.skippedScenarios ??= {})[scenario.id] = why;
      err.write(`Skipping ${scenario.id}: ${why}\n`);
    }
  }
  const total = selected.reduce((n, s) => n + roundsOf(s, config) * implsOf(s, config).length, 0);
  err.write(`Benchmarking ${impls.join(", ")} on ${machineLine(report)}: ${selected.length} scenarios, ${total} runs\n`);
  if (options.fault) err.write(`Injected fault: ${options.fault.kind} in scenarios matching "${options.fault.scenario}"\n`);

  const progress = new Progress(total, err);
  for (const scenario of selected) report.results.push(await runScenario(scenario, config, progress));
  progress.finish();
  report.durationSec = (Date.now() - started) / 1000;

  const problems = runProblems(report, options.ci);
  // A failed full run keeps its figures for inspection, but they never replace the published ones.
  const label = wanted === "latest" && problems.length > 0 ? "failed" : wanted;
  const root = options.root;
  const chartFile = join(options.resultsDir, label === "latest" ? "throughput.svg" : `${label}-throughput.svg`);
  const points = chartPoints(report.results);
  if (points.length > 0) {
    // Loaded on demand: Vega is heavy, and a run without throughput scenarios has no chart.
    const { throughputChart } = await import("./chart");
    writeFileSync(chartFile, await throughputChart(points, `${machineLine(report)} · medians of alternating rounds`));
  }
  const jsonFile = join(options.resultsDir, `${label}.json`);
  writeFileSync(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
  out.write(`${consoleReport(report)}\n`);
  out.write(`Results: ${relative(root, jsonFile)}`);
  if (points.length > 0) out.write(`, chart: ${relative(root, chartFile)}`);
  if (cpuProfDir) out.write(`, CPU profiles: ${relative(root, cpuProfDir)}`);
  out.write("\n");

  if (problems.length > 0) {
    err.write(`\nBenchmark run FAILED (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n`);
    for (const problem of problems) err.write(`  - ${problem}\n`);
  }
  if (label === "latest" && options.docsFile) {
    updateDocs(options.docsFile, markdownReport(report, relative(join(options.docsFile, ".."), chartFile)), root, out, err);
  } else if (label === "failed") {
    err.write("results/latest.* and the docs are left as they were: the run failed\n");
  }
  return { report, problems };
}

function version(packageJson: string): string {
  return (JSON.parse(readFileSync(packageJson, "utf8")) as { version: string }).version;
}

function chartPoints(results: readonly ScenarioResult[]): ThroughputPoint[] {
  const points: ThroughputPoint[] = [];
  for (const r of results) {
    if (r.chartSize === undefined) continue;
    for (const [impl, s] of Object.entries(r.summary) as [ImplName, { value: number }][]) {
      if (Number.isFinite(s.value)) points.push({ impl, size: r.chartSize, perSec: s.value });
    }
  }
  return points;
}

function updateDocs(file: string, block: string, root: string, out: NodeJS.WritableStream, err: NodeJS.WritableStream): void {
  let doc: string;
  try {
    doc = readFileSync(file, "utf8");
  } catch {
    err.write(`${file} not found: results not written to the docs\n`);
    return;
  }
  const updated = replaceResultsBlock(doc, block);
  if (updated === undefined) {
    err.write(`${file} has no ${RESULTS_START} ... ${RESULTS_END} block: results not written to the docs\n`);
    return;
  }
  writeFileSync(file, updated);
  out.write(`Updated ${relative(root, file)}\n`);
  // The prose is written by hand: new figures can leave it quoting old ones (test/bench/docs.test.ts fails then too).
  const stale = proseQuoteProblems(updated);
  if (stale.length > 0) {
    err.write(`The prose of ${relative(root, file)} no longer quotes its tables; update it:\n`);
    for (const line of stale) err.write(`  - ${line}\n`);
  }
}
