/**
 * The exactly-once chaos scenarios (issue 9) in Docker containers: every
 * broker, worker and client is a container of the chaos image (host
 * networking, 127.0.0.1 only), killed with `docker kill -s KILL`, frozen with
 * `docker pause` and thawed with `docker unpause` (DockerLauncher). Each
 * scenario runs a Binary Star pair of brokers, 4 workers and 2 clients with
 * 25 requests in flight each, 10,000 requests in all, applies its seeded fault
 * schedule mid-flight, and is judged by the checker. The workers keep the
 * SQLite store and its ledger on the run folder, bind-mounted read-write at
 * its own path; one more scenario runs with the PostgreSQL store, on a
 * throwaway server the test starts on 127.0.0.1.
 *
 * Every run writes its reports (JSON, Markdown, SVG per scenario and the
 * index exactly-once.md) to chaos/reports/exactly-once/, so the latest full
 * run is what gets committed (docs/chaos.md quotes it).
 *
 * CHAOS_REQUESTS lowers the request count for a quick local run (refused under
 * CI=true); CHAOS_SEED changes the schedules' base seed (scenario i uses
 * seed + i); CHAOS_KEEP=1 keeps the run folders (databases, client logs,
 * container logs); CHAOS_VERBOSE=1 prints the schedule's steps as they
 * run (they are printed after each scenario anyway). One scenario: add
 * `-t <name>`.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DOCKER, POSTGRES, describeIfPeer } from "../test/helpers/prerequisites";
import { startPostgres, type PostgresServer } from "../test/patterns/exactly-once/postgres-server";
import { compileNodes } from "./lib/build";
import { buildImage, PROJECT_DIR } from "./lib/cluster";
import { checkRun, frozenRequest } from "./lib/exactly-once/checker";
import { DockerLauncher } from "./lib/exactly-once/docker-launcher";
import { writeReport, writeSummary, type ScenarioSummary } from "./lib/exactly-once/report";
import { runEoScenario, type EoRunOptions } from "./lib/exactly-once/runner";
import { EO_SCENARIOS, eoScenario, type EoScenario } from "./lib/exactly-once/scenarios";
import type { EoVerdict, RunRecord } from "./lib/exactly-once/types";

/** The negative control's work per request, in ms: long enough that a frozen worker is almost always inside one. */
const CONTROL_WORK_MS = 20;
const FULL = 10_000;

/** Requests per scenario: 10,000, or fewer for a local quick run, never fewer in CI. */
function requestsPerScenario(): number {
  const asked = process.env.CHAOS_REQUESTS;
  if (asked === undefined || asked === "") return FULL;
  const value = Number(asked);
  if (!Number.isInteger(value) || value < 1) throw new Error(`CHAOS_REQUESTS must be a positive integer (got ${asked})`);
  if (value < FULL && process.env.CI) throw new Error(`CHAOS_REQUESTS=${value} is below ${FULL}: quick runs are for local use, never CI`);
  return value;
}

const BASE_SEED = process.env.CHAOS_SEED ? Number(process.env.CHAOS_SEED) : 20261206;
const REPORT_DIR = join(PROJECT_DIR, "chaos", "reports", "exactly-once");
/** The scenario that also runs with the PostgreSQL store: every kind of fault, in sequence. */
const POSTGRES_SCENARIO = "combined";
/** The scenario the negative control runs without the store: a late reply after a requeue, the classic duplicate. */
const NEGATIVE_CONTROL_SCENARIO = "paused-worker-late-reply";
const SCENARIO_TIMEOUT_MS = 240_000;

/** The commit the run's code came from; "-dirty" when the working tree had uncommitted changes. */
function commit(): string {
  try {
    return execFileSync("git", ["describe", "--always", "--dirty"], { cwd: PROJECT_DIR, encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
}

/**
 * The runner's progress lines with their offset from the scenario's start
 * (pair up, nodes ready, each fault, clients done), printed after the run so
 * the log shows where a scenario's time went; as they happen with CHAOS_VERBOSE=1.
 */
function phaseLog(began: number): { phases: string[]; log: (message: string) => void } {
  const phases: string[] = [];
  const log = (message: string): void => {
    const line = `+${Date.now() - began} ms ${message}`;
    phases.push(line);
    if (process.env.CHAOS_VERBOSE === "1") console.log(line);
  };
  return { phases, log };
}

/** One line per scenario for the log, with the figures docs/chaos.md quotes. */
function describeRun(run: RunRecord, verdict: EoVerdict, wallMs: number): string {
  const c = verdict.counts;
  const clientsMs = run.endedAt - run.startedAt;
  const faults = run.faults.map((f) => `${f.kind} ${f.target}${f.detail ? ` (${f.detail})` : ""}`).join("; ");
  return (
    `chaos exactly-once ${run.scenario} [${run.launcher}, ${run.store}] seed=${run.seed}: wall ${wallMs} ms, clients ${clientsMs} ms, ` +
    `${Math.round((c.ok / Math.max(1, clientsMs)) * 1000)} acks/s; sent=${c.sent} ok=${c.ok} failed=${c.failed} unknown=${c.unknown} ` +
    `executions=${c.executions} duplicated=${c.duplicated} lostAcked=${c.lostAcked} phantom=${c.phantom} wrongReply=${c.wrongReply} ` +
    `repliedTwice=${c.repliedTwice} hung=${run.hungClients.length}; gap ${verdict.longestGapMs} ms; ` +
    `recovery ${verdict.recoveryMs.map((r) => `${r.fault.kind}:${r.ms ?? "never"}`).join(" ")}; faults: ${faults}; ` +
    `events ${JSON.stringify(run.nodeEvents)}` +
    (verdict.violations.length > 0 ? `\n  violations:\n  ${verdict.violations.join("\n  ")}` : "")
  );
}

describeIfPeer(DOCKER)("exactly-once under container faults", () => {
  let requests = FULL;
  let workDir = "";
  let sha = "unknown";
  const summaries: ScenarioSummary[] = [];
  const launchers: DockerLauncher[] = [];

  beforeAll(async () => {
    requests = requestsPerScenario();
    sha = commit();
    workDir = mkdtempSync(join(tmpdir(), "privateer-eo-chaos-"));
    const { ms, diagnostics } = compileNodes(["eo-broker.js", "eo-worker.js", "eo-client.js"]);
    console.log(`compiled the chaos nodes in ${ms} ms${diagnostics ? `\n${diagnostics}` : ""}`);
    await buildImage();
  }, 240_000);

  afterAll(async () => {
    // Each run removes its containers; this catches one cut short by a timeout.
    await Promise.all(launchers.map((launcher) => launcher.removeAll().catch(() => undefined)));
    if (summaries.length > 0) writeSummary(REPORT_DIR, summaries);
    if (workDir && process.env.CHAOS_KEEP !== "1") rmSync(workDir, { recursive: true, force: true });
    else if (workDir) console.log(`run folders kept in ${workDir}`);
  }, 60_000);

  /** Runs one scenario in containers, writes its report, and asserts the checker's verdict. */
  async function runAndCheck(scenario: EoScenario, seed: number, extra: Pick<EoRunOptions, "store" | "pgUrl">): Promise<void> {
    const began = Date.now();
    const label = `${scenario.name}-${extra.store}`;
    const runDir = join(workDir, label);
    const launcher = new DockerLauncher({ runId: `eo-${process.pid}-${label}-${began}`, runDir });
    launchers.push(launcher);
    const { phases, log } = phaseLog(began);
    const run = await runEoScenario(launcher, scenario, { requests, seed, runDir, ...extra, log });
    log("nodes removed, ledger read");
    const verdict = checkRun(run, scenario.expectation);
    const wallMs = Date.now() - began;
    // The Postgres run writes its files under its own name, beside the SQLite run of the same scenario.
    const named: RunRecord = extra.store === "sqlite" ? run : { ...run, scenario: `${run.scenario}-postgres` };
    const { summary } = await writeReport(REPORT_DIR, named, verdict, {
      commit: sha,
      expectation: scenario.expectation,
      details: { requests, seed, wallMs, containers: launcher.started().length, workMs: 1, workers: run.workers.length },
    });
    log("report written");
    summaries.push(summary);
    console.log(`${describeRun(named, verdict, wallMs)}\n  ${phases.join("\n  ")}`);

    // The violations themselves are the failure message.
    expect(verdict.violations).toEqual([]);
    expect(verdict.ok).toBe(true);
    expect(run.launcher).toBe("container");
    // Every id answered: nothing failed, nothing left unknown, no client hung.
    expect(verdict.counts.ok).toBe(run.requests);
    expect(run.requests).toBeGreaterThanOrEqual(requests);
    // The schedule ran: the run proves nothing if no fault was applied.
    expect(run.faults.length).toBeGreaterThan(0);
  }

  describe("SQLite store on the bind-mounted run folder", () => {
    EO_SCENARIOS.forEach((scenario, index) => {
      it(
        `${scenario.name}: ${scenario.description}`,
        () => runAndCheck(scenario, BASE_SEED + index, { store: "sqlite" }),
        SCENARIO_TIMEOUT_MS,
      );
    });
  });

  describe("negative control: the same fault without the idempotency store", () => {
    it(
      "a worker frozen mid-request and requeued executes its request twice, and the checker reports the duplicate",
      async () => {
        const scenario = eoScenario(NEGATIVE_CONTROL_SCENARIO);
        const began = Date.now();
        const runDir = join(workDir, "negative-control");
        const launcher = new DockerLauncher({ runId: `eo-${process.pid}-negative-control-${began}`, runDir });
        launchers.push(launcher);
        // The duplicate comes from the one requeued request, not from volume: 2,000 requests are plenty.
        const control = Math.min(requests, 2_000);
        const seed = BASE_SEED + EO_SCENARIOS.indexOf(scenario);
        const { phases, log } = phaseLog(began);
        // 20 ms of work instead of 1 makes "mid-request" most of a worker's time, so the freeze lands inside a request
        // at once (with 1 ms and no store, 50 tries in CI3 all froze a worker between requests, and nothing was doubled).
        const run = await runEoScenario(launcher, scenario, { requests: control, seed, runDir, store: "sqlite", idempotency: false, workMs: CONTROL_WORK_MS, log });
        const verdict = checkRun(run, scenario.expectation);
        const named: RunRecord = { ...run, scenario: `negative-control-no-store-${run.scenario}` };
        // Its own files, left out of the index: the index lists the runs that must pass.
        await writeReport(REPORT_DIR, named, verdict, {
          commit: sha,
          expectation: scenario.expectation,
          details: { requests: control, seed, wallMs: Date.now() - began, idempotencyStore: false },
        });
        console.log(`${describeRun(named, verdict, Date.now() - began)}\n  ${phases.join("\n  ")}`);

        expect(verdict.ok).toBe(false);
        expect(verdict.counts.duplicated).toBeGreaterThan(0);
        // The duplicate is the very request the worker was frozen in: it ran there and again where it was requeued.
        const frozen = frozenRequest(run);
        expect(frozen.id).toBeDefined();
        expect(frozen.executions).toBeGreaterThanOrEqual(2);
        expect(verdict.violations.join("\n")).toMatch(/dup|twice|more than one/i);
      },
      SCENARIO_TIMEOUT_MS,
    );
  });

  describeIfPeer(POSTGRES)("PostgreSQL store (a throwaway server on 127.0.0.1)", () => {
    let server: PostgresServer | undefined;

    beforeAll(async () => {
      server = await startPostgres();
    }, 120_000);
    afterAll(() => server?.stop(), 60_000);

    const scenario = eoScenario(POSTGRES_SCENARIO);
    const index = EO_SCENARIOS.indexOf(scenario);
    it(
      `${scenario.name}: ${scenario.description}`,
      () =>
        runAndCheck(scenario, BASE_SEED + index, {
          store: "postgres",
          // The workers run with host networking, so the server's 127.0.0.1 is theirs too.
          pgUrl: `postgres://${server!.user}@${server!.host}:${server!.port}/postgres`,
        }),
      SCENARIO_TIMEOUT_MS,
    );
  });
});
