import { Observable } from "rxjs";
import { componentLogger } from "../../../src";
import { RequestCore, type CoreJob, type RequestCarrier } from "../../../patterns/shared/request-core";
import { advanceBy, virtualScheduler } from "../../helpers/clock";

type Event = { readonly type: string; readonly request?: number };

/**
 * A carrier that sends nothing: it records each transmission as
 * "transport:request" and each drop, so a test reads which socket every
 * attempt went out on. Replies are given by hand with {@link reply}.
 */
class FakeCarrier implements RequestCarrier<CoreJob, Error> {
  readonly sent: string[] = [];
  drops = 0;
  delay: number | undefined = undefined;
  ids = false;
  readonly core: RequestCore<CoreJob, Event, Error>;

  constructor(
    readonly scheduler = virtualScheduler(),
    maxInFlight = 1,
  ) {
    this.core = new RequestCore({ scheduler, logger: componentLogger("request-core-test"), maxInFlight });
    this.core.attach(this);
  }

  request(lane = "", timeout = 1000, retries = 0): Observable<Buffer[]> {
    return new Observable<Buffer[]>((subscriber) => {
      const id = this.core.nextId();
      return this.core.submit(
        { id, key: id, lane, subscriber, timeout, retries, attempts: 0, active: false, done: false, sentOn: 0, release: () => undefined },
        undefined,
      );
    });
  }

  reply(id: number, text: string): void {
    const job = this.core.inFlight.get(id)!;
    this.core.settle(job, undefined, [Buffer.from(text)]);
  }

  transmit(job: CoreJob): void {
    this.sent.push(`${this.core.transport}:${job.id}`);
  }
  drop(): void {
    this.drops += 1;
  }
  pipelining(): boolean {
    return this.ids;
  }
  idsMatched(): boolean {
    return this.ids;
  }
  timedOut(job: CoreJob): void {
    this.core.emit({ type: "timeout", request: job.id });
  }
  gaveUp(job: CoreJob): Error {
    this.core.emit({ type: "gave-up", request: job.id });
    return new Error(`gave up on ${job.id}`);
  }
  retry(job: CoreJob): number | undefined {
    this.core.emit({ type: "retry", request: job.id });
    return this.delay;
  }
  abandoned(job: CoreJob): void {
    this.core.emit({ type: "abandoned", request: job.id });
  }
  aborted(job: CoreJob): Error {
    return new Error(`aborted ${job.id}`);
  }
  closedError(): Error {
    return new Error("closed");
  }
}

describe("RequestCore (the engine of every request/reply client)", () => {
  it("serves one lane one request at a time, in call order", () => {
    const carrier = new FakeCarrier();
    const replies: string[] = [];
    for (const name of ["a", "b", "c"]) carrier.request().subscribe((frames) => replies.push(`${name}:${String(frames[0])}`));
    expect(carrier.sent).toEqual(["0:1"]);
    carrier.reply(1, "one");
    carrier.reply(2, "two");
    expect(carrier.sent).toEqual(["0:1", "0:2", "0:3"]);
    carrier.reply(3, "three");
    expect(replies).toEqual(["a:one", "b:two", "c:three"]);
  });

  it("after a timeout, drops the transport and resends every request in flight on the fresh one, in the order first sent", () => {
    const carrier = new FakeCarrier(virtualScheduler(), 10);
    carrier.ids = true;
    carrier.request("x", 1000, 1).subscribe();
    carrier.request("y", 5000, 1).subscribe();
    carrier.request("x", 5000, 1).subscribe();
    expect(carrier.sent).toEqual(["0:1", "0:2", "0:3"]);
    advanceBy(carrier.scheduler, 1000);
    expect(carrier.drops).toBe(1);
    expect(carrier.sent.slice(3)).toEqual(["1:1", "1:2", "1:3"]);
    expect(carrier.core.inFlight.get(1)!.attempts).toBe(2);
    // Only the request that timed out counts an attempt; the others were resent, not retried.
    expect(carrier.core.inFlight.get(2)!.attempts).toBe(1);
  });

  it("pipelines up to maxInFlight over all lanes; the rest wait in call order", () => {
    const carrier = new FakeCarrier(virtualScheduler(), 2);
    carrier.ids = true;
    for (let i = 0; i < 4; i++) carrier.request(i % 2 === 0 ? "x" : "y").subscribe();
    expect(carrier.sent).toEqual(["0:1", "0:2"]);
    carrier.reply(2, "done");
    expect(carrier.sent).toEqual(["0:1", "0:2", "0:3"]);
  });

  it("drops the transport before the subscriber hears it gave up, so a request made from that error callback goes out once, on the fresh transport", () => {
    // The guarantee REQ needs: its socket is wedged after a timeout. A core that resent every in-flight request
    // after the error callback, without noting where each was already sent, would send request 2 twice.
    const carrier = new FakeCarrier();
    const events: string[] = [];
    carrier.core.events$.subscribe((e) => events.push(`${e.type}:${e.request ?? "-"}`));
    carrier.request("", 1000, 0).subscribe({
      error: () => {
        events.push(`error seen with ${carrier.drops} drop(s)`);
        carrier.request().subscribe();
      },
    });
    advanceBy(carrier.scheduler, 1000);
    expect(events).toEqual(["timeout:1", "gave-up:1", "error seen with 1 drop(s)"]);
    expect(carrier.sent).toEqual(["0:1", "1:2"]);
  });

  it("waits the delay the carrier asks for before a resend, and an unsubscribe during it cancels the resend", () => {
    const carrier = new FakeCarrier();
    carrier.delay = 500;
    const first = carrier.request("", 1000, 3).subscribe();
    advanceBy(carrier.scheduler, 1000);
    expect(carrier.sent).toEqual(["0:1"]);
    advanceBy(carrier.scheduler, 500);
    expect(carrier.sent).toEqual(["0:1", "1:1"]);
    advanceBy(carrier.scheduler, 1000);
    first.unsubscribe();
    advanceBy(carrier.scheduler, 10000);
    expect(carrier.sent).toEqual(["0:1", "1:1"]);
    // Without ids the abandoned request's transport goes too: a late reply must not reach the next request.
    expect(carrier.drops).toBe(3);
  });

  it("close fails what is pending, drops the transport, then reports close and completes", async () => {
    const carrier = new FakeCarrier();
    const errors: string[] = [];
    carrier.request().subscribe({ error: (e: Error) => errors.push(e.message) });
    carrier.request().subscribe({ error: (e: Error) => errors.push(e.message) });
    const events: string[] = [];
    carrier.core.events$.subscribe({ next: (e) => events.push(e.type), complete: () => events.push("complete") });
    await carrier.core.close();
    expect(errors).toEqual(["closed", "closed"]);
    expect(carrier.drops).toBe(1);
    expect(events).toEqual(["close", "complete"]);
    expect(carrier.core.closed).toBe(true);
  });
});
