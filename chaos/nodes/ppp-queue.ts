/**
 * Paranoid Pirate queue for the chaos suite: clients connect to
 * 127.0.0.1:CHAOS_PORT, workers to 127.0.0.1:CHAOS_BACKEND_PORT.
 */
import { ParanoidPirateQueue, type PirateQueueEvent } from "../../patterns/pirate";
import { exitOnTerm, record, required, requiredNumber } from "./env";

// worker-ready fires after every reply in this queue, so it is left out.
const INTERESTING = new Set<PirateQueueEvent["type"]>(["worker-expired", "request-dropped", "protocol-error"]);

async function main(): Promise<void> {
  const name = required("CHAOS_NAME");
  const queue = new ParanoidPirateQueue({
    frontend: `tcp://127.0.0.1:${requiredNumber("CHAOS_PORT")}`,
    backend: `tcp://127.0.0.1:${requiredNumber("CHAOS_BACKEND_PORT")}`,
    heartbeatInterval: requiredNumber("CHAOS_HEARTBEAT_MS"),
    liveness: requiredNumber("CHAOS_LIVENESS"),
  });
  queue.events$.subscribe((event) => {
    if (INTERESTING.has(event.type)) record({ node: name, ...event });
  });
  await queue.start();
  exitOnTerm(() => queue.close());
  console.log(`READY queue ${name} ${queue.frontendEndpoint} ${queue.backendEndpoint} pid=${process.pid}`);
}

main().catch((error: unknown) => {
  console.error("queue failed to start", error);
  process.exit(1);
});
