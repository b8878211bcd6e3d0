/**
 * A Pirate worker that echoes each request after a short pause. Paranoid by
 * default; `--simple` for a Simple Pirate (REQ) worker. `--crash-after N`
 * makes it exit abruptly after N requests, so you can watch the queue
 * expire it and the client retry.
 *
 *   node dist/examples/pirate/worker.js [--backend tcp://localhost:5556] [--interval 1000] [--crash-after N] [--simple]
 */
import { ParanoidPirateWorker, SimplePirateWorker, type PirateWorkerEvent } from "privateer";
import { flag, onShutdown, option, say } from "./args";

const endpoint = option("backend", "tcp://localhost:5556");
const crashAfter = Number(option("crash-after", "0"));
const name = `worker-${process.pid}`;
let served = 0;

const worker = flag("simple")
  ? new SimplePirateWorker(endpoint, { routingId: name })
  : new ParanoidPirateWorker(endpoint, { routingId: name, heartbeatInterval: Number(option("interval", "1000")) });

worker.events$.subscribe((event: PirateWorkerEvent) => {
  if (event.type !== "request" && event.type !== "reply-sent") say(`${name}: ${JSON.stringify(event)}`);
});
onShutdown(() => worker.close());

worker.serve(async (request) => {
  served += 1;
  if (crashAfter > 0 && served > crashAfter) {
    say(`${name}: simulating a crash`);
    process.exit(1);
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
  say(`${name}: served ${request.map(String).join(" | ")}`);
  return request;
});
