import { randomBytes } from "node:crypto";
import { receivedRate } from "../harness/checks";
import { payload, receiveWindow, sendUntil } from "../harness/loops";
import type { Role } from "../harness/role";
import { ALL_IMPLS, START_TIMEOUT_MS, type Scenario } from "../harness/scenario";
import { timing } from "./timing";

export const roles: Record<string, Role> = {
  /** PUSH and PULL in one process over inproc; the receiver's window is the measurement. */
  "inproc-pushpull": async (ctx) => {
    const lib = ctx.lib();
    const address = `inproc://bench-${process.pid}-${randomBytes(4).toString("hex")}`;
    const pull = new lib.Pull({ linger: 0 });
    await pull.bind(address);
    const push = new lib.Push({ linger: 0 });
    push.connect(address);
    let finished = false;
    // Not awaited: once the window closes the sender may be parked on a full pipe for good.
    sendUntil(push, payload(ctx.num("size")), { limitMs: ctx.num("limit"), max: 1_000_000_000, stop: () => finished }).catch(
      () => undefined,
    );
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
      // Also when the receiver failed: the sender must not keep the process busy until its limit.
      finished = true;
      push.close();
      pull.close();
    }
  },
};

const SIZE = 16;

export const scenario: Scenario = {
  id: "inproc-push-pull-16",
  title: "inproc PUSH to PULL, one process, 16 B",
  metric: { label: "throughput", unit: "msg/s", better: "higher" },
  target: { kind: "ratio", text: ">= 10x zeromq.js", atLeast: 10 },
  impls: ALL_IMPLS,
  rounds: { full: 5, quick: 2 },
  inTable: true,
  async measure(ctx) {
    const t = timing(ctx.quick);
    const peer = ctx.peer("inproc-pushpull", {
      size: SIZE,
      expect: SIZE,
      warmup: t.warmupMs,
      window: t.windowMs,
      max: 1_000_000_000,
      limit: t.peerLimitMs,
      stall: t.stallMs,
    });
    const result = await peer.next("result", START_TIMEOUT_MS + t.peerLimitMs);
    return { value: receivedRate(result, SIZE).perSec };
  },
};
