/**
 * Majordomo under real process faults: a broker and three workers in
 * containers (host networking, 127.0.0.1 only), the test process as six
 * clients, and a seeded fault schedule per test. See docs/chaos.md.
 *
 * CHAOS_SEED replays the schedules, CHAOS_REQUESTS changes the request count,
 * CHAOS_KEEP=1 keeps each run's effects and container logs in the temp folder.
 */
import { MajordomoClient, MajordomoError } from "../patterns/majordomo";
import type { Timing } from "./lib/cluster";
import { describeChaos, standardSchedules } from "./lib/suite";

// Short heartbeats so a silent worker is given up after one second rather than
// the default 7.5, which keeps each scenario to a few seconds of faults.
const TIMING: Timing = {
  heartbeatMs: 250,
  liveness: 4,
  reconnectMs: 250,
  requestTimeoutMs: 20_000,
  // Six clients against three workers keep every worker busy, so a fault
  // almost always lands on a request in progress.
  workMs: 100,
};
// Longer than a worker's expiry plus a requeued request's turn, so a dead or
// frozen worker is recovered by the broker's requeue, not by a client retry;
// a broker restart does need retries, and five attempts outlast its outages.
const TIMEOUT_MS = 3000;
const RETRIES = 4;

describeChaos(
  "Majordomo under process faults (containers)",
  {
    name: "majordomo",
    scripts: { broker: "mdp-broker.js", worker: "mdp-worker.js" },
    timing: TIMING,
    concurrency: 6,
    clientGiveUpMs: TIMEOUT_MS * (RETRIES + 1),
    makeClient: (broker) => new MajordomoClient({ broker, timeout: TIMEOUT_MS, retries: RETRIES }),
    isTypedError: (error): error is MajordomoError => error instanceof MajordomoError,
    service: "chaos.echo",
  },
  standardSchedules(TIMING),
);
