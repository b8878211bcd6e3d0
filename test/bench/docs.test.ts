import { readFileSync } from "node:fs";
import { join } from "node:path";
import { proseQuoteProblems, resultsBlock } from "../../bench/harness/doc-quotes";
import { markdownReport, type RunReport } from "../../bench/harness/report";

const ROOT = join(__dirname, "..", "..");
const doc = readFileSync(join(ROOT, "docs", "benchmarks.md"), "utf8");
const latest = JSON.parse(readFileSync(join(ROOT, "bench", "results", "latest.json"), "utf8")) as RunReport;

describe("docs/benchmarks.md", () => {
  it("has the results block a full run generates from bench/results/latest.json", () => {
    // The chart path is relative to docs/, as run.ts writes it.
    expect(resultsBlock(doc)).toBe(markdownReport(latest, "../bench/results/throughput.svg"));
  });

  it("quotes the tables beside it: two-decimal ratios and the missed-target headings", () => {
    expect(proseQuoteProblems(doc)).toEqual([]);
  });
});

describe("proseQuoteProblems (negative controls on altered copies of the page)", () => {
  const store = "Exactly-once cost: Majordomo echo, 4 worker processes, 16 clients, 16 B, with a SQLite store";
  const heading = `## Missed target: ${store} (needs 0.7x the rate without a store; measured 0.41x)`;

  it("catches a heading that quotes a figure the table does not have (0.5x where the table says 0.41x)", () => {
    const altered = doc.replace(heading, heading.replace("measured 0.41x", "measured 0.5x"));
    expect(altered).not.toBe(doc);
    expect(proseQuoteProblems(altered)).toEqual([expect.stringContaining("says measured 0.5x")]);
  });

  it("catches a two-decimal ratio in the prose that is not in the tables", () => {
    const altered = doc.replace("## Reproduce", "The inproc ratio is 8.10x.\n\n## Reproduce");
    expect(proseQuoteProblems(altered)).toEqual(["the prose quotes 8.10x, which is not in the results tables"]);
  });

  it("catches a missed target the prose does not explain, and a heading for a target that was met", () => {
    const dropped = doc.replace(`## Missed target: ${store} (`, `## Store cost (`);
    expect(dropped).not.toBe(doc);
    expect(proseQuoteProblems(dropped)).toEqual([expect.stringContaining(`marks "${store}" **missed** but no`)]);
    const met = "PUSH to PULL, tcp, two processes, 16 B";
    const extra = doc.replace("## Reproduce", `## Missed target: ${met} (needs 3x zeromq.js; measured 20.62x)\n\n## Reproduce`);
    expect(proseQuoteProblems(extra)).toEqual([expect.stringContaining(`"Missed target: ${met}" names no benchmark`)]);
  });
});
