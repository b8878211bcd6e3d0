import { payload, receiveWindow, sendUntil } from "../harness/loops";
import { receivedRate } from "../harness/checks";
import type { Role } from "../harness/role";
import { ALL_IMPLS, START_TIMEOUT_MS, type Scenario } from "../harness/scenario";
import { sizeLabel } from "../harness/stats";
import { timing } from "./timing";

/** The sizes of the throughput chart; those with a target also appear in the table. */
const SIZES = [16, 256, 1024, 4096, 65536, 1048576] as const;

const TARGETS: Readonly<Record<number, number>> = { 16: 3, 1024: 2, 65536: 1, 1048576: 0.7 };

export const roles: Record<string, Role> = {
  /** Binds a PULL and measures how fast messages of `expect` bytes arrive. */
  "pull-recv": async (ctx) => {
    const pull = new (ctx.lib().Pull)({ linger: 0 });
    await pull.bind("tcp://127.0.0.1:*");
    ctx.emit("ready", { endpoint: pull.lastEndpoint! });
    try {
      const result = await receiveWindow(pull, {
        warmupMs: ctx.num("warmup"),
        windowMs: ctx.num("window"),
        max: ctx.num("max"),
        stallMs: ctx.num("stall"),
        expectBytes: ctx.num("expect"),
      });
      ctx.emit("result", { ...result });
    } finally {
      pull.close();
    }
  },
  /** Connects a PUSH and sends as fast as the library lets it, until stopped. */
  "push-send": async (ctx) => {
    const push = new (ctx.lib().Push)({ linger: 0 });
    push.connect(ctx.str("endpoint"));
    const sent = await sendUntil(push, payload(ctx.num("size")), { limitMs: ctx.num("limit"), max: ctx.num("max") });
    ctx.emit("done", { sent });
  },
};

function throughput(size: number): Scenario {
  const ratio = TARGETS[size];
  return {
    id: `push-pull-tcp-${size}`,
    title: `PUSH to PULL, tcp, two processes, ${sizeLabel(size)}`,
    metric: { label: "throughput", unit: "msg/s", better: "higher" },
    extras: { mibPerSec: { label: "bandwidth", unit: "MiB/s" } },
    target: ratio === undefined ? undefined : { kind: "ratio", text: `>= ${ratio}x zeromq.js`, atLeast: ratio },
    impls: ALL_IMPLS,
    rounds: { full: ratio === undefined ? 3 : 5, quick: 2 },
    chartSize: size,
    inTable: ratio !== undefined,
    async measure(ctx) {
      // Around a thousand 1 MiB messages fit in a window: a longer one steadies the figure.
      const t = timing(ctx.quick, size >= 65536 ? 1.5 : 1);
      const receiver = ctx.peer("pull-recv", {
        warmup: t.warmupMs,
        window: t.windowMs,
        max: 50_000_000,
        stall: t.stallMs,
        expect: size,
      });
      const ready = await receiver.next("ready", START_TIMEOUT_MS);
      ctx.peer("push-send", {
        endpoint: String(ready.endpoint),
        size,
        limit: t.peerLimitMs,
        max: 100_000_000,
      });
      const result = await receiver.next("result", t.peerLimitMs);
      // Bandwidth is from the bytes the receiver counted, each message checked against `size`.
      const { perSec, mibPerSec } = receivedRate(result, size);
      return { value: perSec, extra: { mibPerSec } };
    },
  };
}

export const scenarios: Scenario[] = SIZES.map(throughput);
