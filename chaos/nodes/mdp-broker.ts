/**
 * Majordomo broker for the chaos suite: binds 127.0.0.1:CHAOS_PORT (host
 * networking, so the test process and the worker containers reach it there)
 * and writes the events that matter for the checker as JSON lines.
 */
import { MajordomoBroker, type BrokerEvent } from "../../patterns/majordomo";
import { exitOnTerm, record, required, requiredNumber } from "./env";

// Routine traffic would drown the log; these are the events a fault provokes.
const INTERESTING = new Set<BrokerEvent["type"]>([
  "worker-ready",
  "worker-expired",
  "worker-disconnected",
  "request-requeued",
  "request-expired",
  "request-rejected",
  "request-abandoned",
  "protocol-error",
]);

async function main(): Promise<void> {
  const name = required("CHAOS_NAME");
  const broker = new MajordomoBroker({
    heartbeatInterval: requiredNumber("CHAOS_HEARTBEAT_MS"),
    heartbeatLiveness: requiredNumber("CHAOS_LIVENESS"),
    requestTimeout: requiredNumber("CHAOS_REQUEST_TIMEOUT_MS"),
    linger: 0,
  });
  broker.events$.subscribe((event) => {
    if (INTERESTING.has(event.type)) record({ node: name, ...event });
  });
  const endpoint = `tcp://127.0.0.1:${requiredNumber("CHAOS_PORT")}`;
  await broker.bind(endpoint);
  exitOnTerm(() => broker.close());
  // The wait strategy of the test process matches this line.
  console.log(`READY broker ${name} ${endpoint} pid=${process.pid}`);
}

main().catch((error: unknown) => {
  console.error("broker failed to start", error);
  process.exit(1);
});
