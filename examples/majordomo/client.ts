/**
 * Sends one request and prints every reply part.
 *
 *   node dist/examples/majordomo/client.js [endpoint] [service] [body...]
 *   node dist/examples/majordomo/client.js tcp://127.0.0.1:5555 echo 3
 */
import { isMmiService, MajordomoClient, MajordomoError } from "privateer";

const [endpoint = "tcp://127.0.0.1:5555", service = "echo", ...body] = process.argv.slice(2);
const client = new MajordomoClient({ broker: endpoint, timeout: 2500, retries: 2 });

async function main(): Promise<void> {
  // The broker answers mmi.* itself, so asking whether a worker serves one would only say "no".
  if (!isMmiService(service)) console.log(`${service} available: ${await client.serviceAvailable(service)}`);
  client.request(service, body.length > 0 ? body : ["hello"]).subscribe({
    next: (frames) => console.log("reply:", frames.map((frame) => frame.toString())),
    error: (error: unknown) => {
      const reason = error instanceof MajordomoError ? error.reason : "unknown";
      console.error(`request failed (${reason}):`, (error as Error).message);
      client.close();
      process.exitCode = 1;
    },
    complete: () => client.close(),
  });
}

main().catch((error: unknown) => {
  console.error(error);
  client.close();
  process.exitCode = 1;
});
