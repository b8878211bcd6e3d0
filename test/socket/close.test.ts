import { lastValueFrom, toArray, VirtualTimeScheduler } from "rxjs";
import { Pull, Push } from "../../src";
import { advanceTo, nextTurn } from "../helpers/clock";
import { bindAddress, closeAll, link, nextEvent, text, TRANSPORTS } from "../helpers/endpoints";
import { freeAddress } from "../helpers/free-address";
import { isPending, rejection } from "./support";

/** Timeouts, close(), linger and the ways of reading that end with the socket. */
describe.each(TRANSPORTS)("socket lifecycle over %s", (transport) => {
  let push: Push;
  let pull: Pull;

  beforeEach(() => {
    push = new Push();
    pull = new Pull();
  });
  afterEach(() => closeAll(push, pull));

  describe("timeouts", () => {
    it("rejects receive() with EAGAIN after receiveTimeout, in virtual time, and loses no message", async () => {
      const scheduler = new VirtualTimeScheduler();
      closeAll(pull);
      pull = new Pull({ scheduler, receiveTimeout: 100 });
      await link(pull, [push], transport);
      let outcome: string | undefined;
      const receiving = pull.receive().then(
        () => (outcome = "message"),
        (error: { code: string }) => (outcome = error.code),
      );
      advanceTo(scheduler, 99);
      await nextTurn();
      expect(outcome).toBeUndefined();
      advanceTo(scheduler, 100);
      await receiving;
      expect(outcome).toBe("EAGAIN");

      // The timed-out call took nothing: the next message goes to the next call.
      await push.send("after");
      expect(text(await pull.receive())).toEqual(["after"]);
    });

    it("rejects send() with EAGAIN after sendTimeout when every peer is full", async () => {
      const scheduler = new VirtualTimeScheduler();
      // The PULL never reads. Fill its queue, the OS buffers and our queue with
      // sendTimeout 0, until send has been refused for many turns in a row (a
      // single refusal may only mean the engine has not written yet).
      closeAll(push);
      push = new Push({ scheduler, sendHighWaterMark: 1, sendTimeout: 0 });
      pull.receiveHighWaterMark = 1;
      const connected = nextEvent(push, "handshake");
      await link(pull, [push], transport);
      await connected;
      const big = Buffer.alloc(64 * 1024);
      let accepted = 0;
      let refusedInARow = 0;
      while (refusedInARow < 50 && accepted < 10000) {
        if (await push.send(big).then(() => true, () => false)) {
          accepted++;
          refusedInARow = 0;
        } else {
          refusedInARow++;
        }
        await nextTurn();
      }
      expect(accepted).toBeLessThan(10000);

      push.sendTimeout = 250;
      let outcome: string | undefined;
      const sending = push.send("late").then(
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
  });

  describe("close()", () => {
    it("rejects a pending receive() with EAGAIN", async () => {
      await link(pull, [push], transport);
      const first = pull.receive();
      const second = pull.receive();
      pull.close();
      expect((await rejection(first)).code).toBe("EAGAIN");
      expect((await rejection(second)).code).toBe("EAGAIN");
    });

    it("rejects a waiting send() with EAGAIN", async () => {
      await push.bind(bindAddress(transport));
      const waiting = push.send("nobody");
      expect(await isPending(waiting)).toBe(true);
      push.close();
      expect((await rejection(waiting)).code).toBe("EAGAIN");
    });

    it("makes every later operation fail with EBADF", async () => {
      const address = await link(pull, [push], transport);
      push.close();
      pull.close();
      expect(push.closed).toBe(true);
      expect((await rejection(push.send("x"))).code).toBe("EBADF");
      expect((await rejection(pull.receive())).code).toBe("EBADF");
      expect((await rejection(pull.bind(bindAddress(transport)))).code).toBe("EBADF");
      expect((await rejection(pull.unbind(address))).code).toBe("EBADF");
      expect(() => push.connect(address)).toThrow(expect.objectContaining({ code: "EBADF" }));
      expect(() => push.disconnect(address)).toThrow(expect.objectContaining({ code: "EBADF" }));
      // Closing again is harmless.
      expect(() => pull.close()).not.toThrow();
    });

    it("ends a for-await loop without an error", async () => {
      await link(pull, [push], transport);
      await push.send("one");
      await push.send("two");
      const seen: string[] = [];
      const loop = (async () => {
        for await (const message of pull) {
          seen.push(text(message)[0]!);
          if (seen.length === 2) setImmediate(() => pull.close());
        }
        return "ended";
      })();
      await expect(loop).resolves.toBe("ended");
      expect(seen).toEqual(["one", "two"]);
    });

    it("completes messages$, which every subscriber shares", async () => {
      await link(pull, [push], transport);
      expect(pull.messages$).toBe(pull.messages$);
      const seen: string[][] = [[], []];
      const completed = seen.map(
        (log, index) =>
          new Promise<void>((resolve, reject) =>
            pull.messages$.subscribe({
              next: (message) => {
                log.push(text(message)[0]!);
                if (index === 0 && log.length === 3) setImmediate(() => pull.close());
              },
              error: reject,
              complete: resolve,
            }),
          ),
      );
      for (const m of ["1", "2", "3"]) await push.send(m);
      await Promise.all(completed);
      // Both subscribers saw every message, in order: shared, not split between them.
      expect(seen).toEqual([
        ["1", "2", "3"],
        ["1", "2", "3"],
      ]);
    });

    it("completes messages$ at once for a closed socket", async () => {
      pull.close();
      await expect(lastValueFrom(pull.messages$.pipe(toArray()))).resolves.toEqual([]);
    });
  });

  describe("linger", () => {
    it("with linger -1, delivers messages sent just before close()", async () => {
      await link(pull, [push], transport);
      expect(push.linger).toBe(-1);
      for (let i = 0; i < 200; i++) void push.send(["last words", String(i)]);
      push.close();
      for (let i = 0; i < 200; i++) expect(text(await pull.receive())).toEqual(["last words", String(i)]);
    });

    it("with linger -1, keeps trying until a peer that was not there yet takes the messages", async () => {
      const address = await freeAddress(transport);
      push.reconnectInterval = 10;
      push.connect(address);
      await push.send("queued before the peer existed");
      const closed = nextEvent(push, "close");
      push.close();
      await pull.bind(address);
      expect(text(await pull.receive())).toEqual(["queued before the peer existed"]);
      await closed;
    });

    it("with a positive linger, gives up on undeliverable messages and finishes closing", async () => {
      push.linger = 30;
      push.connect(await freeAddress(transport));
      await push.send("never delivered");
      const closed = nextEvent(push, "close", 2000);
      push.close();
      await closed;
    });

    it("with linger 0, drops queued messages", async () => {
      const address = await freeAddress(transport);
      const dropped = new Push({ linger: 0, reconnectInterval: 10 });
      try {
        dropped.connect(address);
        await dropped.send("dropped");
        dropped.close();
        await pull.bind(address);
        const handshake = nextEvent(pull, "handshake");
        push.connect(address);
        await handshake;
        await push.send("kept");
        expect(text(await pull.receive())).toEqual(["kept"]);
        pull.receiveTimeout = 0;
        expect((await rejection(pull.receive())).code).toBe("EAGAIN");
      } finally {
        closeAll(dropped);
      }
    });
  });
});
