import { lastValueFrom } from "rxjs";
import { MajordomoBroker, MajordomoClient, MajordomoWorker } from "privateer";

async function main(): Promise<void> {
  const broker = new MajordomoBroker();
  await broker.bind("tcp://127.0.0.1:*"); // ephemeral port
  const endpoint = broker.lastEndpoint!;

  // A worker offers the service "echo"; the broker routes requests to it by name.
  const worker = new MajordomoWorker({ broker: endpoint, service: "echo" });
  worker.serve(({ body }) => body.map((frame) => `echo: ${frame}`));

  // The client retries on a fresh socket if no reply comes in time (Lazy Pirate).
  const client = new MajordomoClient({ broker: endpoint });
  const reply = await lastValueFrom(client.request("echo", "hello"));
  console.log(reply.toString()); // echo: hello

  await client.close();
  await worker.close();
  await broker.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
