/**
 * Paranoid Pirate worker for the chaos suite; records each request it starts
 * exactly as the Majordomo worker does (see mdp-worker.ts for why before the work).
 */
import { join } from "node:path";
import { ParanoidPirateWorker } from "../../patterns/pirate";
import { exitOnTerm, record, recordingEcho, required, requiredNumber } from "./env";

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
  const echo = recordingEcho(name, effects, workMs);
  worker.serve(([frame]) => echo(frame?.toString() ?? ""));
  exitOnTerm(() => worker.close());
  console.log(`READY worker ${name} pid=${process.pid}`);
}

try {
  main();
} catch (error: unknown) {
  console.error("worker failed to start", error);
  process.exit(1);
}
