/**
 * Privateer benchmarks, side by side with zeromq.js and native libzmq.
 *
 *   npm run bench                       full run (< 5 min): results/latest.json, results/throughput.svg,
 *                                       and the results section of docs/benchmarks.md
 *   npm run bench -- --quick            fewer rounds, shorter windows (< 1 min): results/quick.*
 *   npm run bench -- --only push-pull   scenarios whose id contains one of the comma-separated words
 *   npm run bench -- --impl privateer   only these implementations (comma-separated)
 *   npm run bench -- --rounds 1         override the round counts
 *   npm run bench -- --cpu-prof         Node peers write V8 CPU profiles to results/profiles/
 *
 * Anything but a plain full run writes results/partial.* and leaves the docs alone.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { throughputChart, type ThroughputPoint } from "./harness/chart";
import type { ImplName } from "./harness/lib";
import { describeMachine } from "./harness/machine";
import { buildNative } from "./harness/native";
import { consoleReport, machineLine, markdownReport, type RunReport } from "./harness/report";
import { implsOf, Progress, roundsOf, runScenario, type RunnerConfig, type ScenarioResult } from "./harness/runner";
import { ALL_IMPLS } from "./harness/scenario";
import { scenarios } from "./scenarios";

const ROOT = resolve(__dirname, "..", "..");
const RESULTS = join(ROOT, "bench", "results");
const DOCS = join(ROOT, "docs", "benchmarks.md");
const START = "<!-- bench:results:start -->";
const END = "<!-- bench:results:end -->";

interface Cli {
  quick: boolean;
  only?: string[];
  impls?: ImplName[];
  rounds?: number;
  cpuProf: boolean;
}

function parseCli(argv: readonly string[]): Cli {
  const cli: Cli = { quick: false, cpuProf: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === "--quick") cli.quick = true;
    else if (arg === "--cpu-prof") cli.cpuProf = true;
    else if (arg === "--only") cli.only = value().split(",");
    else if (arg === "--rounds") cli.rounds = Number(value());
    else if (arg === "--impl") {
      const wanted = value().split(",");
      for (const w of wanted) if (!ALL_IMPLS.includes(w as ImplName)) throw new Error(`unknown implementation ${w}`);
      cli.impls = wanted as ImplName[];
    } else throw new Error(`unknown option ${arg}`);
  }
  return cli;
}

function version(packageJson: string): string {
  return (JSON.parse(readFileSync(packageJson, "utf8")) as { version: string }).version;
}

async function main(): Promise<void> {
  const cli = parseCli(process.argv.slice(2));
  const partial = cli.only !== undefined || cli.impls !== undefined || cli.rounds !== undefined || cli.cpuProf;
  const label = partial ? "partial" : cli.quick ? "quick" : "latest";
  const started = Date.now();
  mkdirSync(RESULTS, { recursive: true });

  const report: RunReport = {
    date: new Date().toISOString(),
    quick: cli.quick,
    durationSec: 0,
    machine: describeMachine(),
    versions: {
      privateer: version(join(ROOT, "package.json")),
      "zeromq.js": version(join(ROOT, "node_modules", "zeromq", "package.json")),
    },
    skipped: {},
    results: [],
  };
  let impls = cli.impls ?? [...ALL_IMPLS];
  let nativeBinary: string | undefined;
  if (impls.includes("libzmq")) {
    const native = buildNative(ROOT, join(__dirname, "native"));
    if ("skipped" in native) {
      report.skipped.libzmq = native.skipped;
      impls = impls.filter((i) => i !== "libzmq");
      process.stderr.write(`${native.skipped}\n`);
    } else {
      nativeBinary = native.binary;
      report.versions.libzmq = native.version;
    }
  }
  const cpuProfDir = cli.cpuProf ? join(RESULTS, "profiles", report.date.replace(/[:.]/g, "-")) : undefined;
  if (cpuProfDir) mkdirSync(cpuProfDir, { recursive: true });
  const config: RunnerConfig = {
    quick: cli.quick,
    impls,
    nativeBinary,
    peerScript: join(__dirname, "peer.js"),
    cpuProfDir,
    rounds: cli.rounds,
  };
  const selected = scenarios.filter((s) => !cli.only || cli.only.some((word) => s.id.includes(word)));
  const total = selected.reduce((n, s) => n + roundsOf(s, config) * implsOf(s, config).length, 0);
  process.stderr.write(`Benchmarking ${impls.join(", ")} on ${machineLine(report)}: ${selected.length} scenarios, ${total} runs\n`);

  const progress = new Progress(total);
  for (const scenario of selected) report.results.push(await runScenario(scenario, config, progress));
  progress.finish();
  report.durationSec = (Date.now() - started) / 1000;

  const chartFile = join(RESULTS, label === "latest" ? "throughput.svg" : `${label}-throughput.svg`);
  const points = chartPoints(report.results);
  if (points.length > 0) writeFileSync(chartFile, await throughputChart(points, `${machineLine(report)} · medians of alternating rounds`));
  writeFileSync(join(RESULTS, `${label}.json`), `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`${consoleReport(report)}\n`);
  process.stdout.write(`Results: ${relative(ROOT, join(RESULTS, `${label}.json`))}`);
  if (points.length > 0) process.stdout.write(`, chart: ${relative(ROOT, chartFile)}`);
  if (cpuProfDir) process.stdout.write(`, CPU profiles: ${relative(ROOT, cpuProfDir)}`);
  process.stdout.write("\n");
  if (label === "latest") updateDocs(markdownReport(report, relative(join(ROOT, "docs"), chartFile)));
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

/** Replaces the generated block of docs/benchmarks.md; the prose around it is written by hand. */
function updateDocs(block: string): void {
  let doc: string;
  try {
    doc = readFileSync(DOCS, "utf8");
  } catch {
    process.stderr.write(`${DOCS} not found: results not written to the docs\n`);
    return;
  }
  const a = doc.indexOf(START);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) {
    process.stderr.write(`${DOCS} has no ${START} ... ${END} block: results not written to the docs\n`);
    return;
  }
  writeFileSync(DOCS, `${doc.slice(0, a + START.length)}\n${block}\n${doc.slice(b)}`);
  process.stdout.write(`Updated ${relative(ROOT, DOCS)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
