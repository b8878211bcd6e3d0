/**
 * The exactly-once chaos scenarios (issue 9), as data: each names its fault
 * schedule as a list of steps the runner (runner.ts) interprets, and what the
 * run must show beyond the common properties (EoExpectation). Faults are
 * placed by progress, not by the clock ("after 20% of the requests were
 * acknowledged"), so they land mid-flight on a fast machine and a slow one
 * alike; the seeded generator picks the victims and jitters the points, so a
 * seed names one exact schedule.
 */
import { Random } from "../random";
import type { EoExpectation, FaultKind } from "./types";

/**
 * Who a fault hits, resolved by the runner when the step runs:
 * `active-broker` is the broker whose last pair state is active,
 * `last-killed-broker` (`last-killed-client`) the broker (client) killed most recently, `last-paused` the
 * node paused most recently; otherwise a node name (`worker-2`, `client-1`).
 */
export type EoTarget =
  | "active-broker"
  | "last-killed-broker"
  | "last-killed-client"
  | "last-paused"
  | `worker-${number}`
  | `client-${number}`;

/** One step of a schedule. */
export type EoStep =
  /** Waits until this fraction of all the run's request ids were acknowledged (ok lines over all clients and incarnations). */
  | { readonly kind: "await-acks"; readonly fraction: number }
  /**
   * Waits for `count` new node event lines of `type` (counted from the
   * step's start, over every broker and worker). If they do not come within
   * `timeoutMs`, the schedule goes on: the scenario's evidence then fails the run.
   */
  | { readonly kind: "await-event"; readonly type: string; readonly count?: number; readonly timeoutMs: number }
  /** Waits this long (only where a duration is the point, e.g. a pause that must outlast an expiry). */
  | { readonly kind: "sleep"; readonly ms: number }
  /**
   * Applies a fault; `restart-broker` and `restart-client` start the node
   * again (a broker until it settled in the pair, a client as its next
   * incarnation). `kill-worker` and `pause-worker` hit the worker in the
   * middle of a request (row written, no reply yet).
   */
  | { readonly kind: "fault"; readonly fault: FaultKind; readonly target: EoTarget };

/** One scenario: a name, what it proves, and how to build its schedule from a seed. */
export interface EoScenario {
  readonly name: string;
  readonly description: string;
  readonly expectation: EoExpectation;
  /** The schedule for one seed (same seed, same steps). */
  schedule(random: Random, layout: EoLayout): readonly EoStep[];
}

/** What a schedule may pick its victims from. */
export interface EoLayout {
  readonly workers: number;
  readonly clients: number;
}

/** Bounds on the waits of the schedules, in ms: long enough for a loaded two-core machine. */
const EVENT_TIMEOUT_MS = 20_000;

/** A worker other than `spared` (those already hit by an earlier fault of the schedule). */
const worker = (random: Random, layout: EoLayout, spared: readonly string[] = []): EoTarget => {
  const candidates = Array.from({ length: layout.workers }, (_, i) => `worker-${i + 1}` as const).filter((name) => !spared.includes(name));
  return random.pick(candidates);
};
const client = (random: Random, layout: EoLayout): EoTarget => `client-${random.int(1, layout.clients)}`;
/** A progress point in [from, from + 0.1), so two seeds do not hit the very same moment. */
const around = (random: Random, from: number): EoStep => ({ kind: "await-acks", fraction: from + random.next() * 0.1 });

const killWorker = (random: Random, target: EoTarget, from: number): EoStep[] => [
  around(random, from),
  { kind: "fault", fault: "kill-worker", target },
  // The broker notices by heartbeat (or the dropped connection) and hands the dead worker's request to another.
  { kind: "await-event", type: "request-requeued", timeoutMs: EVENT_TIMEOUT_MS },
];

const killActiveBroker = (random: Random, from: number): EoStep[] => [
  around(random, from),
  { kind: "fault", fault: "kill-broker", target: "active-broker" },
  // The clients' retries vote on the other broker, which finds its peer dead and takes over.
  { kind: "await-event", type: "takeover", timeoutMs: EVENT_TIMEOUT_MS },
];

const pausedWorker = (random: Random, target: EoTarget, from: number): EoStep[] => [
  around(random, from),
  { kind: "fault", fault: "pause-worker", target },
  // Paused past its heartbeat expiry: the broker gives its request to another worker.
  { kind: "await-event", type: "request-requeued", timeoutMs: EVENT_TIMEOUT_MS },
  { kind: "sleep", ms: 300 + random.int(0, 400) },
  // Thawed, it finishes the request and replies late: that reply must not count twice.
  { kind: "fault", fault: "resume-worker", target: "last-paused" },
];

const killClient = (random: Random, layout: EoLayout, from: number): EoStep[] => [
  around(random, from),
  { kind: "fault", fault: "kill-client", target: client(random, layout) },
  { kind: "sleep", ms: 200 + random.int(0, 300) },
  // The next incarnation sends the whole id range again: the acknowledged ones must come back as replays.
  { kind: "fault", fault: "restart-client", target: "last-killed-client" },
];

/** Every scenario of the suite, in the order they run. */
export const EO_SCENARIOS: readonly EoScenario[] = [
  {
    name: "kill-worker",
    description: "kill -9 a worker mid-request; its request is requeued to another worker",
    expectation: { maxFailed: 0, evidence: { "request-requeued": 1 } },
    schedule: (random, layout) => killWorker(random, worker(random, layout), 0.2),
  },
  {
    name: "kill-active-broker",
    description: "kill -9 the active broker; the backup takes over and the clients' retries follow it",
    expectation: { maxFailed: 0, evidence: { takeover: 1 } },
    schedule: (random) => killActiveBroker(random, 0.2),
  },
  {
    name: "kill-both-brokers-in-turn",
    description: "kill -9 the active broker, restart it (it comes back passive), then kill -9 the one that took over",
    expectation: { maxFailed: 0, evidence: { takeover: 2 } },
    schedule: (random) => [
      ...killActiveBroker(random, 0.15),
      around(random, 0.35),
      // The runner waits until it settled (passive, having heard the active peer) before going on.
      { kind: "fault", fault: "restart-broker", target: "last-killed-broker" },
      around(random, 0.5),
      { kind: "fault", fault: "kill-broker", target: "active-broker" },
      { kind: "await-event", type: "takeover", timeoutMs: EVENT_TIMEOUT_MS },
    ],
  },
  {
    name: "zombie-broker",
    description: "pause the active broker past the pair's expiry, resume it after the backup took over: it must step down, not serve",
    expectation: { maxFailed: 0, evidence: { takeover: 1, "step-down": 1 } },
    schedule: (random) => [
      around(random, 0.2),
      { kind: "fault", fault: "pause-broker", target: "active-broker" },
      { kind: "await-event", type: "takeover", timeoutMs: EVENT_TIMEOUT_MS },
      // Let the new active broker serve a while before the zombie wakes up with its stale view.
      { kind: "sleep", ms: 500 + random.int(0, 500) },
      { kind: "fault", fault: "resume-broker", target: "last-paused" },
      { kind: "await-event", type: "step-down", timeoutMs: EVENT_TIMEOUT_MS },
    ],
  },
  {
    name: "paused-worker-late-reply",
    description: "pause a worker mid-request, resume it after its request was reassigned; its late reply must not count twice",
    expectation: { maxFailed: 0, evidence: { "request-requeued": 1 } },
    schedule: (random, layout) => pausedWorker(random, worker(random, layout), 0.2),
  },
  {
    name: "kill-client-restart",
    description: "kill -9 a client mid-run and restart it as incarnation 2 with the same ids",
    expectation: { maxFailed: 0, evidence: { replayed: 1 } },
    schedule: (random, layout) => killClient(random, layout, 0.3),
  },
  {
    name: "combined",
    description: "kill a worker, kill the active broker, pause a worker, kill and restart a client, in sequence",
    expectation: { maxFailed: 0, evidence: { "request-requeued": 2, takeover: 1, replayed: 1 } },
    schedule: (random, layout) => {
      const killed = worker(random, layout);
      return [
        ...killWorker(random, killed, 0.1),
        ...killActiveBroker(random, 0.25),
        ...pausedWorker(random, worker(random, layout, [killed]), 0.45),
        ...killClient(random, layout, 0.6),
      ];
    },
  },
];

/** The scenario of that name; throws on an unknown one. */
export function eoScenario(name: string): EoScenario {
  const found = EO_SCENARIOS.find((scenario) => scenario.name === name);
  if (!found) throw new Error(`no exactly-once scenario ${JSON.stringify(name)} (known: ${EO_SCENARIOS.map((s) => s.name).join(", ")})`);
  return found;
}
