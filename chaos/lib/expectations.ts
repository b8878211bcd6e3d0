import type { EvidenceName, Expectation } from "./checker";
import type { Schedule } from "./schedule";

/** The client settings a scenario's failure bound is computed from. */
export interface ClientBudget {
  /** How long each attempt waits for its reply. */
  timeoutMs: number;
  /** Resends after the first attempt. */
  retries: number;
}

/** How long the system needs, after a fault is undone, before it answers again. */
export interface RecoveryTiming {
  /** heartbeat × liveness: how long a silent peer is kept (worker by broker, broker by worker). */
  expiryMs: number;
  /** The longest a worker waits between reconnection attempts. */
  workerReconnectMaxMs: number;
}

/**
 * Allowance for a broker restart: the schedule's restart step is when the new
 * container is asked for; it binds its port a moment later (about a second
 * on the 2-core CI machine, measured from the READY line). Generous on
 * purpose, since the bound it feeds must hold on a loaded machine.
 */
export const CONTAINER_START_MS = 3000;

/**
 * The longest time, in the schedule, during which no request can be answered
 * by the broker. Broker faults count from the kill or freeze to the restart
 * or thaw (plus the container start for a restart). A worker fault leaves the
 * other workers serving; the request the victim held waits at most one expiry
 * before the broker (or the client) gives up on it.
 */
export function longestOutageMs(schedule: Schedule, timing: RecoveryTiming): number {
  let longest = 0;
  const downSince = new Map<string, number>();
  for (const { atMs, fault } of schedule.steps) {
    if (fault.kind === "kill" || fault.kind === "pause") {
      downSince.set(fault.slot, atMs);
      if (fault.slot !== "broker") longest = Math.max(longest, timing.expiryMs);
    } else if (fault.slot === "broker") {
      const since = downSince.get(fault.slot) ?? atMs;
      const startup = fault.kind === "restart" ? CONTAINER_START_MS : 0;
      longest = Math.max(longest, atMs - since + startup);
      downSince.delete(fault.slot);
    }
  }
  return longest;
}

/**
 * Whether the client's retries outlast the schedule's faults, with the
 * arithmetic as a sentence. Worst case: the request went out just before the
 * outage, so its first attempt is wasted and only `retries × timeout` is left;
 * after the outage the workers need up to one expiry to notice a dead broker
 * and one reconnect interval to come back. A resend sent no earlier than that
 * is answered well within one timeout (100 ms of work, six clients on three
 * workers).
 */
export function retriesOutlast(
  schedule: Schedule,
  timing: RecoveryTiming,
  client: ClientBudget,
): { outlast: boolean; because: string } {
  const outage = longestOutageMs(schedule, timing);
  const needed = outage + timing.expiryMs + timing.workerReconnectMaxMs;
  const budget = client.retries * client.timeoutMs;
  const relation = budget > needed ? ">" : "<=";
  return {
    outlast: budget > needed,
    because:
      `retries ${client.retries} × timeout ${client.timeoutMs} ms = ${budget} ms ${relation} ` +
      `longest outage ${outage} ms + expiry ${timing.expiryMs} ms + ` +
      `worker reconnect ${timing.workerReconnectMaxMs} ms = ${needed} ms`,
  };
}

/**
 * The expectation for one scenario: failed must be 0 when the retries
 * outlast the faults; a scenario that deliberately outlasts them must say
 * how many failures it allows (`allowedIfOutlasted`), or this throws.
 */
export function expectationFor(
  schedule: Schedule,
  timing: RecoveryTiming,
  client: ClientBudget,
  atLeast: Partial<Record<EvidenceName, number>>,
  allowedIfOutlasted?: number,
): Expectation {
  const { outlast, because } = retriesOutlast(schedule, timing, client);
  if (outlast) return { maxFailed: 0, failedBecause: because, atLeast };
  if (allowedIfOutlasted === undefined) {
    throw new Error(`${schedule.name} outlasts the client's retries (${because}) but allows no failures`);
  }
  return { maxFailed: allowedIfOutlasted, failedBecause: `the faults outlast the retries: ${because}`, atLeast };
}
