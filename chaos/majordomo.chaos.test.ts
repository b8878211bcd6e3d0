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
import {
  describeChaos,
  describeNegativeControl,
  SEED,
  standardSchedules,
  WORKERS,
  type PatternUnderTest,
} from "./lib/suite";
import { killWorkers, restartBroker } from "./lib/schedule";

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
// a broker restart does need retries, and 4 × 3 s outlast its outages (the
// bound is computed per scenario: chaos/lib/expectations.ts).
const CLIENT = { timeoutMs: 3000, retries: 4 };

const MAJORDOMO: PatternUnderTest = {
  name: "majordomo",
  scripts: { broker: "mdp-broker.js", worker: "mdp-worker.js" },
  timing: TIMING,
  concurrency: 6,
  client: CLIENT,
  // MajordomoWorker reconnects at a fixed interval.
  workerReconnectMaxMs: TIMING.reconnectMs,
  recovery: {
    // The kill hit a request in progress, the broker requeued it, and another
    // worker executed it with no resend from its client.
    "kill-worker": { midRequestKills: 1, requeued: 1, reexecutedWithoutRetry: 1 },
    // The frozen worker's connection stays open: only heartbeat expiry finds it.
    "pause-worker": { workersExpired: 1, requeued: 1, reexecutedWithoutRetry: 1 },
    // The new broker knows nothing of the old one's requests: clients resend.
    "restart-broker": { retries: 1, ackedAfterRetry: 1 },
    // A freeze of at least 2 expiries: every worker gives the broker up and reconnects.
    "pause-broker": { workerReconnects: 1 },
    "combined": { midRequestKills: 1, retries: 1, ackedAfterRetry: 1 },
  },
  makeClient: (broker) => new MajordomoClient({ broker, timeout: CLIENT.timeoutMs, retries: CLIENT.retries }),
  isTypedError: (error): error is MajordomoError => error instanceof MajordomoError,
  service: "chaos.echo",
};

describeChaos("Majordomo under process faults (containers)", MAJORDOMO, standardSchedules(TIMING));

// Negative controls: deliberately broken variants, run for real, that the checks above must fail.
describeNegativeControl(
  "negative control: a client that never retries, under a broker restart",
  "retries-0",
  MAJORDOMO,
  restartBroker(SEED + 2),
  { makeClient: (broker) => new MajordomoClient({ broker, timeout: CLIENT.timeoutMs, retries: 0 }) },
  [/failed=[1-9]\d*, at most 0 allowed/, /recovery not shown: retries=0/],
);
describeNegativeControl(
  "negative control: a broker that drops every requeued request, under worker kills",
  "drops-requeued",
  MAJORDOMO,
  killWorkers(SEED, WORKERS),
  { scripts: { broker: "mdp-broker-drops-requeued.js", worker: "mdp-worker.js" } },
  [/recovery not shown: reexecutedWithoutRetry=0/],
);
