import type { ImplName } from "./lib";
import type { Machine } from "./machine";
import type { ScenarioResult } from "./runner";
import { fixed, si, sizeLabel } from "./stats";

export interface RunReport {
  date: string;
  quick: boolean;
  durationSec: number;
  machine: Machine;
  versions: Partial<Record<ImplName, string>>;
  /** Why an implementation did not run, if it did not. */
  skipped: Partial<Record<ImplName, string>>;
  /** Scenarios that could not run on this machine, with the reason (see Scenario.unavailable). */
  skippedScenarios?: Record<string, string>;
  results: ScenarioResult[];
}

const IMPLS: readonly ImplName[] = ["privateer", "zeromq.js", "libzmq"];

function formatValue(value: number | undefined, unit: string): string {
  if (value === undefined || !Number.isFinite(value)) return "n/a";
  if (unit === "msg/s") return `${si(value)} msg/s`;
  if (unit === "MiB/s") return `${fixed(value, value >= 100 ? 0 : 1)} MiB/s`;
  if (unit === "µs") return `${fixed(value, 1)} µs`;
  if (unit === "s") return `${fixed(value, 1)} s`;
  // Ratios between two figures of one implementation (e.g. Majordomo broker / direct echo).
  if (unit === "x") return formatRatio(value);
  return `${fixed(value, 2)} ${unit}`;
}

function formatRatio(ratio: number | undefined): string {
  return ratio === undefined ? "n/a" : `${fixed(ratio, 2)}x`;
}

function verdict(result: ScenarioResult): string {
  if (result.met === undefined) return result.target ? "n/a" : "";
  return result.met ? "met" : "**missed**";
}

function sideVerdict(met: boolean | undefined): string {
  return met === undefined ? "n/a" : met ? "met" : "**missed**";
}

export function machineLine(report: RunReport): string {
  const m = report.machine;
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Linux ${m.kernel}, Node ${m.node}`;
}

/** Plain-text summary for the terminal. */
export function consoleReport(report: RunReport): string {
  const lines: string[] = [];
  const width = 34;
  lines.push(`Machine: ${machineLine(report)}`);
  lines.push(`Versions: ${IMPLS.map((i) => `${i} ${report.versions[i] ?? "-"}`).join(", ")}`);
  for (const [impl, why] of Object.entries(report.skipped)) lines.push(`Skipped ${impl}: ${why}`);
  for (const [id, why] of Object.entries(report.skippedScenarios ?? {})) lines.push(`Skipped scenario ${id}: ${why}`);
  lines.push("");
  for (const r of report.results) {
    lines.push(`${r.title}  (${r.rounds} rounds, medians)`);
    for (const impl of IMPLS) {
      const s = r.summary[impl];
      if (!s) continue;
      const extras = Object.entries(r.extras)
        .map(([key, { label, unit }]) => `${label} ${formatValue(s.extra[key], unit)}`)
        .join(", ");
      lines.push(`  ${impl.padEnd(10)} ${r.metric.label} ${formatValue(s.value, r.metric.unit).padEnd(width - r.metric.label.length)} ${extras}`);
    }
    const ratios =
      r.target?.kind === "limit"
        ? "absolute target"
        : `privateer/zeromq.js ${formatRatio(r.ratio["zeromq.js"])}, privateer/libzmq ${formatRatio(r.ratio.libzmq)}`;
    lines.push(`  ${ratios}${r.target ? `   target ${r.target.text}: ${r.met === undefined ? "n/a" : r.met ? "MET" : "MISSED"}` : ""}`);
    for (const t of r.sideTargets ?? []) {
      const versus = t.versus === undefined ? "" : ` (privateer/${t.versus} ${formatRatio(t.ratio)})`;
      lines.push(`  ${r.extras[t.figure]?.label ?? t.figure}${versus}   target ${t.text}: ${t.met === undefined ? "n/a" : t.met ? "MET" : "MISSED"}`);
    }
    for (const [impl, u] of Object.entries(r.unreported)) {
      if (u && r.impls.includes(impl as ImplName)) lines.push(`  ${impl}: ${u.fields.join(", ")} not reported (${u.why})`);
    }
    for (const error of r.errors) lines.push(`  error: ${error}`);
    lines.push("");
  }
  lines.push(`Total ${report.durationSec.toFixed(0)} s`);
  return lines.join("\n");
}

/** The generated part of docs/benchmarks.md; only a run without failures is published (see session.ts). */
export function markdownReport(report: RunReport, chartPath: string): string {
  const out: string[] = [];
  out.push(`Measured ${report.date.slice(0, 10)} on: ${machineLine(report)}.`);
  out.push(
    `Versions: Privateer ${report.versions.privateer ?? "-"}, zeromq.js ${report.versions["zeromq.js"] ?? "-"} (bundled libzmq), ` +
      `native libzmq ${report.versions.libzmq ?? "not run"}. Whole run: ${report.durationSec.toFixed(0)} s${report.quick ? " (--quick)" : ""}.`,
  );
  for (const [impl, why] of Object.entries(report.skipped)) out.push(`Skipped ${impl}: ${why}.`);
  for (const [id, why] of Object.entries(report.skippedScenarios ?? {})) out.push(`Skipped ${id}: ${why}.`);
  out.push("");
  out.push("| benchmark | measure | target | Privateer | zeromq.js | libzmq (C) | Privateer / zeromq.js | Privateer / libzmq | verdict |");
  out.push("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |");
  for (const r of report.results.filter((x) => x.inTable)) {
    const cells = IMPLS.map((impl) => formatValue(r.summary[impl]?.value, r.metric.unit));
    // An absolute bound is the point of a limit target; a ratio of, say, JS heap to a C library's would mislead.
    const ratios = r.target?.kind === "limit" ? ["-", "-"] : [formatRatio(r.ratio["zeromq.js"]), formatRatio(r.ratio.libzmq)];
    out.push(`| ${r.title} | ${r.metric.label} | ${r.target?.text ?? ""} | ${cells.join(" | ")} | ${ratios.join(" | ")} | ${verdict(r)} |`);
    // A side target's row names the same benchmark, so its "Missed target" section in the docs is the scenario's.
    for (const t of r.sideTargets ?? []) {
      const extra = r.extras[t.figure];
      const sideCells = IMPLS.map((impl) => formatValue(r.summary[impl]?.extra[t.figure], extra?.unit ?? ""));
      // A target against zeromq.js shows its ratio where the scenario's ratio would be.
      const sideRatios = t.versus === "zeromq.js" ? [formatRatio(t.ratio), "-"] : t.versus === "libzmq" ? ["-", formatRatio(t.ratio)] : ["-", "-"];
      out.push(`| ${r.title} | ${extra?.label ?? t.figure} | ${t.text} | ${sideCells.join(" | ")} | ${sideRatios.join(" | ")} | ${sideVerdict(t.met)} |`);
    }
  }
  out.push("");
  out.push(`![throughput by message size](${chartPath})`);
  out.push("");
  out.push("Throughput at every charted size:");
  out.push("");
  out.push("| size | Privateer | zeromq.js | libzmq (C) | Privateer / zeromq.js | Privateer / libzmq |");
  out.push("| ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const r of report.results.filter((x) => x.chartSize !== undefined)) {
    const cells = IMPLS.map((impl) => {
      const s = r.summary[impl];
      return s ? `${formatValue(s.value, "msg/s")}, ${formatValue(s.extra.mibPerSec, "MiB/s")}` : "n/a";
    });
    out.push(`| ${sizeLabel(r.chartSize!)} | ${cells.join(" | ")} | ${formatRatio(r.ratio["zeromq.js"])} | ${formatRatio(r.ratio.libzmq)} |`);
  }
  const detailed = report.results.filter((r) => Object.keys(r.extras).length > 0 && r.chartSize === undefined);
  if (detailed.length > 0) {
    out.push("");
    out.push("Side figures (medians):");
    out.push("");
    out.push("| benchmark | figure | Privateer | zeromq.js | libzmq (C) |");
    out.push("| --- | --- | ---: | ---: | ---: |");
    for (const r of detailed) {
      for (const [key, { label, unit }] of Object.entries(r.extras)) {
        const cells = IMPLS.map((impl) => formatValue(r.summary[impl]?.extra[key], unit));
        out.push(`| ${r.title} | ${label} | ${cells.join(" | ")} |`);
      }
    }
  }
  return out.join("\n");
}
