/**
 * A Lazy Pirate client: sends numbered requests, checks each reply, and
 * survives lost requests and replies by retrying on a fresh socket.
 *
 *   node dist/examples/pirate/client.js [--server tcp://localhost:5555] [--count 10] [--timeout 2500] [--retries 3]
 */
import { LazyPirateClient, PirateError, type LazyPirateEvent } from "privateer";
import { option, say } from "./args";

async function main(): Promise<void> {
  const client = new LazyPirateClient(option("server", "tcp://localhost:5555"), {
    timeout: Number(option("timeout", "2500")),
    retries: Number(option("retries", "3")),
  });
  client.events$.subscribe((event: LazyPirateEvent) => {
    if (event.type === "retry" || event.type === "reconnect" || event.type === "gave-up") say(`client: ${event.type}`);
  });
  const count = Number(option("count", "10"));
  try {
    for (let sequence = 1; sequence <= count; sequence++) {
      const [reply] = await client.call(String(sequence));
      if (reply?.toString() !== String(sequence)) throw new Error(`malformed reply: ${String(reply)}`);
      say(`client: reply ${sequence} ok`);
    }
  } catch (error) {
    say(`client: ${error instanceof PirateError ? `${error.reason} (${error.code}): ${error.message}` : String(error)}`);
    process.exitCode = 1;
  } finally {
    await client.close();
  }
}

void main();
