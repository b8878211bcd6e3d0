import pino from "pino";
import { Lifecycle } from "../../../patterns/shared/lifecycle";

/*
 * The close contract the Pirate queues and workers and the Majordomo worker
 * share through Lifecycle: "closed" at once, `close` as the last event once
 * the sockets are released, both streams complete before close() settles,
 * and one promise for every call.
 */

type Event = { readonly type: "work" } | { readonly type: "close" };
type State = "new" | "running" | "closed";

describe("Lifecycle", () => {
  it("enters closed at once, ends events$ with close after release, completes both streams, then settles", async () => {
    const life = new Lifecycle<Event, State>("new", pino({ level: "silent" }));
    const seen: string[] = [];
    life.events$.subscribe({ next: (event) => seen.push(event.type), complete: () => seen.push("events complete") });
    life.state$.subscribe({ next: (state) => seen.push(state), complete: () => seen.push("state complete") });
    life.enter("running");
    life.emit({ type: "work" });

    let release!: () => void;
    const closing = life.close("closed", () => new Promise<void>((resolve) => (release = resolve)));
    expect(life.state).toBe("closed");
    expect(life.closed).toBe(closing);
    // A second call neither releases again nor gets another promise.
    expect(life.close("closed", () => Promise.reject(new Error("released twice")))).toBe(closing);
    await Promise.resolve();
    expect(seen).toEqual(["new", "running", "work", "closed"]);

    release();
    await closing.then(() => seen.push("resolved"));
    expect(seen).toEqual(["new", "running", "work", "closed", "close", "events complete", "state complete", "resolved"]);
  });
});
