import { receivedRate } from "../harness/checks";
import type { BenchSubscriber } from "../harness/lib";
import { checkedSize, CLOCK_STRIDE, payload, sendUntil } from "../harness/loops";
import { nowMs, type Role } from "../harness/role";
import { ALL_IMPLS, START_TIMEOUT_MS, type Scenario } from "../harness/scenario";
import { timing } from "./timing";

const SUBSCRIBERS = 10;
const SIZE = 16;
/**
 * A PUB never waits for room: it drops for full subscribers, so an
 * `await send()` loop on a socket that completes sends synchronously never
 * lets I/O run. Publishing in bursts of this many messages, then yielding,
 * is how an event-driven publisher behaves; it is below the default
 * high-water mark of 1000 so a burst alone never forces drops. Both
 * libraries get the same treatment.
 */
export const PUBLISH_BURST = 100;

export const roles: Record<string, Role> = {
  /** Binds a PUB and publishes in bursts until stopped. */
  "pub-send": async (ctx) => {
    const pub = new (ctx.lib().Publisher)({ linger: 0 });
    await pub.bind("tcp://127.0.0.1:*");
    ctx.emit("ready", { endpoint: pub.lastEndpoint! });
    const sent = await sendUntil(pub, payload(ctx.num("size")), {
      limitMs: ctx.num("limit"),
      max: 1_000_000_000,
      yieldEvery: ctx.num("burst"),
    });
    ctx.emit("done", { sent });
  },
  /** Connects `subs` SUB sockets in one process and counts what all of them receive, every message checked to be `expect` bytes. */
  "sub-count": async (ctx) => {
    const lib = ctx.lib();
    const subs: BenchSubscriber[] = [];
    for (let i = 0; i < ctx.num("subs"); i++) {
      const sub = new lib.Subscriber({ linger: 0 });
      sub.subscribe();
      sub.connect(ctx.str("endpoint"));
      subs.push(sub);
    }
    // Per-subscriber counts say, if one stalls, whether it ever joined or stopped later.
    const received = subs.map(() => 0);
    const expect = ctx.num("expect");
    const stallMs = ctx.num("stall");
    let previous = received.slice();
    let checked = false;
    const dog = setInterval(() => {
      const stuck = received.findIndex((n, i) => checked && n === previous[i]);
      if (stuck >= 0) {
        ctx.emit("error", { message: `subscriber ${stuck} got nothing for ${stallMs} ms; messages per subscriber: ${received.join(", ")}` });
        process.exit(1);
      }
      previous = received.slice();
      checked = true;
    }, stallMs);
    // A failing role (a message of the wrong size) must not leave the stall timer behind to end the process later.
    let counted = 0;
    let bytes = 0;
    let start = 0;
    let end = 0;
    try {
      // The clock starts once every subscriber gets messages: joining takes a while (the "slow joiner").
      await Promise.all(
        subs.map(async (sub, i) => {
          checkedSize(await sub.receive(), expect, `subscriber ${i}`);
          received[i]!++;
        }),
      );
      start = nowMs() + ctx.num("warmup");
      end = start + ctx.num("window");
      const max = ctx.num("max");
      const drain = async (sub: BenchSubscriber, i: number): Promise<void> => {
        const who = `subscriber ${i}`;
        let now = nowMs();
        for (let n = 1; ; n++) {
          const size = checkedSize(await sub.receive(), expect, who);
          received[i]!++;
          // The boundaries blur by at most CLOCK_STRIDE messages per subscriber, at both ends alike.
          if (n % CLOCK_STRIDE === 0) {
            now = nowMs();
            if (now >= end || counted >= max) return;
          }
          if (now >= start) {
            counted++;
            bytes += size;
          }
        }
      };
      await Promise.all(subs.map(drain));
    } finally {
      clearInterval(dog);
      for (const sub of subs) sub.close();
    }
    ctx.emit("result", { count: counted, bytes, elapsedMs: Math.min(nowMs(), end) - start });
  },
};

export const scenario: Scenario = {
  id: "pub-sub-fanout-10",
  title: `PUB to ${SUBSCRIBERS} SUB, tcp, ${SIZE} B, messages delivered`,
  metric: { label: "delivered", unit: "msg/s", better: "higher" },
  target: { kind: "ratio", text: ">= 2x zeromq.js", atLeast: 2 },
  impls: ALL_IMPLS,
  rounds: { full: 5, quick: 2 },
  inTable: true,
  async measure(ctx) {
    const t = timing(ctx.quick);
    const publisher = ctx.peer("pub-send", { size: SIZE, limit: t.peerLimitMs, burst: PUBLISH_BURST });
    const ready = await publisher.next("ready", START_TIMEOUT_MS);
    const subscribers = ctx.peer("sub-count", {
      endpoint: String(ready.endpoint),
      subs: SUBSCRIBERS,
      expect: SIZE,
      warmup: t.warmupMs,
      window: t.windowMs,
      max: 1_000_000_000,
      stall: t.stallMs,
    });
    const result = await subscribers.next("result", t.peerLimitMs);
    return { value: receivedRate(result, SIZE).perSec };
  },
};
