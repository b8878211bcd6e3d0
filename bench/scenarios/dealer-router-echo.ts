import { receivedRate } from "../harness/checks";
import { checkedSize, exchangeWindow, payload } from "../harness/loops";
import { nowMs, Watchdog, type Role } from "../harness/role";
import { ALL_IMPLS, START_TIMEOUT_MS, type Scenario } from "../harness/scenario";
import { timing } from "./timing";

const IN_FLIGHT = 100;
const SIZE = 16;

export const roles: Record<string, Role> = {
  /** Binds a ROUTER and sends every message back to whoever sent it. */
  "router-echo": async (ctx) => {
    const router = new (ctx.lib().Router)({ linger: 0 });
    await router.bind("tcp://127.0.0.1:*");
    ctx.emit("ready", { endpoint: router.lastEndpoint! });
    const dog = new Watchdog(ctx.num("stall"), "router-echo");
    const deadline = nowMs() + ctx.num("limit");
    // The received frames are [routing id, body]: sending them back routes the reply.
    while (nowMs() < deadline) {
      await router.send(await router.receive());
      dog.tick();
    }
    dog.stop();
  },
  /** Keeps `inflight` requests of `size` bytes outstanding on a DEALER and counts replies, each checked to be `expect` bytes. */
  "dealer-flight": async (ctx) => {
    const dealer = new (ctx.lib().Dealer)({ linger: 0 });
    const dog = new Watchdog(ctx.num("stall"), "dealer-flight");
    dealer.connect(ctx.str("endpoint"));
    const body = payload(ctx.num("size"));
    const expect = ctx.num("expect");
    // The watchdog ends the process when it fires: a failing role must stop it first.
    try {
      for (let i = 0; i < ctx.num("inflight"); i++) await dealer.send(body);
      // Each reply releases one more request, so the number outstanding never changes.
      const exchange = async (): Promise<number> => {
        const size = checkedSize(await dealer.receive(), expect, "dealer-flight");
        await dealer.send(body);
        dog.tick();
        return size;
      };
      const result = await exchangeWindow(exchange, {
        warmupMs: ctx.num("warmup"),
        windowMs: ctx.num("window"),
        max: ctx.num("max"),
      });
      ctx.emit("result", { ...result });
    } finally {
      dog.stop();
      dealer.close();
    }
  },
};

export const scenario: Scenario = {
  id: "dealer-router-echo-100",
  title: `DEALER to ROUTER echo, tcp, ${IN_FLIGHT} requests in flight, ${SIZE} B`,
  metric: { label: "replies", unit: "msg/s", better: "higher" },
  target: { kind: "ratio", text: ">= 2x zeromq.js", atLeast: 2 },
  impls: ALL_IMPLS,
  rounds: { full: 5, quick: 2 },
  inTable: true,
  async measure(ctx) {
    const t = timing(ctx.quick);
    const server = ctx.peer("router-echo", { limit: t.peerLimitMs, stall: t.stallMs });
    const ready = await server.next("ready", START_TIMEOUT_MS);
    const client = ctx.peer("dealer-flight", {
      endpoint: String(ready.endpoint),
      size: SIZE,
      expect: SIZE,
      inflight: IN_FLIGHT,
      warmup: t.warmupMs,
      window: t.windowMs,
      max: 50_000_000,
      stall: t.stallMs,
    });
    const result = await client.next("result", t.peerLimitMs);
    return { value: receivedRate(result, SIZE).perSec };
  },
};
