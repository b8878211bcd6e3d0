/**
 * A Majordomo broker for MDP 0.1 and 0.2 clients and workers.
 *
 *   node dist/examples/majordomo/broker.js [endpoint]     (default tcp://127.0.0.1:5555)
 */
import { MajordomoBroker } from "privateer";

async function main(): Promise<void> {
  const endpoint = process.argv[2] ?? "tcp://127.0.0.1:5555";
  // Shorter than the example client's 2.5 s timeout, so a request for a service nobody serves comes back
  // as a "service-unavailable" error instead of running out the client's retries.
  const broker = new MajordomoBroker({ requestTimeout: 2000 });
  broker.events$.subscribe((event) => console.log(JSON.stringify(event)));
  await broker.bind(endpoint);
  console.log(`broker listening on ${broker.lastEndpoint}`);
  const stop = (): void => {
    void broker.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
