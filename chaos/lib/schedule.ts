import { setTimeout as sleep } from "node:timers/promises";
import type { Cluster } from "./cluster";
import { Random } from "./random";

export type Fault =
  | { kind: "kill"; slot: string }
  | { kind: "pause"; slot: string }
  | { kind: "unpause"; slot: string }
  | { kind: "restart"; slot: string };

export interface Step {
  /** Offset from the start of the client drive. */
  readonly atMs: number;
  readonly fault: Fault;
}

export interface Schedule {
  readonly name: string;
  readonly seed: number;
  readonly steps: readonly Step[];
}

export interface Applied {
  readonly step: Step;
  /** When it actually happened; a container start can push later steps back a little. */
  readonly atMs: number;
  /** The container incarnation the fault hit (or started). */
  readonly node: string;
  /** Client requests in flight at that moment. */
  readonly inFlight: number;
  readonly error?: string;
}

/** What the generators need to know about the cluster's timing. */
export interface ScheduleTiming {
  /** heartbeat × liveness: how long a silent worker is kept. Pauses must outlast it. */
  expiryMs: number;
}

const BROKER = "broker";

/** Two rounds of: kill -9 one worker while it works, start a new container for it a little later. */
export function killWorkers(seed: number, workers: readonly string[]): Schedule {
  const rng = new Random(seed);
  const steps: Step[] = [];
  let t = 1200 + rng.int(0, 800);
  for (let round = 0; round < 2; round++) {
    const victim = rng.pick(workers);
    steps.push({ atMs: t, fault: { kind: "kill", slot: victim } });
    steps.push({ atMs: t + rng.int(1500, 2500), fault: { kind: "restart", slot: victim } });
    t += 4000 + rng.int(0, 1000);
  }
  return { name: "kill-worker", seed, steps: sorted(steps) };
}

/**
 * Two rounds of: freeze one worker for two to three times the broker's expiry,
 * then thaw it. The broker must give its request to another worker, and the
 * thawed worker's late reply must not reach the client.
 */
export function pauseWorkers(seed: number, workers: readonly string[], timing: ScheduleTiming): Schedule {
  const rng = new Random(seed);
  const steps: Step[] = [];
  let t = 1200 + rng.int(0, 800);
  for (let round = 0; round < 2; round++) {
    const victim = rng.pick(workers);
    steps.push({ atMs: t, fault: { kind: "pause", slot: victim } });
    const thaw = t + rng.int(2 * timing.expiryMs, 3 * timing.expiryMs);
    steps.push({ atMs: thaw, fault: { kind: "unpause", slot: victim } });
    t += 3 * timing.expiryMs + 1500 + rng.int(0, 1000);
  }
  return { name: "pause-worker", seed, steps: sorted(steps) };
}

/** Two rounds of: kill -9 the broker with requests queued and in flight, bring a new one up on the same port. */
export function restartBroker(seed: number): Schedule {
  const rng = new Random(seed);
  const steps: Step[] = [];
  let t = 1500 + rng.int(0, 1000);
  for (let round = 0; round < 2; round++) {
    steps.push({ atMs: t, fault: { kind: "kill", slot: BROKER } });
    steps.push({ atMs: t + rng.int(1000, 2000), fault: { kind: "restart", slot: BROKER } });
    t += 6000 + rng.int(0, 1000);
  }
  return { name: "restart-broker", seed, steps: sorted(steps) };
}

/**
 * Two rounds of: freeze the broker for two to four times the workers' expiry.
 * Workers decide it is dead and reconnect on fresh sockets while it still
 * holds their registrations; clients time out and resend; on thawing, the
 * broker meets its own stale view of the world all at once.
 */
export function pauseBroker(seed: number, timing: ScheduleTiming): Schedule {
  const rng = new Random(seed);
  const steps: Step[] = [];
  let t = 1500 + rng.int(0, 1000);
  for (let round = 0; round < 2; round++) {
    const thaw = t + rng.int(2 * timing.expiryMs, 4 * timing.expiryMs);
    steps.push({ atMs: t, fault: { kind: "pause", slot: BROKER } });
    steps.push({ atMs: thaw, fault: { kind: "unpause", slot: BROKER } });
    t = thaw + 2500 + rng.int(0, 1000);
  }
  return { name: "pause-broker", seed, steps: sorted(steps) };
}

/**
 * Everything at once: one worker killed, another frozen, and the broker
 * killed while the first is dead and the second frozen; then each comes back.
 */
export function combined(seed: number, workers: readonly string[], timing: ScheduleTiming): Schedule {
  const rng = new Random(seed);
  const killed = rng.pick(workers);
  const frozen = rng.pick(workers.filter((w) => w !== killed));
  const t = 1500 + rng.int(0, 800);
  const pauseAt = t + rng.int(200, 600);
  const brokerAt = t + rng.int(800, 1200);
  const steps: Step[] = [
    { atMs: t, fault: { kind: "kill", slot: killed } },
    { atMs: pauseAt, fault: { kind: "pause", slot: frozen } },
    { atMs: brokerAt, fault: { kind: "kill", slot: BROKER } },
    { atMs: brokerAt + rng.int(1000, 2000), fault: { kind: "restart", slot: BROKER } },
    { atMs: pauseAt + rng.int(2 * timing.expiryMs, 3 * timing.expiryMs), fault: { kind: "unpause", slot: frozen } },
    { atMs: t + rng.int(2500, 3500), fault: { kind: "restart", slot: killed } },
  ];
  return { name: "combined", seed, steps: sorted(steps) };
}

function sorted(steps: Step[]): Step[] {
  return steps.sort((a, b) => a.atMs - b.atMs);
}

/** The schedule as one short string, e.g. "kill w2@1834 restart w2@3912". */
export function describeSchedule(schedule: Schedule): string {
  return schedule.steps.map((s) => `${s.fault.kind} ${s.fault.slot}@${s.atMs}`).join(" ");
}

/**
 * Applies the steps in order at their offsets from `t0`. Bounded: the list is
 * finite and each step gets at most `stepTimeoutMs`; a step that fails is
 * recorded (and fails the test) but does not stop the ones after it, so every
 * frozen container still gets thawed and every killed one restarted.
 */
export async function runSchedule(
  schedule: Schedule,
  cluster: Cluster,
  t0: number,
  inFlight: () => number,
  stepTimeoutMs = 30_000,
): Promise<Applied[]> {
  const applied: Applied[] = [];
  for (const step of schedule.steps) {
    const wait = t0 + step.atMs - Date.now();
    if (wait > 0) await sleep(wait);
    const atMs = Date.now() - t0;
    const pending = inFlight();
    try {
      const what = `${step.fault.kind} ${step.fault.slot}`;
      const node = await withTimeout(apply(cluster, step.fault), stepTimeoutMs, what);
      applied.push({ step, atMs, node, inFlight: pending });
    } catch (error) {
      applied.push({ step, atMs, node: step.fault.slot, inFlight: pending, error: (error as Error).message });
    }
  }
  return applied;
}

async function apply(cluster: Cluster, fault: Fault): Promise<string> {
  switch (fault.kind) {
    case "kill":
      return (await cluster.kill(fault.slot)).name;
    case "pause":
      return (await cluster.pause(fault.slot)).name;
    case "unpause":
      return (await cluster.unpause(fault.slot)).name;
    case "restart":
      return (await cluster.restart(fault.slot)).name;
  }
}

async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, limit]);
  } finally {
    clearTimeout(timer);
  }
}
