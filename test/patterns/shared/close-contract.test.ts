import { MajordomoBroker, MajordomoWorker, type BrokerEvent } from "../../../patterns";

/*
 * The close contract every pattern component keeps (see
 * test/patterns/pirate/conventions.test.ts), here for the Majordomo broker,
 * which joined it later: close() returns one promise however often it is
 * called, and events$ ends with `close`, completing before that promise
 * settles.
 */

const ANY = "tcp://127.0.0.1:*";

describe("Majordomo broker close contract", () => {
  it("ends events$ with `close` after the engine's own last events, then settles close(); repeated calls share the promise", async () => {
    const broker = new MajordomoBroker({ linger: 0 });
    await broker.bind(ANY);
    const worker = new MajordomoWorker({ broker: broker.lastEndpoint!, service: "echo", heartbeatInterval: 50 });
    const events: BrokerEvent["type"][] = [];
    const order: string[] = [];
    const joined = new Promise<void>((resolve) =>
      broker.events$.subscribe({
        next: (event) => {
          events.push(event.type);
          if (event.type === "worker-ready") resolve();
        },
        complete: () => order.push("complete"),
      }),
    );
    // serve() returns the worker, as the Pirate workers' serve() does.
    expect(worker.serve(({ body }) => body)).toBe(worker);
    await joined;

    const closing = broker.close();
    expect(broker.close()).toBe(closing);
    await closing.then(() => order.push("resolved"));
    expect(order).toEqual(["complete", "resolved"]);
    // The engine still says goodbye to its worker first; `close` is last.
    expect(events.slice(-2)).toEqual(["worker-disconnected", "close"]);
    await worker.close();
  });

  it("a subscriber that comes after close() was called still sees `close`", async () => {
    const broker = new MajordomoBroker({ linger: 0 });
    await broker.bind(ANY);
    const closing = broker.close();
    const late: string[] = [];
    broker.events$.subscribe((event) => late.push(event.type));
    await closing;
    expect(late).toEqual(["close"]);
  });
});
