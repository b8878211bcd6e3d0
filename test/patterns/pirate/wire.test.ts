import { filter, firstValueFrom, of, take, toArray } from "rxjs";
import { Dealer, Request, Router } from "../../../src";
import { ParanoidPirateQueue, ParanoidPirateWorker, type PirateQueueEvent } from "../../../patterns";
import { closeAll } from "../../helpers/endpoints";
import { advanceBy, virtualScheduler } from "../../helpers/clock";

const ANY = "tcp://127.0.0.1:*";
const hex = (frames: Buffer[]): string[] => frames.map((f) => f.toString("hex"));

function queueEvent<T extends PirateQueueEvent["type"]>(
  queue: ParanoidPirateQueue,
  type: T,
): Promise<Extract<PirateQueueEvent, { type: T }>> {
  return firstValueFrom(queue.events$.pipe(filter((e): e is Extract<PirateQueueEvent, { type: T }> => e.type === type)));
}

describe("Paranoid Pirate worker on the wire", () => {
  let fakeQueue: Router;
  let worker: ParanoidPirateWorker | undefined;

  beforeEach(async () => {
    fakeQueue = new Router();
    await fakeQueue.bind(ANY);
  });
  afterEach(() => {
    worker?.close();
    closeAll(fakeQueue);
  });

  it("opens with a one-frame READY (01), then sends one-frame HEARTBEATs (02)", async () => {
    const messages = firstValueFrom(fakeQueue.messages$.pipe(take(3), toArray()));
    worker = new ParanoidPirateWorker(fakeQueue.lastEndpoint!, { heartbeatInterval: 20, routingId: "w1" });
    worker.serve(() => "unused");
    const [ready, beat1, beat2] = await messages;
    expect(hex(ready!)).toEqual([Buffer.from("w1").toString("hex"), "01"]);
    expect(hex(beat1!)).toEqual([Buffer.from("w1").toString("hex"), "02"]);
    expect(hex(beat2!)).toEqual([Buffer.from("w1").toString("hex"), "02"]);
  });

  it("answers a request behind its whole address stack and nothing else", async () => {
    worker = new ParanoidPirateWorker(fakeQueue.lastEndpoint!, { heartbeatInterval: 1000, routingId: "w2" });
    const ready = firstValueFrom(fakeQueue.messages$);
    worker.serve(([body]) => [body!.toString().toUpperCase(), Buffer.from([0xff])]);
    await ready;
    const reply = firstValueFrom(fakeQueue.messages$.pipe(filter((m) => m.length > 2)));
    await fakeQueue.send(["w2", "hop1", "client", "", "hello"]);
    expect((await reply).map(String).slice(0, 5)).toEqual(["w2", "hop1", "client", "", "HELLO"]);
    expect(hex(await reply).slice(5)).toEqual(["ff"]);
  });

  it("takes the first value of an Observable handler as the one reply", async () => {
    worker = new ParanoidPirateWorker(fakeQueue.lastEndpoint!, { heartbeatInterval: 1000, routingId: "w3" });
    const ready = firstValueFrom(fakeQueue.messages$);
    worker.serve(([body]) => of(["first", body!], ["second", body!]));
    await ready;
    const replies = firstValueFrom(fakeQueue.messages$.pipe(filter((m) => m.length > 2), take(2), toArray()));
    await fakeQueue.send(["w3", "c", "", "one"]);
    await fakeQueue.send(["w3", "c", "", "two"]);
    expect((await replies).map((m) => m.map(String))).toEqual([
      ["w3", "c", "", "first", "one"],
      ["w3", "c", "", "first", "two"],
    ]);
  });

  it("detects a silent queue after `liveness` intervals and backs off, in virtual time", async () => {
    const scheduler = virtualScheduler();
    worker = new ParanoidPirateWorker(fakeQueue.lastEndpoint!, { heartbeatInterval: 1000, liveness: 3, scheduler });
    const seen: string[] = [];
    worker.events$.subscribe((e) => seen.push(`${scheduler.now()}:${e.type}${"delay" in e ? `=${e.delay}` : ""}`));
    worker.serve(() => "unused");
    advanceBy(scheduler, 4000);
    expect(seen).toEqual([
      "0:connecting",
      "0:ready-sent",
      "2000:heartbeat-missed",
      "3000:heartbeat-missed",
      "4000:queue-lost=1000",
    ]);
    expect(worker.connected).toBe(false);
    advanceBy(scheduler, 1000);
    expect(seen.slice(5)).toEqual(["5000:connecting", "5000:ready-sent"]);
  });
});

describe("Paranoid Pirate queue on the wire", () => {
  let queue: ParanoidPirateQueue;
  let fakeWorker: Dealer;
  let client: Request | undefined;

  afterEach(() => {
    queue.close();
    closeAll(fakeWorker, client);
  });

  it("heartbeats a READY worker with one-frame 02 messages and expires it after liveness silent intervals", async () => {
    const scheduler = virtualScheduler();
    queue = new ParanoidPirateQueue({ frontend: ANY, backend: ANY, heartbeatInterval: 1000, liveness: 3, scheduler });
    await queue.start();
    const timeline: string[] = [];
    queue.events$.subscribe((e) => timeline.push(`${scheduler.now()}:${e.type}`));
    fakeWorker = new Dealer({ routingId: "raw" });
    const ready = queueEvent(queue, "worker-ready");
    fakeWorker.connect(queue.backendEndpoint!);
    await fakeWorker.send(Buffer.from([0x01]));
    expect((await ready).worker).toBe(Buffer.from("raw").toString("hex"));

    const beats: string[][] = [];
    for (let i = 0; i < 3; i++) {
      const beat = fakeWorker.receive();
      advanceBy(scheduler, 1000);
      beats.push(hex(await beat));
    }
    expect(beats).toEqual([["02"], ["02"], ["02"]]);
    advanceBy(scheduler, 1000);
    expect(timeline).toEqual([
      "0:worker-ready",
      "2000:heartbeat-missed",
      "3000:heartbeat-missed",
      "4000:worker-expired",
    ]);
    expect(queue.workerCount).toBe(0);

    // An expired worker gets no more heartbeats and no requests: a request now waits.
    client = new Request();
    client.connect(queue.frontendEndpoint!);
    const queued = queueEvent(queue, "request-queued");
    await client.send("for nobody");
    await queued;
    advanceBy(scheduler, 1000);
    fakeWorker.receiveTimeout = 100;
    await expect(fakeWorker.receive()).rejects.toMatchObject({ code: "EAGAIN" });
  });

  it("passes a request to a worker as client-id, empty, body and the reply back to the client", async () => {
    queue = new ParanoidPirateQueue({ frontend: ANY, backend: ANY, heartbeatInterval: 5000 });
    await queue.start();
    fakeWorker = new Dealer();
    const ready = queueEvent(queue, "worker-ready");
    fakeWorker.connect(queue.backendEndpoint!);
    await fakeWorker.send(Buffer.from([0x01]));
    await ready;
    client = new Request({ routingId: "C" });
    client.connect(queue.frontendEndpoint!);
    await client.send("ping");
    const request = await fakeWorker.receive();
    expect(request.map(String)).toEqual(["C", "", "ping"]);
    await fakeWorker.send([request[0]!, request[1]!, "pong"]);
    expect((await client.receive()).map(String)).toEqual(["pong"]);
  });

  it("reports a one-frame message that is neither READY nor HEARTBEAT", async () => {
    queue = new ParanoidPirateQueue({ frontend: ANY, backend: ANY, heartbeatInterval: 5000 });
    await queue.start();
    fakeWorker = new Dealer();
    fakeWorker.connect(queue.backendEndpoint!);
    const error = queueEvent(queue, "protocol-error");
    await fakeWorker.send(Buffer.from([0x03]));
    expect(await error).toMatchObject({ side: "backend" });
    expect(queue.workerCount).toBe(0);
  });
});
