import { sampleMemory, type MemorySample } from "../harness/memory";
import { payload } from "../harness/loops";
import { field } from "../harness/protocol";
import { nowMs, yieldToEventLoop, type Role } from "../harness/role";
import { ALL_IMPLS, START_TIMEOUT_MS, type Scenario } from "../harness/scenario";
import { sleep } from "../harness/stats";
import { RawPeer, zmtp } from "../../test/helpers/raw-zmtp-peer";
import { PUBLISH_BURST } from "./pub-sub-fanout";

const MESSAGES = { full: 1_000_000, quick: 200_000 };
const HWM = 1000;
/** Memory is sampled (after full GCs) this many times during the run. */
const SAMPLES = 40;
/**
 * "Flat" means bounded by the high-water mark, not by the messages
 * published. A full pipe of 1000 small messages is well under 1 MiB; had
 * the publisher kept the 1,000,000 messages, the heap would have grown by
 * over 60 MiB. 4 MiB leaves room for GC noise and still catches a leak.
 */
const FLAT_HEAP_MIB = 4;
const MiB = 1048576;

export const roles: Record<string, Role> = {
  /**
   * Binds a PUB (send high-water mark `hwm`), waits for "go" (the stalled
   * subscriber has subscribed), publishes `count` messages in bursts and
   * reports memory against the baseline taken just before publishing.
   */
  "pub-stalled": async (ctx) => {
    const pub = new (ctx.lib().Publisher)({ linger: 0, sendHighWaterMark: ctx.num("hwm") });
    await pub.bind("tcp://127.0.0.1:*");
    ctx.emit("ready", { endpoint: pub.lastEndpoint! });
    await ctx.command("go", ctx.num("limit"));
    const body = payload(ctx.num("size"));
    const count = ctx.num("count");
    const every = Math.max(1, Math.floor(count / ctx.num("samples")));
    const burst = ctx.num("burst");
    const base = sampleMemory(true);
    const peak: MemorySample = { ...base };
    const deadline = nowMs() + ctx.num("limit");
    const start = nowMs();
    let sent = 0;
    while (sent < count && nowMs() < deadline) {
      await pub.send(body);
      sent++;
      if (sent % burst === 0) await yieldToEventLoop();
      if (sent % every === 0) {
        const now = sampleMemory(true);
        peak.heap = Math.max(peak.heap, now.heap);
        peak.external = Math.max(peak.external, now.external);
        peak.rss = Math.max(peak.rss, now.rss);
      }
    }
    const elapsedMs = nowMs() - start;
    const end = sampleMemory(true);
    ctx.emit("result", {
      sent,
      elapsedMs,
      heapPeak: peak.heap - base.heap,
      externalPeak: peak.external - base.external,
      rssPeak: peak.rss - base.rss,
      rssEnd: end.rss - base.rss,
      rssBase: base.rss,
    });
  },
  /**
   * Subscribes to everything through a raw ZMTP connection and stops
   * reading at the first published bytes: the subscription is then known
   * to work, so the publisher really is queueing for us.
   */
  "stub-stalled-sub": async (ctx) => {
    // RFC 37's SUBSCRIBE command, for everything: the stub announces ZMTP 3.1, as we do.
    const peer = await RawPeer.connectAs(ctx.str("endpoint"), { "Socket-Type": "SUB" }, { then: zmtp.command("SUBSCRIBE"), ms: 10_000 });
    await peer.nextCommand("READY", 10_000);
    peer.socket.once("data", (chunk: Buffer) => {
      peer.socket.pause();
      ctx.emit("stalled", { bytes: chunk.length });
    });
    ctx.emit("subscribed");
  },
};

export const scenario: Scenario = {
  id: "stalled-subscriber",
  title: `Stalled subscriber behind PUB (HWM ${HWM}), 1,000,000 messages of 16 B (200,000 with --quick)`,
  metric: { label: "peak live-heap growth", unit: "MiB", better: "lower" },
  extras: {
    rssPeakMiB: { label: "peak RSS growth", unit: "MiB" },
    externalPeakMiB: { label: "peak external growth", unit: "MiB" },
    rssBaseMiB: { label: "RSS baseline", unit: "MiB" },
    publishRate: { label: "publish rate", unit: "msg/s" },
  },
  target: {
    kind: "limit",
    text: `memory flat: peak live heap growth <= ${FLAT_HEAP_MIB} MiB`,
    met: (p) => p.value <= FLAT_HEAP_MIB,
  },
  impls: ALL_IMPLS,
  unreported: { libzmq: { fields: ["value", "externalPeakMiB"], why: "a C program has no JS heap and no V8 external memory" } },
  rounds: { full: 2, quick: 1 },
  inTable: true,
  async measure(ctx) {
    const count = ctx.quick ? MESSAGES.quick : MESSAGES.full;
    const limit = 60_000;
    const pub = ctx.peer("pub-stalled", { hwm: HWM, count, size: 16, samples: SAMPLES, burst: PUBLISH_BURST, limit });
    const ready = await pub.next("ready", START_TIMEOUT_MS);
    const stub = ctx.peer("stub-stalled-sub", { endpoint: String(ready.endpoint) }, "stub");
    await stub.next("subscribed", START_TIMEOUT_MS);
    // The handshake is done on both sides; give the PUB a moment to apply the subscription.
    await sleep(200);
    pub.tell("go");
    const result = await pub.next("result", limit + 10_000);
    // Without data reaching the stub, the publisher filtered everything out and proved nothing.
    await stub.next("stalled", 5000);
    const sent = field(result, "sent");
    if (sent < count) throw new Error(`published only ${sent} of ${count} messages within ${limit} ms`);
    return {
      value: ctx.impl === "libzmq" ? Number.NaN : field(result, "heapPeak") / MiB,
      extra: {
        rssPeakMiB: field(result, "rssPeak") / MiB,
        externalPeakMiB: ctx.impl === "libzmq" ? Number.NaN : field(result, "externalPeak") / MiB,
        rssBaseMiB: field(result, "rssBase") / MiB,
        publishRate: sent / (field(result, "elapsedMs") / 1000),
      },
    };
  },
};
