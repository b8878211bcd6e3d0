/**
 * Majordomo worker for the chaos suite. Every request it starts is recorded
 * as an observed effect (one line appended to its own file in the bind-mounted
 * effects folder) before the simulated work begins, so a worker killed or
 * frozen mid-request leaves evidence that it executed something it never
 * answered. That is exactly the window in which at-least-once delivery
 * executes a request twice, and the checker must be able to see it.
 */
import { join } from "node:path";
import { MajordomoWorker } from "../../patterns/majordomo";
import { exitOnTerm, record, recordingEcho, required, requiredNumber } from "./env";

function main(): void {
  const name = required("CHAOS_NAME");
  const effects = join(required("CHAOS_EFFECTS_DIR"), `${name}.effects`);
  const workMs = requiredNumber("CHAOS_WORK_MS");
  const worker = new MajordomoWorker({
    broker: required("CHAOS_BROKER"),
    service: required("CHAOS_SERVICE"),
    heartbeatInterval: requiredNumber("CHAOS_HEARTBEAT_MS"),
    heartbeatLiveness: requiredNumber("CHAOS_LIVENESS"),
    reconnectInterval: requiredNumber("CHAOS_RECONNECT_MS"),
  });
  worker.events$.subscribe((event) => {
    // "request"/"reply" happen hundreds of times; the rest are what faults cause.
    if (event.type !== "request" && event.type !== "reply" && event.type !== "ready") record({ node: name, ...event });
    if (event.type === "ready" && event.attempt > 1) record({ node: name, ...event });
  });
  const echo = recordingEcho(name, effects, workMs);
  worker.serve(({ body }) => echo(body[0]?.toString() ?? ""));
  exitOnTerm(() => worker.close());
  console.log(`READY worker ${name} pid=${process.pid}`);
}

try {
  main();
} catch (error: unknown) {
  console.error("worker failed to start", error);
  process.exit(1);
}
