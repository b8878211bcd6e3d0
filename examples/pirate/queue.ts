/**
 * A Pirate queue. Paranoid (RFC 6, heartbeating) by default; `--simple` for
 * the heartbeat-less Simple Pirate queue of REQ workers.
 *
 *   node dist/examples/pirate/queue.js [--frontend tcp://*:5555] [--backend tcp://*:5556] [--interval 1000] [--simple]
 */
import { ParanoidPirateQueue, SimplePirateQueue, type PirateQueueEvent } from "privateer";
import { flag, onShutdown, option, say } from "./args";

async function main(): Promise<void> {
  const endpoints = { frontend: option("frontend", "tcp://*:5555"), backend: option("backend", "tcp://*:5556") };
  const queue = flag("simple")
    ? new SimplePirateQueue(endpoints)
    : new ParanoidPirateQueue({ ...endpoints, heartbeatInterval: Number(option("interval", "1000")) });
  queue.events$.subscribe((event: PirateQueueEvent) => {
    // Per-request chatter would drown the interesting lines.
    if (event.type !== "request-dispatched" && event.type !== "reply-forwarded") say(`queue: ${JSON.stringify(event)}`);
  });
  onShutdown(() => queue.close());
  await queue.start();
}

main().catch((error: unknown) => {
  process.stderr.write(`queue failed: ${String(error)}\n`);
  process.exitCode = 1;
});
