/**
 * Port of libzmq tests/test_hwm_pubsub.cpp: a publisher whose subscriber
 * queue is full drops (never blocks), unless it is an XPUB with noDrop, which
 * then refuses with EAGAIN and loses nothing; the mark limits what is
 * queued, not what was ever sent; and a dropped multipart message is dropped
 * whole, so every message that arrives has all its frames.
 */
import { Subscriber, XPublisher } from "../../src";
import { closeAll, link, TRANSPORTS } from "../helpers/endpoints";
import { receiveN } from "./support";

describe.each(TRANSPORTS)("test_hwm_pubsub over %s", (transport) => {
  let pub: XPublisher | undefined;
  let sub: Subscriber | undefined;
  afterEach(() => closeAll(pub, sub));

  /** An XPUB bound, a SUB connected and subscribed to everything, the subscription seen by the XPUB. */
  async function subscribed(
    options: ConstructorParameters<typeof XPublisher>[0],
    receiveHighWaterMark = 1000,
  ): Promise<[XPublisher, Subscriber]> {
    const xpub = new XPublisher(options);
    pub = xpub;
    sub = new Subscriber({ receiveHighWaterMark });
    await link(xpub, [sub], transport);
    sub.subscribe();
    expect(await xpub.receive()).toEqual([Buffer.from([1])]);
    return [xpub, sub];
  }

  /**
   * Sends `count` messages in one synchronous run, as libzmq's DONTWAIT loop
   * does, so no transport can move any out of the queue in between; then an
   * "end" marker once the queue has room. Returns everything before the marker.
   */
  async function burstThenDrain(publisher: XPublisher, subscriber: Subscriber, count: number, frames: (i: number) => string[]) {
    const outcomes = await Promise.allSettled(Array.from({ length: count }, (_, i) => publisher.send(frames(i))));
    // An XPUB without noDrop (like a PUB, which shares its distributor) never refuses: a full subscriber just misses messages.
    expect(outcomes.every((o) => o.status === "fulfilled")).toBe(true);
    const got: string[][] = [];
    for (;;) {
      const message = (await subscriber.receive()).map((f) => f.toString());
      got.push(message);
      if (got.length === 1) await publisher.send(["end"]);
      if (message[0] === "end") return got.slice(0, -1);
    }
  }

  it("delivers exactly sendHighWaterMark messages of a larger burst (default large: 1000 of 1000)", async () => {
    const [xpub, subscriber] = await subscribed({ sendHighWaterMark: 1000 });
    const got = await burstThenDrain(xpub, subscriber, 1000, (i) => [`${i}`]);
    expect(got.map(([m]) => m)).toEqual(Array.from({ length: 1000 }, (_, i) => `${i}`));
  });

  it("delivers exactly sendHighWaterMark messages of a larger burst (small: 100 of 1000), the first ones", async () => {
    const [xpub, subscriber] = await subscribed({ sendHighWaterMark: 100 });
    const got = await burstThenDrain(xpub, subscriber, 1000, (i) => [`${i}`]);
    expect(got.map(([m]) => m)).toEqual(Array.from({ length: 100 }, (_, i) => `${i}`));
  });

  it("drops multipart messages whole at the mark: each arriving message has every frame", async () => {
    const [xpub, subscriber] = await subscribed({ sendHighWaterMark: 7 });
    const got = await burstThenDrain(xpub, subscriber, 50, (i) => [`${i}`, "b", "", "d"]);
    expect(got).toEqual(Array.from({ length: 7 }, (_, i) => [`${i}`, "b", "", "d"]));
  });

  it("XPUB noDrop blocks instead: EAGAIN with sendTimeout 0, and nothing sent is lost (test_blocking)", async () => {
    // Both marks small, so that over inproc (where they add up) 300 messages cannot all fit.
    const [xpub, subscriber] = await subscribed({ sendHighWaterMark: 20, noDrop: true }, 20);
    xpub.sendTimeout = 0;
    const total = 300;
    let sent = 0;
    let blocked = 0;
    let received = 0;
    while (sent < total) {
      const ok = await xpub.send(`${sent}`).then(
        () => true,
        (error: { code: string }) => {
          expect(error.code).toBe("EAGAIN");
          return false;
        },
      );
      if (ok) {
        sent++;
        continue;
      }
      blocked++;
      // Reading one message makes room somewhere along the path.
      expect((await subscriber.receive())[0]!.toString()).toBe(`${received}`);
      received++;
    }
    expect(blocked).toBeGreaterThan(0);
    // The queues are still full: this send waits until the reads below make room.
    xpub.sendTimeout = -1;
    const end = xpub.send("end");
    const rest = await receiveN(subscriber, total - received + 1);
    await end;
    expect(rest.map(([m]) => m)).toEqual([...Array.from({ length: total - received }, (_, i) => `${received + i}`), "end"]);
  });

  it("limits what is queued, not what was ever sent (test_reset_hwm)", async () => {
    const [xpub, subscriber] = await subscribed({ sendHighWaterMark: 50 });
    for (let round = 0; round < 3; round++) {
      const got = await burstThenDrain(xpub, subscriber, 50, (i) => [`${round}:${i}`]);
      expect(got.map(([m]) => m)).toEqual(Array.from({ length: 50 }, (_, i) => `${round}:${i}`));
    }
  });
});
