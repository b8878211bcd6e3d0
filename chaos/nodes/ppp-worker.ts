/**
 * Paranoid Pirate worker for the chaos suite; records each request it starts
 * exactly as the Majordomo worker does (see mdp-worker.ts for why before the work).
 */
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ParanoidPirateWorker } from "../../patterns/pirate";
import { exitOnTerm, record, required, requiredNumber } from "./env";

function main(): void {
  const name = required("CHAOS_NAME");
  const effects = join(required("CHAOS_EFFECTS_DIR"), `${name}.effects`);
  const workMs = requiredNumber("CHAOS_WORK_MS");
  const reconnectMs = requiredNumber("CHAOS_RECONNECT_MS");
  const worker = new ParanoidPirateWorker(required("CHAOS_BROKER"), {
    heartbeatInterval: requiredNumber("CHAOS_HEARTBEAT_MS"),
    liveness: requiredNumber("CHAOS_LIVENESS"),
    reconnectInterval: reconnectMs,
    // The default doubling up to 32 s would outlast a whole scenario.
    reconnectMaxInterval: reconnectMs * 8,
  });
  worker.events$.subscribe((event) => {
    if (event.type === "queue-lost" || event.type === "reconnected" || event.type === "protocol-error") {
      record({ node: name, ...event });
    }
  });
  let executions = 0;
  worker.serve(async ([frame]) => {
    const id = frame?.toString() ?? "";
    executions += 1;
    const seq = executions;
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
