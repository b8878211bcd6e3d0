/**
 * The exactly-once chaos scenarios (issue 9) with every node a child process
 * of this test: SIGKILL, SIGSTOP and SIGCONT instead of docker kill/pause, no
 * container engine needed, so `npm test` checks the guarantee anywhere. Each
 * scenario runs a Binary Star pair of brokers, 4 workers serving with the
 * SQLite idempotency store (the ledger row written in its transaction) and 2
 * clients with 25 requests in flight each, applies its seeded fault schedule
 * mid-flight, and is judged by the checker (chaos/lib/exactly-once/checker.ts).
 *
 * CHAOS_REQUESTS lowers the 10,000 requests per scenario for a quick local
 * run (refused under CI=true); CHAOS_SEED changes the schedules' seed;
 * CHAOS_WRITE_REPORTS=1 writes the reports to chaos/reports/exactly-once-process
 * instead of a temporary folder; CHAOS_KEEP_RUNS=1 keeps every node's output.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileNodes } from "../../chaos/lib/build";
import { PROJECT_DIR } from "../../chaos/lib/cluster";
import { checkRun, frozenRequest } from "../../chaos/lib/exactly-once/checker";
import { ProcessLauncher } from "../../chaos/lib/exactly-once/process-launcher";
import { writeReport, writeSummary, type ScenarioSummary } from "../../chaos/lib/exactly-once/report";
import { runEoScenario, type EoRunOptions } from "../../chaos/lib/exactly-once/runner";
import { EO_SCENARIOS, eoScenario } from "../../chaos/lib/exactly-once/scenarios";
import type { EoVerdict, RunRecord } from "../../chaos/lib/exactly-once/types";

const FULL = 10_000;

/** Requests per scenario: 10,000, or fewer for a local quick run, never fewer in CI. */
function requestsPerScenario(): number {
  const asked = process.env.CHAOS_REQUESTS;
  if (asked === undefined || asked === "") return FULL;
  const value = Number(asked);
  if (!Number.isInteger(value) || value < 1) throw new Error(`CHAOS_REQUESTS must be a positive integer (got ${asked})`);
  if (value < FULL && process.env.CI === "true") {
    throw new Error(`CHAOS_REQUESTS=${value} is below ${FULL}: quick runs are for local use only, not CI`);
  }
  return value;
}

const BASE_SEED = process.env.CHAOS_SEED === undefined || process.env.CHAOS_SEED === "" ? 9_2026 : Number(process.env.CHAOS_SEED);
const REPORT_DIR =
  process.env.CHAOS_WRITE_REPORTS === "1"
    ? join(PROJECT_DIR, "chaos", "reports", "exactly-once-process")
    : mkdtempSync(join(tmpdir(), "eo-process-report-"));
const SCENARIO_TIMEOUT_MS = 240_000;

/** The commit the nodes were built from, `-dirty` with uncommitted changes, for the reports. */
function commit(): string | undefined {
  const head = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: PROJECT_DIR, encoding: "utf8" });
  if (head.status !== 0) return undefined;
  const dirty = spawnSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: PROJECT_DIR, encoding: "utf8" });
  return `${head.stdout.trim()}${dirty.stdout.trim() === "" ? "" : "-dirty"}`;
}

let requests = FULL;
let built: string | undefined;
let workDir = "";
const summaries: ScenarioSummary[] = [];

function describeRun(run: RunRecord, verdict: EoVerdict, ms: number): string {
  const c = verdict.counts;
  const rate = Math.round((c.ok / Math.max(1, run.endedAt - run.startedAt)) * 1000);
  const faults = run.faults.map((f) => `${f.kind} ${f.target}${f.detail ? ` (${f.detail})` : ""}`).join("; ");
  return (
    `${run.scenario}: ${ms} ms in all, clients ${run.endedAt - run.startedAt} ms, ${rate} acks/s; ` +
    `sent ${c.sent} ok ${c.ok} failed ${c.failed} unknown ${c.unknown} executions ${c.executions} duplicated ${c.duplicated} ` +
    `lostAcked ${c.lostAcked} phantom ${c.phantom} wrongReply ${c.wrongReply} repliedTwice ${c.repliedTwice}; ` +
    `gap ${verdict.longestGapMs} ms; faults: ${faults}; events ${JSON.stringify(run.nodeEvents)}`
  );
}

function options(seed: number, dir: string, extra: Partial<EoRunOptions> = {}): EoRunOptions {
  return { requests, store: "sqlite", runDir: dir, seed, ...extra };
}

beforeAll(() => {
  requests = requestsPerScenario();
  built = commit();
  workDir = mkdtempSync(join(tmpdir(), "eo-process-"));
  const { ms, diagnostics } = compileNodes(["eo-broker.js", "eo-worker.js", "eo-client.js"]);
  console.log(`compiled the chaos nodes in ${ms} ms${diagnostics ? `\n${diagnostics}` : ""}`);
}, 200_000);

afterAll(() => {
  if (summaries.length > 0) writeSummary(REPORT_DIR, summaries);
  // CHAOS_KEEP_RUNS=1 keeps the client logs, the ledger and each node's output for a post-mortem.
  if (process.env.CHAOS_KEEP_RUNS === "1") console.log(`run folders kept in ${workDir}`);
  else if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe("exactly-once under process faults (SQLite store)", () => {
  EO_SCENARIOS.forEach((scenario, index) => {
    test(
      `${scenario.name}: ${scenario.description}`,
      async () => {
        const began = Date.now();
        const seed = BASE_SEED + index;
        const phases: string[] = [];
        const log = (message: string): void => void phases.push(`+${Date.now() - began} ms ${message}`);
        const run = await runEoScenario(new ProcessLauncher(), scenario, options(seed, join(workDir, scenario.name), { log }));
        log("nodes removed, ledger read");
        const verdict = checkRun(run, scenario.expectation);
        const { summary } = await writeReport(REPORT_DIR, run, verdict, {
          expectation: scenario.expectation,
          ...(built === undefined ? {} : { commit: built }),
          details: { requests, seed, workMs: 1, workers: run.workers.length },
        });
        log("report written");
        summaries.push(summary);
        console.log(`${describeRun(run, verdict, Date.now() - began)}\n  ${phases.join("\n  ")}`);
        // The violations themselves are the failure message.
        expect(verdict.violations).toEqual([]);
        expect(verdict.ok).toBe(true);
        expect(verdict.counts.ok).toBe(run.requests);
      },
      SCENARIO_TIMEOUT_MS,
    );
  });
});

describe("negative control: the same fault without the idempotency store", () => {
  test(
    "a worker paused mid-request and requeued executes its request twice, and the checker reports the duplicate",
    async () => {
      const scenario = eoScenario("paused-worker-late-reply");
      const began = Date.now();
      // Fewer requests suffice: the duplicate comes from the one requeued request, not from volume.
      const run = await runEoScenario(
        new ProcessLauncher(),
        scenario,
        // 20 ms of work instead of 1 makes "mid-request" most of a worker's time, so the freeze lands inside a request
        // at once; the control shows the checker catching the duplicate, not how short the work is.
        options(BASE_SEED, join(workDir, "control"), { idempotency: false, requests: Math.min(requests, 2_000), workMs: 20 }),
      );
      const verdict = checkRun(run, scenario.expectation);
      console.log(`control ${describeRun(run, verdict, Date.now() - began)}`);
      expect(verdict.ok).toBe(false);
      expect(verdict.counts.duplicated).toBeGreaterThan(0);
      // The duplicate is the very request the worker was frozen in: it ran there and again on the worker it was requeued to.
      const frozen = frozenRequest(run);
      expect(frozen.id).toBeDefined();
      expect(frozen.executions).toBeGreaterThanOrEqual(2);
      expect(verdict.violations.join("\n")).toMatch(/dup|twice|more than one/i);
    },
    SCENARIO_TIMEOUT_MS,
  );
});
