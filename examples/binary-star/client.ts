/**
 * The Binary Star failover client: sends a numbered request every
 * `--interval` ms to the active server and prints who answered, and every
 * timeout and failover as it happens.
 *
 *   node dist/examples/binary-star/client.js [--primary tcp://127.0.0.1:5001] [--backup tcp://127.0.0.1:5002]
 *        [--timeout 1000] [--settle 2000] [--interval 500] [--count 0 (forever)]
 */
import { BinaryStarClient, BinaryStarError } from "privateer";

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1]! : fallback;
}

function say(line: string): void {
  process.stdout.write(`${new Date().toISOString().slice(11, 23)} ${line}\n`);
}

async function main(): Promise<void> {
  const client = new BinaryStarClient([option("primary", "tcp://127.0.0.1:5001"), option("backup", "tcp://127.0.0.1:5002")], {
    timeout: Number(option("timeout", "1000")),
    settleDelay: Number(option("settle", "2000")),
    retries: 20,
  });
  client.events$.subscribe((event) => {
    if (event.type === "timeout") say(`client: no reply from the ${event.server} within ${client.timeout} ms`);
    if (event.type === "failover") say(`client: failing over to the ${event.to} in ${event.settleDelay} ms`);
  });
  let stopped = false;
  const stop = (): void => {
    stopped = true;
    void client.close();
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const count = Number(option("count", "0"));
  const interval = Number(option("interval", "500"));
  for (let sequence = 1; !stopped && (count === 0 || sequence <= count); sequence++) {
    const sentAt = Date.now();
    try {
      const [from, body] = (await client.call(String(sequence))).map(String);
      if (body !== String(sequence)) throw new Error(`malformed reply ${JSON.stringify(body)}`);
      say(`client: request ${sequence} answered by the ${from} in ${Date.now() - sentAt} ms`);
    } catch (error) {
      if (error instanceof BinaryStarError && error.reason === "closed") break;
      say(`client: request ${sequence} failed: ${String(error)}`);
      process.exitCode = 1;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
  await client.close();
}

void main();
