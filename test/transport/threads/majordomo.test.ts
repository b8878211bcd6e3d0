import * as path from "node:path";
import { Worker } from "node:worker_threads";
import { MajordomoAsyncClient, MajordomoBroker } from "../../../patterns";

/**
 * The patterns work across threads unchanged: a Majordomo broker and client
 * in this thread, workers in two worker threads, all over inproc.
 */
it("a broker in this thread spreads requests over workers in two worker threads, which then exit by themselves", async () => {
  const address = `inproc://majordomo-threads-${process.pid}`;
  const broker = new MajordomoBroker();
  await broker.bind(address);
  const workers = [0, 1].map(
    () => new Worker(path.join(__dirname, "peer.js"), { workerData: { fixture: "mdp-worker.fixture.ts", broker: address } }),
  );
  const exited = workers.map((worker) => new Promise<number>((resolve) => worker.once("exit", resolve)));
  const client = new MajordomoAsyncClient({ broker: address, timeout: 10_000, retries: 0 });
  try {
    await Promise.all(workers.map((worker) => new Promise((resolve) => worker.once("message", resolve))));
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => client.call("square", String(i))));
    replies.forEach(([square], i) => expect(square!.toString()).toBe(String(i * i)));
    // Both threads served: the broker reached each over inproc.
    const servedBy = new Set(replies.map(([, thread]) => thread!.toString()));
    expect(servedBy).toEqual(new Set(workers.map((worker) => String(worker.threadId))));
    for (const worker of workers) worker.postMessage("stop");
    expect(await Promise.all(exited)).toEqual([0, 0]);
  } finally {
    await client.close();
    await broker.close();
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}, 60_000);

it("a same-thread inproc connect reports connect and handshake to subscriptions made right after connect()", async () => {
  // The Majordomo client subscribes to its DEALER's events after connecting it; when the inproc join
  // ran inside connect(), these events were gone before anyone listened, and the client never sent.
  const { Dealer, Router } = await import("../../../src");
  const address = `inproc://events-after-connect-${process.pid}`;
  const router = new Router();
  await router.bind(address);
  const dealer = new Dealer();
  try {
    dealer.connect(address);
    const seen: string[] = [];
    const subscription = dealer.events$.subscribe((event) => seen.push(event.type));
    await dealer.send("hello");
    const [, body] = await router.receive();
    expect(body!.toString()).toBe("hello");
    subscription.unsubscribe();
    expect(seen).toEqual(expect.arrayContaining(["connect", "handshake"]));
  } finally {
    dealer.close();
    router.close();
  }
});
