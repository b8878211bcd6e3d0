/**
 * Port of libzmq tests/test_router_mandatory_hwm.cpp: a mandatory ROUTER
 * whose pipe to a known peer is full does not drop and does not report
 * EHOSTUNREACH: the send would block, so with sendTimeout 0 it fails with
 * EAGAIN, with a positive sendTimeout it fails with EAGAIN after exactly
 * that long (virtual time), and without one it waits until the peer reads.
 * Without mandatory the same full pipe silently drops.
 */
import { VirtualTimeScheduler } from "rxjs";
import { Dealer, Router } from "../../src";
import { closeAll, link, TRANSPORTS } from "../helpers/endpoints";
import { advanceTo, nextTurn, sendUntilStalled } from "./support";

const BIG = Buffer.alloc(64 * 1024);

describe.each(TRANSPORTS)("test_router_mandatory_hwm over %s", (transport) => {
  let router: Router | undefined;
  let dealer: Dealer | undefined;
  afterEach(() => closeAll(router, dealer));

  /** A mandatory ROUTER (sndhwm 1) and a DEALER "X" (rcvhwm 1) that has said hello. */
  async function connected(options: { mandatory: boolean; scheduler?: VirtualTimeScheduler }): Promise<[Router, Dealer]> {
    router = new Router({ sendHighWaterMark: 1, linger: 1, ...options });
    dealer = new Dealer({ routingId: "X", receiveHighWaterMark: 1 });
    await link(router, [dealer], transport);
    await dealer.send("Hello");
    expect((await router.receive()).map(String)).toEqual(["X", "Hello"]);
    return [router, dealer];
  }

  it("refuses with EAGAIN, not EHOSTUNREACH, once the pipe to a known peer is full", async () => {
    const [r] = await connected({ mandatory: true });
    const accepted = await sendUntilStalled(r, (i) => ["X", `${i}`, BIG]);
    if (transport === "inproc") {
      // sndhwm 1 + rcvhwm 1, nothing in between.
      expect(accepted).toBe(2);
    } else {
      // libzmq allows < 20 here ("kernel buffering could skew results"): a few 64 KiB messages fit in the socket buffers.
      expect(accepted).toBeGreaterThanOrEqual(2);
      expect(accepted).toBeLessThan(100);
    }
    // The refusal is about room, not about the peer.
    await expect(r.send(["X", "more"])).rejects.toMatchObject({ code: "EAGAIN" });
    await expect(r.send(["Y", "more"])).rejects.toMatchObject({ code: "EHOSTUNREACH" });
  });

  it("with a positive sendTimeout, fails with EAGAIN after exactly that long (virtual time)", async () => {
    const scheduler = new VirtualTimeScheduler();
    const [r] = await connected({ mandatory: true, scheduler });
    await sendUntilStalled(r, (i) => ["X", `${i}`, BIG]);

    r.sendTimeout = 250;
    let outcome: string | undefined;
    const sending = r.send(["X", "late"]).then(
      () => (outcome = "sent"),
      (error: { code: string }) => (outcome = error.code),
    );
    advanceTo(scheduler, scheduler.frame + 249);
    await nextTurn();
    expect(outcome).toBeUndefined();
    advanceTo(scheduler, scheduler.frame + 1);
    await sending;
    expect(outcome).toBe("EAGAIN");
  });

  it("without a timeout, waits until the peer reads, then delivers in order", async () => {
    const [r, d] = await connected({ mandatory: true });
    const accepted = await sendUntilStalled(r, (i) => ["X", `${i}`, BIG]);
    r.sendTimeout = -1;
    const waiting = r.send(["X", "last", BIG]);
    for (let i = 0; i < accepted; i++) expect((await d.receive())[0]!.toString()).toBe(`${i}`);
    expect((await d.receive())[0]!.toString()).toBe("last");
    await waiting;
  });

  it("without mandatory, a full pipe drops instead: every send resolves, the peer gets only what fitted", async () => {
    const [r, d] = await connected({ mandatory: false });
    r.sendTimeout = 0;
    // One synchronous burst: only the queue's one slot can take anything.
    const outcomes = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => r.send(["X", `${i}`, BIG])));
    expect(outcomes.every((o) => o.status === "fulfilled")).toBe(true);
    expect((await d.receive())[0]!.toString()).toBe("0");
    await r.send(["X", "after"]);
    // Messages 1 to 19 found the queue full and were dropped: "after" is next in line.
    expect((await d.receive())[0]!.toString()).toBe("after");
  });
});
