/**
 * The exactly-once chaos report (issue 9): per scenario a small JSON file
 * (the verdict, the run's metadata and counts, the faults and the
 * replies-per-second series, never the client lines), a short Markdown
 * summary and an SVG chart of the replies per second with the faults marked,
 * drawn by the benchmarks' renderer; per run an index, `exactly-once.md`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TopLevelSpec } from "vega-lite";
import type { EoExpectation, EoVerdict, FaultRecord, RunRecord } from "./types";

/** What the runner knows that the run record does not hold. */
export interface ReportExtra {
  /** The commit the run was built from (`-dirty` when the tree had changes). */
  readonly commit?: string;
  /** The expectation the scenario was held to. */
  readonly expectation?: EoExpectation;
  /** Anything else worth keeping, e.g. timings or retry settings; listed as key: value. */
  readonly details?: Readonly<Record<string, string | number | boolean>>;
}

/** One scenario's line in the run's index, and what {@link writeSummary} takes. */
export interface ScenarioSummary {
  readonly scenario: string;
  readonly launcher: RunRecord["launcher"];
  readonly store: RunRecord["store"];
  readonly seed: number;
  readonly requests: number;
  readonly inFlightPerClient: number;
  readonly clients: number;
  readonly workers: number;
  readonly durationMs: number;
  readonly faults: number;
  readonly ok: boolean;
  readonly violations: number;
  readonly counts: EoVerdict["counts"];
  readonly longestGapMs: number;
  readonly commit?: string;
  /** The scenario's files, relative to the report folder. */
  readonly files: { readonly json: string; readonly md: string; readonly svg: string };
}

/** The paths {@link writeReport} wrote, and the scenario's summary for the index. */
export interface WrittenReport {
  readonly files: { readonly json: string; readonly md: string; readonly svg: string };
  readonly summary: ScenarioSummary;
}

/** A scenario name as a file name: anything but letters, digits, dot, dash and underscore becomes a dash. */
function fileBase(scenario: string): string {
  return scenario.replace(/[^A-Za-z0-9._-]/g, "-");
}

/** The index line of one scenario, without writing anything. */
export function summarize(run: RunRecord, verdict: EoVerdict, extra: ReportExtra = {}): ScenarioSummary {
  const base = fileBase(run.scenario);
  return {
    scenario: run.scenario,
    launcher: run.launcher,
    store: run.store,
    seed: run.seed,
    requests: run.requests,
    inFlightPerClient: run.inFlightPerClient,
    clients: run.clients.length,
    workers: run.workers.length,
    durationMs: run.endedAt - run.startedAt,
    faults: run.faults.length,
    ok: verdict.ok,
    violations: verdict.violations.length,
    counts: verdict.counts,
    longestGapMs: verdict.longestGapMs,
    ...(extra.commit === undefined ? {} : { commit: extra.commit }),
    files: { json: `${base}.json`, md: `${base}.md`, svg: `${base}.svg` },
  };
}

/** A fault with its place in the run and the recovery it needed. */
interface TimelineEntry extends FaultRecord {
  readonly offsetMs: number;
  readonly recoveryMs: number | null;
}

function timeline(run: RunRecord, verdict: EoVerdict): TimelineEntry[] {
  return run.faults.map((fault, index) => ({
    ...fault,
    offsetMs: fault.at - run.startedAt,
    // recoveryMs is computed per fault in the same order as run.faults.
    recoveryMs: verdict.recoveryMs[index]?.ms ?? null,
  }));
}

function countBy<T>(items: readonly T[], key: (item: T) => string | undefined): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) {
    const k = key(item);
    if (k !== undefined) counts[k] = (counts[k] ?? 0) + 1;
  }
  return counts;
}

/**
 * The JSON report's content: everything needed to judge and chart the run
 * again, but no per-request data, so it stays small enough to commit.
 */
export function reportJson(run: RunRecord, verdict: EoVerdict, extra: ReportExtra = {}): Record<string, unknown> {
  const summary = summarize(run, verdict, extra);
  return {
    scenario: run.scenario,
    ok: verdict.ok,
    commit: extra.commit ?? null,
    seed: run.seed,
    launcher: run.launcher,
    store: run.store,
    requests: run.requests,
    inFlightPerClient: run.inFlightPerClient,
    clients: run.clients,
    workers: run.workers,
    startedAt: new Date(run.startedAt).toISOString(),
    endedAt: new Date(run.endedAt).toISOString(),
    durationMs: summary.durationMs,
    expectation: extra.expectation ?? null,
    details: extra.details ?? {},
    violations: verdict.violations,
    counts: verdict.counts,
    longestGapMs: verdict.longestGapMs,
    faults: timeline(run, verdict),
    hungClients: run.hungClients,
    nodeEvents: run.nodeEvents,
    executionsByWorker: countBy(run.ledger, (row) => row.worker),
    failedLinesByCode: countBy(run.clientLines, (line) => (line.type === "failed" ? line.code : undefined)),
    repliesPerSecond: verdict.repliesPerSecond,
    files: summary.files,
  };
}

/** Colours per fault kind family, so kills, pauses and their undoing read apart on the chart. */
const FAULT_COLOURS: Readonly<Record<string, string>> = {
  kill: "#d6452b",
  restart: "#2b8a3e",
  pause: "#e6a700",
  resume: "#2b6cd6",
};

/**
 * The chart: ok replies per second over the run as a step area, each fault a
 * vertical rule at its offset, coloured by kind.
 */
export function repliesChartSpec(run: RunRecord, verdict: EoVerdict): TopLevelSpec {
  const series = verdict.repliesPerSecond.map((replies, second) => ({ second, replies }));
  // A step area draws each value from its point to the next: a closing point makes the last second visible.
  if (series.length > 0) series.push({ second: series.length, replies: series[series.length - 1]!.replies });
  const faults = timeline(run, verdict).map((f) => ({
    second: f.offsetMs / 1000,
    fault: `${f.kind} ${f.target}`,
    family: f.kind.split("-")[0]!,
  }));
  const families = [...new Set(faults.map((f) => f.family))];
  const subtitle =
    `${run.launcher} launcher, ${run.store} store, seed ${run.seed}, ${run.requests} requests, ` +
    `${run.clients.length} clients × ${run.inFlightPerClient} in flight` +
    (faults.length > 0 ? "; vertical lines mark the faults" : "");
  const replies: LayerSpec = {
    data: { values: series },
    mark: { type: "area", interpolate: "step-after", color: "#6b6b6b", opacity: 0.8 },
    encoding: {
      x: { field: "second", type: "quantitative", title: "seconds since the first client started" },
      y: { field: "replies", type: "quantitative", title: "ok replies per second" },
    },
  };
  const rules: LayerSpec = {
    data: { values: faults },
    mark: { type: "rule", strokeWidth: 2 },
    encoding: {
      x: { field: "second", type: "quantitative" },
      color: {
        field: "family",
        type: "nominal",
        title: "fault",
        scale: { domain: families, range: families.map((f) => FAULT_COLOURS[f] ?? "#000000") },
      },
    },
  };
  return {
    title: { text: `${run.scenario}: ok replies per second`, subtitle, anchor: "middle" },
    background: "#ffffff",
    width: 640,
    height: 220,
    config: { legend: { orient: "top" } },
    layer: faults.length > 0 ? [replies, rules] : [replies],
  };
}

type LayerSpec = Extract<TopLevelSpec, { layer: unknown }>["layer"][number];

/** A table cell: pipes and line breaks would break the row. */
function cell(value: string | number): string {
  return String(value).replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

function row(values: ReadonlyArray<string | number>): string {
  return `| ${values.map(cell).join(" | ")} |`;
}

function table(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string[] {
  return [row(header), row(header.map(() => "---")), ...rows.map(row)];
}

const COUNT_COLUMNS = [
  "sent",
  "ok",
  "failed",
  "unknown",
  "unanswered",
  "executions",
  "duplicated",
  "lostAcked",
  "phantom",
  "wrongReply",
  "repliedTwice",
] as const satisfies ReadonlyArray<keyof EoVerdict["counts"]>;

/** The scenario's Markdown summary; `svgFile` is the chart's path relative to the Markdown file. */
export function reportMarkdown(run: RunRecord, verdict: EoVerdict, svgFile: string, extra: ReportExtra = {}): string {
  const seconds = ((run.endedAt - run.startedAt) / 1000).toFixed(1);
  const lines: string[] = [
    `# Exactly-once chaos: ${run.scenario}`,
    "",
    verdict.ok ? "**PASS**: every property held." : `**FAIL**: ${verdict.violations.length} properties broken.`,
    "",
    ...table(
      ["launcher", "store", "seed", "requests", "clients × in flight", "workers", "duration"],
      [
        [
          run.launcher,
          run.store,
          run.seed,
          run.requests,
          `${run.clients.length} × ${run.inFlightPerClient}`,
          run.workers.length,
          `${seconds} s`,
        ],
      ],
    ),
    "",
  ];
  if (extra.commit !== undefined) lines.push(`Commit: \`${extra.commit}\``, "");

  lines.push("## Counts", "", ...table(COUNT_COLUMNS, [COUNT_COLUMNS.map((c) => verdict.counts[c])]), "");
  lines.push(
    `Failover gap (the longest stretch without an ok reply that overlaps a fault): ${verdict.longestGapMs} ms.`,
    "",
  );
  if (!verdict.ok) lines.push("## Violations", "", ...verdict.violations.map((v) => `- FAIL ${v}`), "");
  if (run.hungClients.length > 0) lines.push(`Hung clients: ${run.hungClients.join(", ")}.`, "");

  lines.push("## Faults", "");
  const entries = timeline(run, verdict);
  if (entries.length === 0) lines.push("None.", "");
  else {
    lines.push(
      ...table(
        ["at (ms from start)", "fault", "target", "recovery (ms)", "detail"],
        entries.map((f) => [f.offsetMs, f.kind, f.target, f.recoveryMs ?? "never", f.detail ?? ""]),
      ),
      "",
      "Recovery: from the fault to the start of the first whole second after it with at least half the run's " +
        "median replies per second.",
      "",
    );
  }

  lines.push("## Replies per second", "", `![ok replies per second, faults marked](${svgFile})`, "");
  const events = Object.entries(run.nodeEvents).sort(([a], [b]) => a.localeCompare(b));
  if (events.length > 0) lines.push(`Node events: ${events.map(([k, n]) => `${k}=${n}`).join(", ")}.`, "");
  if (extra.expectation) {
    const evidence = Object.entries(extra.expectation.evidence ?? {})
      .map(([k, n]) => `${k} ≥ ${n}`)
      .join(", ");
    lines.push(`Expectation: failed ≤ ${extra.expectation.maxFailed}${evidence ? `; evidence ${evidence}` : ""}.`, "");
  }
  const details = Object.entries(extra.details ?? {});
  if (details.length > 0) lines.push(...details.map(([k, v]) => `- ${k}: ${v}`), "");
  return lines.join("\n");
}

/**
 * Writes `<scenario>.json`, `<scenario>.md` and `<scenario>.svg` into `dir`
 * (created if missing) and returns their paths with the scenario's summary
 * line for {@link writeSummary}.
 */
export async function writeReport(
  dir: string,
  run: RunRecord,
  verdict: EoVerdict,
  extra: ReportExtra = {},
): Promise<WrittenReport> {
  const summary = summarize(run, verdict, extra);
  // Loaded on demand, as the benchmarks do: Vega is heavy, and the checker's users need none of it.
  const { renderSvg } = await import("../../../bench/harness/chart");
  const svg = await renderSvg(repliesChartSpec(run, verdict));
  mkdirSync(dir, { recursive: true });
  const files = {
    json: join(dir, summary.files.json),
    md: join(dir, summary.files.md),
    svg: join(dir, summary.files.svg),
  };
  writeFileSync(files.json, `${JSON.stringify(reportJson(run, verdict, extra), null, 2)}\n`);
  writeFileSync(files.svg, svg);
  writeFileSync(files.md, reportMarkdown(run, verdict, summary.files.svg, extra));
  return { files, summary };
}

/** The run's index as Markdown: one row per scenario, linking to its summary. */
export function summaryMarkdown(results: readonly ScenarioSummary[]): string {
  const passed = results.filter((r) => r.ok).length;
  const commits = [...new Set(results.map((r) => r.commit).filter((c): c is string => c !== undefined))];
  const lines = [
    "# Exactly-once chaos runs",
    "",
    `${passed} of ${results.length} scenarios passed.` + (commits.length > 0 ? ` Commit: ${commits.join(", ")}.` : ""),
    "",
    ...table(
      [
        "scenario",
        "launcher",
        "store",
        "requests",
        "faults",
        "ok",
        "failed",
        "unknown",
        "executions",
        "duplicated",
        "lost acked",
        "phantom",
        "gap (ms)",
        "verdict",
      ],
      results.map((r) => [
        `[${r.scenario}](${r.files.md})`,
        r.launcher,
        r.store,
        r.requests,
        r.faults,
        r.counts.ok,
        r.counts.failed,
        r.counts.unknown,
        r.counts.executions,
        r.counts.duplicated,
        r.counts.lostAcked,
        r.counts.phantom,
        r.longestGapMs,
        r.ok ? "PASS" : `FAIL (${r.violations})`,
      ]),
    ),
    "",
  ];
  return lines.join("\n");
}

/** Writes the run's index, `exactly-once.md`, into `dir` and returns its path. */
export function writeSummary(dir: string, results: readonly ScenarioSummary[]): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "exactly-once.md");
  writeFileSync(file, summaryMarkdown(results));
  return file;
}
