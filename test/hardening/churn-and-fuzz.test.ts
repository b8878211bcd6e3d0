import * as v8 from "node:v8";
import * as vm from "node:vm";
import fc from "fast-check";
import { BehaviorSubject, filter, firstValueFrom, timeout } from "rxjs";
import { Dealer, Router } from "../../src";
import { closeAll, link, text } from "../helpers/endpoints";
import { RawPeer, zmtp } from "../helpers/raw-zmtp-peer";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

/**
 * Every accepted connection must end in exactly one of `handshake:error`
 * (it never completed) or `disconnect` (it did): counting both against
 * `accept` shows the socket tore every one of them down.
 */
function tally(router: Router): { settled: (count?: number) => Promise<void>; accepted: () => number } {
  const accepted = new BehaviorSubject(0);
  const ended = new BehaviorSubject(0);
  router.events$.subscribe((event) => {
    if (event.type === "accept") accepted.next(accepted.value + 1);
    if (event.type === "handshake:error" || event.type === "disconnect") ended.next(ended.value + 1);
  });
  return {
    accepted: () => accepted.value,
    /** Waits until `count` connections (default: all accepted so far) were accepted and have ended. */
    settled: async (count = accepted.value) => {
      await firstValueFrom(accepted.pipe(filter((n) => n >= count), timeout(15000)));
      await firstValueFrom(ended.pipe(filter((n) => n >= count), timeout(15000)));
    },
  };
}

async function drainUntilGood(router: Router, good: Dealer): Promise<void> {
  await good.send("still here");
  // Fuzzed sessions can be valid enough to deliver messages; skip those.
  for (;;) {
    const [id, ...body] = await router.receive();
    if (id!.toString() === "good") {
      expect(text(body)).toEqual(["still here"]);
      return;
    }
  }
}

describe("connection churn and fuzzing", () => {
  let router: Router;
  let good: Dealer;

  beforeEach(async () => {
    // The test's clients share the router's event loop, so bursts of connects outrun accept():
    // a backlog this size keeps the kernel from dropping SYNs (which would cost 1 s retries).
    router = new Router({ handshakeInterval: 1000, maxMessageSize: 65536, backlog: 4096 });
    good = new Dealer({ routingId: "good" });
    await link(router, [good], "tcp");
  });

  afterEach(() => closeAll(router, good));

  it("survives thousands of connections opened and dropped, without growing", async () => {
    const counts = tally(router);
    const churn = async (rounds: number) => {
      for (let i = 0; i < rounds; i++) {
        const batch = await Promise.all(Array.from({ length: 50 }, () => RawPeer.connect(router.lastEndpoint!)));
        batch.forEach((peer, n) => {
          // Some leave mid-greeting, some after a full handshake, some at once.
          if (n % 3 === 1) peer.write(zmtp.greeting().subarray(0, 20));
          if (n % 3 === 2) peer.write(zmtp.greeting(), zmtp.ready({ "Socket-Type": "DEALER", Identity: "" }));
          peer.destroy();
        });
      }
    };
    await churn(10);
    await counts.settled(500);
    gc();
    const before = process.memoryUsage().heapUsed;
    await churn(40); // 2,000 more connections
    await counts.settled(2500);
    gc();
    const growth = process.memoryUsage().heapUsed - before;
    expect(counts.accepted()).toBe(2500);
    // A leak of even 1 KiB per connection would show as 2 MB.
    expect(growth).toBeLessThan(2 * 1024 * 1024);
    await drainUntilGood(router, good);
  }, 60000);

  it("survives random and mutated byte streams (seeded)", async () => {
    const counts = tally(router);
    const valid = Buffer.concat([
      zmtp.greeting(),
      zmtp.ready({ "Socket-Type": "DEALER", Identity: "" }),
      zmtp.message("a", "bb", "ccc"),
      zmtp.message(Buffer.alloc(300, 7)),
    ]);
    const mutation = fc.oneof(
      // Pure noise.
      fc.uint8Array({ minLength: 1, maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
      // A valid session with bytes flipped.
      fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }).map((flips) => {
        const copy = Buffer.from(valid);
        for (const [at, value] of flips) copy[at] = value;
        return copy;
      }),
      // A valid session cut short, with noise appended.
      fc.tuple(fc.nat(valid.length), fc.uint8Array({ maxLength: 40 })).map(([cut, tail]) =>
        Buffer.concat([valid.subarray(0, cut), Buffer.from(tail)]),
      ),
    );
    const deadline = Date.now() + 8000;
    await fc.assert(
      fc.asyncProperty(mutation, async (bytes) => {
        if (Date.now() > deadline) return;
        const peer = await RawPeer.connect(router.lastEndpoint!);
        peer.write(bytes);
        await peer.flushed();
        peer.destroy();
      }),
      { seed: 20261126, numRuns: 400 },
    );
    await counts.settled();
    expect(counts.accepted()).toBeGreaterThan(0);
    await drainUntilGood(router, good);
  }, 60000);
});
