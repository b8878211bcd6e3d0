import type { ImplName } from "./lib";
import { field, type PeerLine } from "./protocol";
import type { RunReport } from "./report";
import type { Measurement, Scenario } from "./scenario";

const MiB = 1048576;

/** Figures of a receiving window, computed from what the receiver says it received. */
export interface ReceivedRate {
  perSec: number;
  mibPerSec: number;
}

/**
 * Messages and MiB per second from a receiver's `result` line (count, bytes,
 * elapsedMs). The receiver checks every message's size itself; this checks
 * again that the bytes it reports are `count` messages of `expectBytes`, so a
 * peer that skipped its own check (or a C peer built from an older source)
 * cannot slip a wrong figure through. No message in the window is no figure.
 */
export function receivedRate(result: PeerLine, expectBytes: number): ReceivedRate {
  const count = field(result, "count");
  const bytes = field(result, "bytes");
  const elapsedMs = field(result, "elapsedMs");
  if (count <= 0) throw new Error("the receiver counted no message in its window");
  if (!(elapsedMs > 0)) throw new Error(`the receiver's window lasted ${elapsedMs} ms`);
  if (bytes !== count * expectBytes) {
    throw new Error(`the receiver got ${bytes} bytes in ${count} messages, expected ${count} x ${expectBytes} = ${count * expectBytes}`);
  }
  const secs = elapsedMs / 1000;
  return { perSec: count / secs, mibPerSec: bytes / secs / MiB };
}

/**
 * Units of figures that count something over time (rates, mean round
 * trips): a zero there means nothing was counted, not a fast or slow run.
 * Memory figures are differences and may be zero or even negative.
 */
const COUNTED_UNITS: ReadonlySet<string> = new Set(["msg/s", "µs"]);

/**
 * Why one run's measurement is no figure, or undefined when it is one: the
 * headline and every declared extra must be finite numbers, except those the
 * scenario declares the implementation cannot report; counted figures must
 * also be positive.
 */
export function measurementProblem(scenario: Scenario, impl: ImplName, m: Measurement): string | undefined {
  const exempt = new Set(scenario.unreported?.[impl]?.fields ?? []);
  const checks: [string, number | undefined, string][] = [["value", m.value, scenario.metric.unit]];
  for (const [key, { unit }] of Object.entries(scenario.extras ?? {})) checks.push([key, m.extra?.[key], unit]);
  const bad: string[] = [];
  for (const [key, value, unit] of checks) {
    if (exempt.has(key)) continue;
    if (value === undefined) bad.push(`${key} missing`);
    else if (!Number.isFinite(value)) bad.push(`${key} is ${value}`);
    else if (COUNTED_UNITS.has(unit) && value <= 0) bad.push(`${key} is ${value} ${unit}`);
  }
  return bad.length > 0 ? `no figure (${bad.join(", ")})` : undefined;
}

/** Whether the CI variable is set, the convention .ci/prereqs follows too. */
export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.CI ?? "") !== "";
}

/**
 * Everything that makes a run fail, one line each: every failed run, every
 * scenario/implementation pair that ended without a figure, and, in CI,
 * every implementation that was skipped (outside CI an absent optional
 * baseline is reported as skipped, with its reason, and is not a failure).
 */
export function runProblems(report: RunReport, ci: boolean): string[] {
  const problems: string[] = [];
  if (ci) {
    for (const [impl, why] of Object.entries(report.skipped)) problems.push(`${impl} skipped, and CI must run every implementation: ${why}`);
  }
  for (const r of report.results) {
    for (const error of r.errors) problems.push(`${r.id}: ${error.split("\n")[0]}`);
    for (const impl of r.impls) {
      const s = r.summary[impl];
      if (!s) problems.push(`${r.id}: no figure for ${impl} (no run succeeded)`);
      else if (!Number.isFinite(s.value) && !r.unreported[impl]?.fields.includes("value")) {
        problems.push(`${r.id}: no figure for ${impl} (median ${s.value})`);
      }
    }
  }
  return problems;
}
