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
 *
 * The exit status is 1 when any run failed, when any scenario/implementation
 * pair ended without a figure, or (with CI set) when the native baseline
 * could not be built; everything that did work is still reported. A failed
 * full run writes results/failed.* instead of latest.*.
 *
 *   BENCH_FAULT=error:<scenario>        every run of the scenario throws (proves the exit status)
 *   BENCH_FAULT=size:<scenario>         its senders send one byte more than its receivers expect
 */
import { join, resolve } from "node:path";
import { inCi } from "./harness/checks";
import type { ImplName } from "./harness/lib";
import { parseFault } from "./harness/runner";
import { ALL_IMPLS } from "./harness/scenario";
import { runBench, type BenchSelection } from "./harness/session";
import { scenarios } from "./scenarios";

const ROOT = resolve(__dirname, "..", "..");

function parseCli(argv: readonly string[]): BenchSelection {
  const cli: BenchSelection = { quick: false, cpuProf: false };
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

async function main(): Promise<void> {
  const { problems } = await runBench({
    ...parseCli(process.argv.slice(2)),
    scenarios,
    root: ROOT,
    resultsDir: join(ROOT, "bench", "results"),
    nativeOutDir: join(__dirname, "native"),
    peerScript: join(__dirname, "peer.js"),
    docsFile: join(ROOT, "docs", "benchmarks.md"),
    ci: inCi(),
    fault: parseFault(process.env.BENCH_FAULT),
    out: process.stdout,
    err: process.stderr,
  });
  if (problems.length > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
