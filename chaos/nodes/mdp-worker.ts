/**
 * Majordomo worker for the chaos suite. Every request it starts is recorded
 * as an observed effect (one line appended to its own file in the bind-mounted
 * effects folder) before the simulated work begins, so a worker killed or
 * frozen mid-request leaves evidence that it executed something it never
 * answered. That is exactly the window in which at-least-once delivery
 * executes a request twice, and the checker must be able to see it.
 */
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { MajordomoWorker } from "../../patterns/majordomo";
import { exitOnTerm, record, required, requiredNumber } from "./env";

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
  let executions = 0;
  worker.serve(async ({ body }) => {
    const id = body[0]?.toString() ?? "";
    executions += 1;
    const seq = executions;
    // One write() per line with O_APPEND: a SIGKILL cannot leave half a line behind.
    appendFileSync(effects, `${id} ${name} ${seq}\n`);
    await sleep(workMs);
    return [id, name, String(seq)];
  });
  exitOnTerm(() => worker.close());
  console.log(`READY worker ${name} pid=${process.pid}`);
}

try {
  main();
} catch (error: unknown) {
  console.error("worker failed to start", error);
  process.exit(1);
}
