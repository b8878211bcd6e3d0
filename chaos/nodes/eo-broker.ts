/**
 * One broker of the exactly-once suite's Binary Star Majordomo pair (issue 9).
 * Binds the clients' and workers' endpoint CHAOS_FRONTEND, publishes its pair
 * state on CHAOS_STATE_PUB and listens to its peer's on CHAOS_STATE_SUB.
 * After `READY`, it prints one JSON line (env.ts `record`) per event a fault
 * provokes, which the runner counts by `type` into the run's nodeEvents:
 *
 * - `pair-state` for every state change, plus `takeover` when this broker went
 *   from passive to active (its peer died and a client voted) and `step-down`
 *   when it left the active state;
 * - `split-brain`, `stalled` (a thawed broker fencing itself) and `peer-dead`;
 * - the broker's own `worker-expired`, `worker-disconnected`, `request-requeued`,
 *   `request-joined`, `reply-replayed` (answered from the reply cache),
 *   `request-dropped`, `request-expired`, `request-rejected`, `protocol-error`.
 */
import { MajordomoBroker, type BrokerEvent } from "../../patterns/majordomo";
import { exitOnTerm, record, required, requiredNumber } from "./env";

// Routine traffic (a dispatch and a reply per request) would drown the log; these are what faults cause.
const COUNTED = new Set<BrokerEvent["type"]>([
  "worker-expired",
  "worker-disconnected",
  "request-requeued",
  "request-joined",
  "reply-replayed",
  "request-dropped",
  "request-expired",
  "request-rejected",
  "protocol-error",
]);

function role(): "primary" | "backup" {
  const value = required("CHAOS_ROLE");
  if (value !== "primary" && value !== "backup") throw new Error(`chaos node: CHAOS_ROLE must be primary or backup (got ${value})`);
  return value;
}

async function main(): Promise<void> {
  const name = required("CHAOS_NAME");
  const broker = new MajordomoBroker({
    heartbeatInterval: requiredNumber("CHAOS_HEARTBEAT_MS"),
    heartbeatLiveness: requiredNumber("CHAOS_LIVENESS"),
    linger: 0,
    pair: {
      role: role(),
      statePublisher: required("CHAOS_STATE_PUB"),
      stateSubscriber: required("CHAOS_STATE_SUB"),
      heartbeat: requiredNumber("CHAOS_PAIR_HEARTBEAT_MS"),
    },
  });
  broker.events$.subscribe((event) => {
    if (COUNTED.has(event.type)) record({ node: name, ...event });
  });
  broker.pair?.events$.subscribe((event) => {
    switch (event.type) {
      case "state-changed":
        record({ node: name, type: "pair-state", from: event.from, to: event.to, cause: event.cause, term: event.term });
        if (event.to === "active" && event.from === "passive") record({ node: name, type: "takeover", term: event.term });
        if (event.from === "active") record({ node: name, type: "step-down", to: event.to, term: event.term });
        break;
      case "split-brain":
      case "stalled":
      case "peer-dead":
        record({ node: name, ...event });
        break;
      default:
        break;
    }
  });
  const endpoint = required("CHAOS_FRONTEND");
  await broker.bind(endpoint);
  exitOnTerm(() => broker.close());
  // The launchers wait for this line.
  console.log(`READY broker ${name} ${endpoint} pid=${process.pid}`);
}

main().catch((error: unknown) => {
  console.error("eo-broker failed to start", error);
  process.exit(1);
});
