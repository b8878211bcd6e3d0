import { buildImage, type Cluster, type Timing } from "./cluster";
import { compileNodes, dockerAvailable } from "./build";
import type { DriveOptions, RequestClient } from "./driver";
import { runScenario } from "./scenario";
import { combined, killWorkers, pauseBroker, pauseWorkers, restartBroker, type Schedule } from "./schedule";

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
  /** The client's own give-up time, timeout × attempts. */
  clientGiveUpMs: number;
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

    beforeAll(async () => {
      if (!haveDocker) throw new Error("no Docker engine answers `docker info`; .ci/run starts one (docs/chaos.md)");
      compileNodes([pattern.scripts.broker, pattern.scripts.worker]);
      await buildImage();
    }, 240_000);

    afterAll(async () => {
      // Each scenario removes its own containers; this catches one cut short by a timeout.
      await Promise.all(clusters.map((cluster) => cluster.teardown()));
    }, 60_000);

    for (const schedule of schedules) {
      it(`${schedule.name}: nothing acknowledged is lost, no request gets two replies, none hangs`, async () => {
        const result = await runScenario({
          label: `${pattern.name}/${schedule.name}`,
          schedule,
          timing: pattern.timing,
          workers: WORKERS,
          service: pattern.service,
          requests: REQUESTS,
          concurrency: pattern.concurrency,
          clientGiveUpMs: pattern.clientGiveUpMs,
          makeClient: pattern.makeClient,
          isTypedError: pattern.isTypedError,
          scripts: pattern.scripts,
          ...(pattern.separateBackend ? { separateBackend: true } : {}),
          clusters,
        });
        console.log(result.summary);

        expect(result.problems).toEqual([]);
        expect(result.verdict.attempted).toBe(REQUESTS);
        expect(result.verdict.acknowledged + result.verdict.failed).toBe(REQUESTS);
        // The run proves nothing if the first fault came after the work was done.
        expect(result.applied[0]!.inFlight).toBeGreaterThan(0);
      }, 120_000);
    }
  });
}
