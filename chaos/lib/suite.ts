import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { EvidenceName } from "./checker";
import { buildImage, PROJECT_DIR, type Cluster, type Timing } from "./cluster";
import { compileNodes, dockerAvailable } from "./build";
import type { DriveOptions, RequestClient } from "./driver";
import { expectationFor, type ClientBudget, type RecoveryTiming } from "./expectations";
import { reportEntry, runScenario, type ScenarioResult } from "./scenario";
import { combined, killWorkers, pauseBroker, pauseWorkers, restartBroker, type Schedule } from "./schedule";
import { DOCKER, recordMissingPeer } from "../../test/helpers/prerequisites";

/** CHAOS_SEED replays a run's schedules; each schedule gets seed + its index. */
export const SEED = Number(process.env.CHAOS_SEED ?? 20261126);
export const REQUESTS = Number(process.env.CHAOS_REQUESTS ?? 300);
export const WORKERS = ["w1", "w2", "w3"] as const;

export interface PatternUnderTest {
  /** "majordomo", "paranoid-pirate": the first word of each summary line. */
  name: string;
  scripts: { broker: string; worker: string };
  separateBackend?: boolean;
  timing: Timing;
  /** Clients running at once, each one request at a time. */
  concurrency: number;
  /** The client's timeout and retries, which makeClient must use: the failure bound is computed from them. */
  client: ClientBudget;
  /** The longest a worker waits between reconnection attempts (its backoff ceiling). */
  workerReconnectMaxMs: number;
  /**
   * Per schedule name, the recovery the scenario must show (minimum of each
   * evidence figure). Every standard schedule needs an entry.
   */
  recovery: Record<string, Partial<Record<EvidenceName, number>>>;
  makeClient: (endpoint: string) => RequestClient;
  isTypedError: DriveOptions["isTypedError"];
  /** The service workers register and clients ask for (Majordomo; Paranoid Pirate ignores it). */
  service: string;
}

/** The schedules every pattern faces, drawn from SEED. */
export function standardSchedules(timing: Timing): Schedule[] {
  const expiryMs = timing.heartbeatMs * timing.liveness;
  return [
    killWorkers(SEED, WORKERS),
    pauseWorkers(SEED + 1, WORKERS, { expiryMs }),
    restartBroker(SEED + 2),
    pauseBroker(SEED + 4, { expiryMs }),
    combined(SEED + 3, WORKERS, { expiryMs }),
  ];
}

const haveDocker = dockerAvailable();
const NO_ENGINE = "no Docker engine answers `docker info`; .ci/prereqs starts one (docs/chaos.md)";
// npm test lists this file's skip at the end, with the install command (test/helpers/prerequisites.ts).
if (!haveDocker) recordMissingPeer(DOCKER, "no Docker engine answers `docker info`");

function recoveryTiming(pattern: PatternUnderTest): RecoveryTiming {
  return {
    expiryMs: pattern.timing.heartbeatMs * pattern.timing.liveness,
    workerReconnectMaxMs: pattern.workerReconnectMaxMs,
  };
}

/** The client's own give-up time: timeout × attempts. */
function giveUpMs(client: ClientBudget): number {
  return client.timeoutMs * (client.retries + 1);
}

/** What a negative control replaces: the client, or the entry scripts (a broken broker). */
export interface Broken {
  makeClient?: PatternUnderTest["makeClient"];
  scripts?: PatternUnderTest["scripts"];
}

function runFor(
  pattern: PatternUnderTest,
  schedule: Schedule,
  clusters: Cluster[],
  overrides: Broken & { label?: string; requests?: number } = {},
): Promise<ScenarioResult> {
  const atLeast = pattern.recovery[schedule.name];
  if (!atLeast) throw new Error(`${pattern.name}: no recovery expectation for schedule ${schedule.name}`);
  return runScenario({
    label: overrides.label ?? `${pattern.name}/${schedule.name}`,
    schedule,
    timing: pattern.timing,
    workers: WORKERS,
    service: pattern.service,
    requests: overrides.requests ?? REQUESTS,
    concurrency: pattern.concurrency,
    clientGiveUpMs: giveUpMs(pattern.client),
    makeClient: overrides.makeClient ?? pattern.makeClient,
    isTypedError: pattern.isTypedError,
    scripts: overrides.scripts ?? pattern.scripts,
    ...(pattern.separateBackend ? { separateBackend: true } : {}),
    // Always from the pattern's declared client, so a broken client cannot lower its own bar.
    expectation: expectationFor(schedule, recoveryTiming(pattern), pattern.client, atLeast),
    clusters,
  });
}

/**
 * Writes the scenarios of one test file to chaos/build/reports/<pattern>.json.
 * Copy it to chaos/reports/ when docs/chaos.md quotes the run.
 */
function writeReport(pattern: PatternUnderTest, entries: Array<Record<string, unknown>>): void {
  if (entries.length === 0) return;
  const dir = join(PROJECT_DIR, "chaos", "build", "reports");
  mkdirSync(dir, { recursive: true });
  const report = {
    pattern: pattern.name,
    finishedAt: new Date().toISOString(),
    commit: gitDescribe(),
    node: process.version,
    seed: SEED,
    requests: REQUESTS,
    workers: WORKERS,
    concurrency: pattern.concurrency,
    timing: pattern.timing,
    client: pattern.client,
    scenarios: entries,
  };
  writeFileSync(join(dir, `${pattern.name}.json`), `${JSON.stringify(report, null, 2)}\n`);
}

/** The commit the run's code came from; "-dirty" when the working tree had uncommitted changes. */
function gitDescribe(): string {
  try {
    return execFileSync("git", ["describe", "--always", "--dirty"], { cwd: PROJECT_DIR, encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
}

/**
 * Declares one describe block: compile and image build once, then one test
 * per schedule, each with its own fresh containers. A developer without
 * Docker still gets a green `npm test` for everything else (the block is
 * skipped with a warning); CI (CI=true) never skips, so there a missing
 * engine fails in beforeAll.
 */
export function describeChaos(title: string, pattern: PatternUnderTest, schedules: Schedule[]): void {
  const suite = haveDocker || process.env.CI ? describe : describe.skip;
  if (!haveDocker && !process.env.CI) {
    console.warn(`${title}: skipped, no Docker engine answers (docs/chaos.md says how to start one)`);
  }

  suite(title, () => {
    const clusters: Cluster[] = [];
    const entries: Array<Record<string, unknown>> = [];

    beforeAll(async () => {
      if (!haveDocker) throw new Error(NO_ENGINE);
      compileNodes([pattern.scripts.broker, pattern.scripts.worker]);
      await buildImage();
    }, 240_000);

    afterAll(async () => {
      writeReport(pattern, entries);
      // Each scenario removes its own containers; this catches one cut short by a timeout.
      await Promise.all(clusters.map((cluster) => cluster.teardown()));
    }, 60_000);

    for (const schedule of schedules) {
      const shows = Object.keys(pattern.recovery[schedule.name] ?? {}).join(", ");
      it(`${schedule.name}: every request succeeds, none lost, doubled or hung; shows ${shows}`, async () => {
        const result = await runFor(pattern, schedule, clusters);
        console.log(result.summary);
        entries.push(reportEntry(`${pattern.name}/${schedule.name}`, result));

        expect(result.problems).toEqual([]);
        expect(result.verdict.attempted).toBe(REQUESTS);
        expect(result.verdict.acknowledged + result.verdict.failed).toBe(REQUESTS);
        // The run proves nothing if the first fault came after the work was done.
        expect(result.applied[0]!.inFlight).toBeGreaterThan(0);
      }, 120_000);
    }
  });
}

/** Requests per negative-control run: enough to outlast the first fault by several seconds, and cheap. */
const CONTROL_REQUESTS = 120;

/**
 * A negative control run for real: the pattern's scenario with a deliberately
 * broken client or broker, cut to the schedule's first round (its first fault
 * and its undoing) and {@link CONTROL_REQUESTS} requests to keep it cheap. The
 * suite's checks, with the expectation of the full scenario, must report every
 * problem matched by `mustReport`; if they do not, the checks have no teeth.
 */
export function describeNegativeControl(
  title: string,
  /** Names the control in the summary line and the report, e.g. "retries-0". */
  tag: string,
  pattern: PatternUnderTest,
  schedule: Schedule,
  broken: Broken,
  mustReport: RegExp[],
): void {
  const suite = haveDocker || process.env.CI ? describe : describe.skip;
  suite(title, () => {
    const clusters: Cluster[] = [];
    const entries: Array<Record<string, unknown>> = [];
    const label = `${pattern.name}/negative-control/${tag}/${schedule.name}`;
    const firstRound: Schedule = { ...schedule, steps: schedule.steps.slice(0, 2) };

    beforeAll(async () => {
      if (!haveDocker) throw new Error(NO_ENGINE);
      const scripts = broken.scripts ?? pattern.scripts;
      compileNodes([scripts.broker, scripts.worker]);
      await buildImage();
    }, 240_000);

    afterAll(async () => {
      writeReport({ ...pattern, name: `${pattern.name}-negative-control-${tag}` }, entries);
      await Promise.all(clusters.map((cluster) => cluster.teardown()));
    }, 60_000);

    it(`the checks fail it: ${mustReport.map((r) => r.source).join("; ")}`, async () => {
      const result = await runFor(pattern, firstRound, clusters, { ...broken, label, requests: CONTROL_REQUESTS });
      console.log(`${result.summary}\n    expected problems: ${result.problems.join("; ")}`);
      entries.push(reportEntry(label, result));
      for (const expected of mustReport) expect(result.problems.join("\n")).toMatch(expected);
    }, 120_000);
  });
}
