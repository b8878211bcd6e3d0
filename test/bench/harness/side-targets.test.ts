import { Writable } from "node:stream";
import { runProblems } from "../../../bench/harness/checks";
import { proseQuoteProblems, RESULTS_END, RESULTS_START } from "../../../bench/harness/doc-quotes";
import { consoleReport, markdownReport, type RunReport } from "../../../bench/harness/report";
import { Progress, runScenario, type ScenarioResult } from "../../../bench/harness/runner";
import type { Scenario, SideTarget } from "../../../bench/harness/scenario";

/** Swallows the runner's progress lines. */
class Sink extends Writable {
  override _write(_chunk: Buffer, _encoding: string, done: () => void): void {
    done();
  }
}

const TITLE = "fake broker echo";

/** A process-free scenario shaped like majordomo-echo: a limit target on one ratio, a side target on another. */
function scenario(clientRatio: number, sideTargets: readonly SideTarget[]): Scenario {
  return {
    id: "fake-broker",
    title: TITLE,
    metric: { label: "replies", unit: "msg/s", better: "higher" },
    extras: {
      ratio: { label: "broker / direct", unit: "x" },
      clientRatio: { label: "client / raw DEALER", unit: "x" },
    },
    target: { kind: "limit", text: ">= 0.5x direct", met: (p) => (p.extra.ratio ?? 0) >= 0.5 },
    sideTargets,
    impls: ["privateer"],
    rounds: { full: 1, quick: 1 },
    inTable: true,
    measure: async () => ({ value: 1000, extra: { ratio: 0.6, clientRatio } }),
  };
}

const GOAL: SideTarget = { figure: "clientRatio", text: ">= 0.9x raw DEALER", atLeast: 0.9 };

async function run(s: Scenario): Promise<ScenarioResult> {
  return runScenario(s, { quick: true, impls: ["privateer"], peerScript: "/nonexistent/peer.js" }, new Progress(0, new Sink()));
}

function report(result: ScenarioResult): RunReport {
  return {
    date: "2026-01-01T00:00:00.000Z",
    quick: true,
    durationSec: 0,
    machine: { cpu: "test", cores: 1, memoryGiB: 1, node: process.version, kernel: "test" },
    versions: {},
    skipped: {},
    results: [result],
  };
}

/** A docs page around the generated block, with `prose` after it. */
function page(result: ScenarioResult, prose: string): string {
  return `# Benchmarks\n\n${RESULTS_START}\n${markdownReport(report(result), "chart.svg")}\n${RESULTS_END}\n\n${prose}\n`;
}

describe("bench side targets", () => {
  it("gives a side figure its own verdict, independent of the scenario's target", async () => {
    const missed = await run(scenario(0.79, [GOAL]));
    expect(missed.met).toBe(true);
    expect(missed.sideTargets).toEqual([{ figure: "clientRatio", text: GOAL.text, met: false }]);
    const met = await run(scenario(0.95, [GOAL]));
    expect(met.sideTargets?.[0]?.met).toBe(true);
  });

  it("reports it as a row of the benchmark in the table, and a line on the console", async () => {
    const result = await run(scenario(0.79, [GOAL]));
    const rows = markdownReport(report(result), "chart.svg").split("\n");
    expect(rows).toContain(`| ${TITLE} | replies | >= 0.5x direct | 1.00 k msg/s | n/a | n/a | - | - | met |`);
    expect(rows).toContain(`| ${TITLE} | client / raw DEALER | >= 0.9x raw DEALER | 0.79x | n/a | n/a | - | - | **missed** |`);
    expect(consoleReport(report(result))).toContain("client / raw DEALER   target >= 0.9x raw DEALER: MISSED");
  });

  it("adds nothing to the report of a scenario without side targets (published results keep their shape)", async () => {
    const result = await run({ ...scenario(0.79, []), sideTargets: undefined });
    expect(result).not.toHaveProperty("sideTargets");
    expect(markdownReport(report(result), "chart.svg")).not.toContain("client / raw DEALER | >=");
  });

  it("requires the docs to explain a missed side target, and accepts its figure in the heading", async () => {
    const result = await run(scenario(0.79, [GOAL]));
    expect(proseQuoteProblems(page(result, "## Reproduce"))).toEqual([
      `the table marks "${TITLE}" **missed** but no "## Missed target: ${TITLE} (...)" section explains it`,
    ]);
    expect(proseQuoteProblems(page(result, `## Missed target: ${TITLE} (needs 0.9x the raw DEALER; measured 0.79x)`))).toEqual([]);
    // Negative control: a figure that is in no row of the benchmark.
    expect(proseQuoteProblems(page(result, `## Missed target: ${TITLE} (needs 0.9x the raw DEALER; measured 0.80x)`))).toEqual([
      "the prose quotes 0.80x, which is not in the results tables",
      expect.stringContaining("says measured 0.80x"),
    ]);
    // Negative control: without the side target nothing is missed, so the same heading is one too many.
    const none = await run({ ...scenario(0.79, []), sideTargets: undefined });
    expect(proseQuoteProblems(page(none, `## Missed target: ${TITLE} (needs 0.9x the raw DEALER; measured 0.79x)`))).toEqual([
      `"Missed target: ${TITLE}" names no benchmark the table marks **missed**`,
    ]);
  });

  it("fails the run when a side target names a figure the scenario does not report", async () => {
    const result = await run(scenario(0.95, [{ ...GOAL, figure: "clientRatoi" }]));
    expect(result.sideTargets?.[0]?.met).toBeUndefined();
    expect(runProblems(report(result), false)).toEqual([
      expect.stringContaining('side target ">= 0.9x raw DEALER" names clientRatoi, which is not one of the scenario\'s extras'),
    ]);
  });
});
