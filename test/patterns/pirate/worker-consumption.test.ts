import { filter, firstValueFrom, take, toArray } from "rxjs";
import { Router } from "../../../src";
import { ParanoidPirateWorker } from "../../../patterns";
import { closeAll } from "../../helpers/endpoints";

/*
 * How the Paranoid Pirate worker consumes its socket: messages$ through one
 * concatMap. Requests are answered one at a time, in arrival order, while
 * the queue's heartbeats are still taken in during a slow request; drain()
 * waits for the request in progress.
 */

const ANY = "tcp://127.0.0.1:*";

interface Deferred {
  readonly body: string;
  resolve(reply: string): void;
}

describe("Paranoid Pirate worker socket consumption", () => {
  let fakeQueue: Router;
  let worker: ParanoidPirateWorker | undefined;

  beforeEach(async () => {
    fakeQueue = new Router();
    await fakeQueue.bind(ANY);
  });
  afterEach(async () => {
    await worker?.close();
    closeAll(fakeQueue);
  });

  /** A worker whose handler answers only when the test says so; resolves once its READY arrived. */
  async function slowWorker(routingId: string, calls: Deferred[]): Promise<ParanoidPirateWorker> {
    const ready = firstValueFrom(fakeQueue.messages$);
    worker = new ParanoidPirateWorker(fakeQueue.lastEndpoint!, { heartbeatInterval: 50, routingId });
    worker.serve(([body]) => new Promise<string>((resolve) => calls.push({ body: String(body), resolve })));
    await ready;
    return worker;
  }

  it("answers requests one at a time, in arrival order, and keeps taking heartbeats during a slow one", async () => {
    const calls: Deferred[] = [];
    const slow = await slowWorker("w1", calls);
    const missed: number[] = [];
    slow.events$.subscribe((event) => event.type === "heartbeat-missed" && missed.push(event.remaining));
    const replies = firstValueFrom(fakeQueue.messages$.pipe(filter((m) => m.length > 2), take(2), toArray()));
    await fakeQueue.send(["w1", "c", "", "one"]);
    await fakeQueue.send(["w1", "c", "", "two"]);
    await until(() => calls.length === 1);
    // Several worker intervals with the first request running and the queue beating: the second waits its turn,
    // and the queue's beats keep the worker's liveness full.
    for (let beat = 0; beat < 6; beat++) {
      await fakeQueue.send(["w1", Buffer.from([0x02])]);
      await sleepTurn(25);
    }
    expect(calls.map((call) => call.body)).toEqual(["one"]);
    expect(missed).toEqual([]);
    calls[0]!.resolve("ONE");
    await until(() => calls.length === 2);
    expect(calls[1]!.body).toBe("two");
    calls[1]!.resolve("TWO");
    expect((await replies).map((m) => m.map(String).slice(1))).toEqual([
      ["c", "", "ONE"],
      ["c", "", "TWO"],
    ]);
  });

  it("drain() waits for the request in progress, sends its reply, and drops a request that comes meanwhile", async () => {
    const calls: Deferred[] = [];
    const slow = await slowWorker("w2", calls);
    const replies: string[][] = [];
    fakeQueue.messages$.pipe(filter((m) => m.length > 2)).subscribe((m) => replies.push(m.map(String).slice(1)));
    await fakeQueue.send(["w2", "c", "", "one"]);
    await until(() => calls.length === 1);
    let drained = false;
    const draining = slow.drain(undefined, 1000).then(() => (drained = true));
    await fakeQueue.send(["w2", "c", "", "two"]);
    await sleepTurn(50);
    expect(drained).toBe(false);
    calls[0]!.resolve("ONE");
    await draining;
    await until(() => replies.length === 1);
    expect(replies).toEqual([["c", "", "ONE"]]);
    expect(calls.map((call) => call.body)).toEqual(["one"]);
  });
});

/** Waits, a turn of the event loop at a time, until `condition` holds (at most 5 s). */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not reached within 5 s");
    await sleepTurn(5);
  }
}

function sleepTurn(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
