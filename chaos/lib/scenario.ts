import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  check,
  expectationViolations,
  readEffects,
  summaryLine,
  violations,
  type Evidence,
  type Expectation,
  type Verdict,
} from "./checker";
import { Cluster, freePorts, PROJECT_DIR, type Timing } from "./cluster";
import { drive, newHistory, pending, type DriveOptions, type History, type RequestClient } from "./driver";
import { describeSchedule, runSchedule, type Applied, type Schedule } from "./schedule";

/** Far beyond a healthy drive (about 15 s); keeps a stalled system within the test's timeout. */
const DRIVE_DEADLINE_MS = 60_000;

export interface ScenarioOptions {
  /** e.g. "majordomo/kill-worker"; names the summary line. */
  label: string;
  schedule: Schedule;
  timing: Timing;
  workers: readonly string[];
  service: string;
  requests: number;
  concurrency: number;
  /** The client's own give-up time (timeout × attempts); a request still open well after it counts as hung. */
  clientGiveUpMs: number;
  makeClient: (endpoint: string) => RequestClient;
  isTypedError: DriveOptions["isTypedError"];
  scripts?: { broker: string; worker: string };
  /** The broker needs a second port for workers (Paranoid Pirate's backend). */
  separateBackend?: boolean;
  /** What this scenario must show beyond the common properties: its failure bound and its recovery. */
  expectation: Expectation;
  /** Every cluster is registered here as soon as it exists, so afterAll can remove it even if the test timed out. */
  clusters: Cluster[];
}

export interface ScenarioResult {
  verdict: Verdict;
  problems: string[];
  applied: Applied[];
  summary: string;
  wallMs: number;
  /** Counts of the JSON event lines the broker containers wrote (requeues, expiries, ...). */
  brokerEvents: Record<string, number>;
  /** Of the workers killed, how many had started a request they had not answered. */
  midRequestKills: { hit: number; of: number };
  /** The recovery figures the expectation is checked against. */
  evidence: Evidence;
  expectation: Expectation;
  /** The schedule as planned (the applied faults are in `applied`). */
  schedule: Schedule;
  runDir: string;
}

/**
 * One scenario end to end: fresh broker and workers, the client drive and the
 * fault schedule at the same time, a drain, then the check. The containers are
 * always removed before this returns (or throws).
 */
export async function runScenario(options: ScenarioOptions): Promise<ScenarioResult> {
  const began = Date.now();
  const [port, backendPort] = await freePorts(options.separateBackend ? 2 : 1);
  const runDir = mkdtempSync(join(tmpdir(), `privateer-chaos-${options.label.replace(/\W+/g, "-")}-`));
  const cluster = new Cluster({
    runId: `${process.pid}-${began}`,
    runDir,
    port: port!,
    ...(backendPort ? { backendPort } : {}),
    service: options.service,
    timing: options.timing,
    ...(options.scripts ? { scripts: options.scripts } : {}),
  });
  options.clusters.push(cluster);
  const expiryMs = options.timing.heartbeatMs * options.timing.liveness;
  let history: History;
  let applied: Applied[];
  try {
    await cluster.startBroker();
    await Promise.all(options.workers.map((slot) => cluster.startWorker(slot)));

    history = newHistory();
    const t0 = Date.now();
    const driving = drive(
      {
        service: options.service,
        count: options.requests,
        concurrency: options.concurrency,
        makeClient: () => options.makeClient(cluster.endpoint),
        isTypedError: options.isTypedError,
        hangAfterMs: options.clientGiveUpMs + 5000,
        deadlineMs: DRIVE_DEADLINE_MS,
      },
      history,
    );
    const faults = runSchedule(options.schedule, cluster, t0, () => pending(history));
    [history, applied] = await Promise.all([driving, faults]);
    // A worker thawed or requeued near the end may still be executing; let it write its effect.
    await sleep(Math.max(2 * expiryMs, 1000));
  } finally {
    await cluster.teardown();
  }

  const effects = readEffects(cluster.effectsDir);
  const verdict = check(history, effects);
  const problems = violations(verdict);
  if (verdict.attempted < options.requests) {
    problems.push(`drive deadline reached: only ${verdict.attempted} of ${options.requests} requests were sent`);
  }
  for (const a of applied) {
    if (a.error) problems.push(`fault ${a.step.fault.kind} ${a.step.fault.slot} failed: ${a.error}`);
  }
  const brokerEvents = countEvents(cluster.logsDir, "broker.");
  const workerEvents = countEvents(cluster.logsDir, "w");
  const midRequestKills = killedMidRequest(applied, history, effects.effects);
  const evidence: Evidence = {
    retries: history.retries,
    ackedAfterRetry: verdict.ackedAfterRetry,
    requeued: brokerEvents["request-requeued"] ?? 0,
    reexecutedWithoutRetry: verdict.reexecutedWithoutRetry.length,
    workersExpired: brokerEvents["worker-expired"] ?? 0,
    workerReconnects: (workerEvents["broker-lost"] ?? 0) + (workerEvents["queue-lost"] ?? 0),
    midRequestKills: midRequestKills.hit,
  };
  problems.push(...expectationViolations(verdict, evidence, options.expectation));
  const wallMs = Date.now() - began;
  const summary = summaryLine(`${options.label} seed=${options.schedule.seed}`, verdict, {
    retries: history.retries,
    ackedAfterRetry: verdict.ackedAfterRetry,
    requeued: brokerEvents["request-requeued"] ?? 0,
    reexecNoRetry: verdict.reexecutedWithoutRetry.length,
    workersExpired: brokerEvents["worker-expired"] ?? 0,
    workerReconnects: evidence.workerReconnects,
    connLost: brokerEvents["worker-disconnected:connection-lost"] ?? 0,
    abandoned: brokerEvents["request-abandoned"] ?? 0,
    midRequestKills: `${midRequestKills.hit}/${midRequestKills.of}`,
    drive: `${((history.finishedAt - history.startedAt) / 1000).toFixed(1)}s`,
    wall: `${(wallMs / 1000).toFixed(1)}s`,
  });
  const result: ScenarioResult = {
    verdict,
    problems,
    applied,
    summary,
    wallMs,
    brokerEvents,
    midRequestKills,
    evidence,
    expectation: options.expectation,
    schedule: options.schedule,
    runDir,
  };
  record(result, options.schedule);
  if (problems.length === 0 && !process.env.CHAOS_KEEP) rmSync(runDir, { recursive: true, force: true });
  return result;
}

/** Tallies the `type` field (with its `reason`, when there is one) of the JSON lines in the matching container logs. */
function countEvents(logsDir: string, prefix: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const file of readdirSync(logsDir).filter((name) => name.startsWith(prefix))) {
    for (const line of readFileSync(join(logsDir, file), "utf8").split("\n")) {
      if (!line.startsWith("{")) continue;
      try {
        const { type, reason } = JSON.parse(line) as { type?: unknown; reason?: unknown };
        if (typeof type !== "string") continue;
        const key = typeof reason === "string" ? `${type}:${reason}` : type;
        counts[key] = (counts[key] ?? 0) + 1;
      } catch {
        // A line cut off by SIGKILL; the counts are informational.
      }
    }
  }
  return counts;
}

/**
 * A kill hit a request in progress when the victim's last recorded execution
 * never produced a reply the client saw. Evidence that the fault exercised the
 * requeue path rather than landing between requests.
 */
function killedMidRequest(
  applied: readonly Applied[],
  history: History,
  effects: ReadonlyArray<{ id: string; worker: string; seq: number }>,
): { hit: number; of: number } {
  const answered = new Set<string>();
  for (const record of history.requests.values()) for (const r of record.replies) answered.add(`${r.worker} ${r.seq}`);
  let hit = 0;
  let of = 0;
  for (const a of applied) {
    if (a.step.fault.kind !== "kill" || a.step.fault.slot === "broker" || a.error) continue;
    of += 1;
    const last = effects.filter((e) => e.worker === a.node).reduce((max, e) => Math.max(max, e.seq), 0);
    if (last > 0 && !answered.has(`${a.node} ${last}`)) hit += 1;
  }
  return { hit, of };
}

/**
 * One scenario as it goes into the JSON report (chaos/build/reports/, copied
 * to chaos/reports/ for the run docs/chaos.md quotes): everything needed to
 * compare two runs, nothing that names this machine's temp folders.
 */
export function reportEntry(label: string, result: ScenarioResult): Record<string, unknown> {
  const { verdict } = result;
  return {
    label,
    seed: result.schedule.seed,
    passed: result.problems.length === 0,
    problems: result.problems,
    summary: result.summary,
    counts: {
      attempted: verdict.attempted,
      acknowledged: verdict.acknowledged,
      failed: verdict.failed,
      failedBy: verdict.failedBy,
      hung: verdict.hung.length,
      lost: verdict.lost.length,
      duplicatedReplies: verdict.duplicatedReplies.length,
      misdelivered: verdict.misdelivered.length,
      unbackedReplies: verdict.unbackedReplies.length,
      unexpected: verdict.unexpected.length,
      untypedFailures: verdict.untypedFailures.length,
      recovered: verdict.recovered.length,
      executions: verdict.executions,
    },
    evidence: result.evidence,
    expectation: result.expectation,
    brokerEvents: result.brokerEvents,
    midRequestKills: result.midRequestKills,
    planned: describeSchedule(result.schedule),
    applied: result.applied.map((a) => ({
      fault: a.step.fault.kind,
      node: a.node,
      plannedMs: a.step.atMs,
      atMs: a.atMs,
      inFlight: a.inFlight,
      ...(a.error ? { error: a.error } : {}),
    })),
    wallMs: result.wallMs,
  };
}

/** Keeps the latest figures next to the build output, for docs/chaos.md and for comparing runs. */
function record(result: ScenarioResult, schedule: Schedule): void {
  const dir = join(PROJECT_DIR, "chaos", "build");
  mkdirSync(dir, { recursive: true });
  const faults = result.applied
    .map((a) => {
      const error = a.error ? ` ERROR ${a.error}` : "";
      return `${a.step.fault.kind} ${a.node}@${a.atMs}ms(inflight=${a.inFlight}${error})`;
    })
    .join(", ");
  appendFileSync(
    join(dir, "summaries.log"),
    `${new Date().toISOString()} ${result.summary}\n` +
      `    planned: ${describeSchedule(schedule)}\n` +
      `    applied: ${faults}\n` +
      `    broker events: ${JSON.stringify(result.brokerEvents)}` +
      (result.problems.length ? `\n    PROBLEMS: ${result.problems.join("; ")} (kept ${result.runDir})` : "") +
      "\n",
  );
}
