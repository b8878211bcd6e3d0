/**
 * A client of the exactly-once suite (issue 9): one MajordomoAsyncClient on
 * both brokers of the pair, sending the ids `<CHAOS_NAME>-<n>` for n in
 * [0, CHAOS_COUNT) with CHAOS_IN_FLIGHT of them in flight, each with its id as
 * the request id on the wire and as the body. Every outcome goes to the JSON
 * lines file CHAOS_LOG (types.ts ClientLine): `sent` is appended before the
 * request is handed to the library, `ok` or `failed` when it settles, each
 * with appendFileSync so a SIGKILL loses at most the line being written.
 *
 * CHAOS_INCARNATION numbers the process: a restarted client is started with
 * the next number and sends the whole range again from the start, as an
 * application replaying its outbox after a crash would. Ids answered before
 * must come back from the broker's reply cache or the worker's store, not
 * from a second execution. Exits 0 once every id has settled.
 */
import { appendFileSync } from "node:fs";
import { MajordomoAsyncClient, MajordomoError, type MajordomoClientEvent } from "../../patterns/majordomo";
import type { ClientLine } from "../lib/exactly-once/types";
import { record, required, requiredNumber } from "./env";

async function main(): Promise<void> {
  const name = required("CHAOS_NAME");
  const incarnation = requiredNumber("CHAOS_INCARNATION");
  const count = requiredNumber("CHAOS_COUNT");
  const inFlight = requiredNumber("CHAOS_IN_FLIGHT");
  const service = required("CHAOS_SERVICE");
  const log = required("CHAOS_LOG");
  const client = new MajordomoAsyncClient({
    broker: required("CHAOS_BROKERS").split(","),
    timeout: requiredNumber("CHAOS_TIMEOUT_MS"),
    retries: requiredNumber("CHAOS_RETRIES"),
    maxInFlight: inFlight,
  });
  // One line per socket replacement, not per request: how often this client had to fail over.
  client.events$.subscribe((event: MajordomoClientEvent) => {
    if (event.type === "reconnected") record({ node: name, type: "client-reconnected", cause: event.cause });
  });
  const write = (line: ClientLine): void => appendFileSync(log, `${JSON.stringify(line)}\n`);
  console.log(`READY client ${name} incarnation=${incarnation} pid=${process.pid}`);

  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      const id = `${name}-${next++}`;
      write({ type: "sent", client: name, incarnation, id, at: Date.now() });
      try {
        const reply = await client.call(service, id, { id });
        write({ type: "ok", client: name, incarnation, id, at: Date.now(), reply: Buffer.concat(reply).toString() });
      } catch (error) {
        const code = error instanceof MajordomoError ? error.code : "untyped";
        const reason = error instanceof MajordomoError ? error.reason : String(error);
        write({ type: "failed", client: name, incarnation, id, at: Date.now(), code, reason });
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, () => lane()));
  await client.close();
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error("eo-client failed", error);
  process.exit(1);
});
