import { sampleMemory } from "../harness/memory";
import { field } from "../harness/protocol";
import { nowMs, Watchdog, type Role } from "../harness/role";
import { ALL_IMPLS, START_TIMEOUT_MS, type Scenario } from "../harness/scenario";
import { sleep } from "../harness/stats";
import { RawPeer, zmtp } from "../../test/helpers/raw-zmtp-peer";

const CONNECTIONS = { full: 10_000, quick: 2_000 };
/** Connections opened concurrently; the ROUTER's backlog is larger so none is refused. */
const BATCH = 500;
const BACKLOG = 4096;
/** How long one stub connection may take to complete its handshake. */
const STUB_MS = 10_000;
const HELLO = zmtp.message("hello");

export const roles: Record<string, Role> = {
  /**
   * Binds a ROUTER, waits until `n` peers have each said hello (proof that
   * they completed the handshake and are routable), and reports memory
   * growth per connection. Heap figures are after full GCs: live data only.
   */
  "router-idle": async (ctx) => {
    const router = new (ctx.lib().Router)({ linger: 0, backlog: ctx.num("backlog") });
    await router.bind("tcp://127.0.0.1:*");
    const before = sampleMemory(true);
    ctx.emit("ready", { endpoint: router.lastEndpoint! });
    const n = ctx.num("n");
    const deadline = nowMs() + ctx.num("limit");
    let greeted = 0;
    const dog = new Watchdog(ctx.num("stall"), "router-idle");
    while (greeted < n && nowMs() < deadline) {
      await router.receive();
      greeted++;
      dog.tick();
    }
    dog.stop();
    // Let the last handshakes' garbage become collectable before measuring.
    await sleep(200);
    const after = sampleMemory(true);
    ctx.emit("result", {
      connections: greeted,
      heapBytes: after.heap - before.heap,
      externalBytes: after.external - before.external,
      rssBytes: after.rss - before.rss,
    });
  },
  /**
   * Opens `n` raw ZMTP DEALER connections (the test suite's raw peer, which
   * costs the measured process nothing and is the same for every
   * implementation) in batches; each says hello once, then idles.
   */
  "stub-dealers": async (ctx) => {
    const endpoint = ctx.str("endpoint");
    const n = ctx.num("n");
    const batch = ctx.num("batch");
    const open: RawPeer[] = [];
    let failed = 0;
    const dealer = async (): Promise<RawPeer> => {
      // libzmq's DEALER sends an empty Identity; the stub does the same for every implementation.
      const peer = await RawPeer.connectAs(endpoint, { "Socket-Type": "DEALER", Identity: "" }, { then: HELLO, ms: STUB_MS });
      try {
        // The handshake is complete once the peer's READY is in.
        await peer.nextCommand("READY", STUB_MS);
        return peer;
      } catch (error) {
        peer.destroy();
        throw error;
      }
    };
    for (let i = 0; i < n; i += batch) {
      const wave = Array.from({ length: Math.min(batch, n - i) }, dealer);
      for (const outcome of await Promise.allSettled(wave)) {
        if (outcome.status === "fulfilled") open.push(outcome.value);
        else failed++;
      }
    }
    ctx.emit("connected", { open: open.length, failed });
  },
};

export const scenario: Scenario = {
  id: "idle-connections",
  title: "10,000 idle tcp connections on one ROUTER (2,000 with --quick)",
  metric: { label: "heap per connection", unit: "KiB", better: "lower" },
  extras: {
    rssKiB: { label: "RSS per connection", unit: "KiB" },
    externalKiB: { label: "external per connection", unit: "KiB" },
    connectSec: { label: "time to connect all", unit: "s" },
  },
  target: { kind: "limit", text: "<= 10 KiB heap per connection", met: (p) => p.value <= 10 },
  impls: ALL_IMPLS,
  unreported: { libzmq: { fields: ["value", "externalKiB"], why: "a C program has no JS heap and no V8 external memory" } },
  rounds: { full: 2, quick: 1 },
  inTable: true,
  async measure(ctx) {
    const n = ctx.quick ? CONNECTIONS.quick : CONNECTIONS.full;
    const limit = 120_000;
    const router = ctx.peer("router-idle", { n, backlog: BACKLOG, limit, stall: 20_000 });
    const ready = await router.next("ready", START_TIMEOUT_MS);
    const started = nowMs();
    const stubs = ctx.peer("stub-dealers", { endpoint: String(ready.endpoint), n, batch: BATCH }, "stub");
    const result = await router.next("result", limit);
    const connectSec = (nowMs() - started) / 1000;
    const connected = await stubs.next("connected", limit);
    if (field(connected, "failed") > 0) throw new Error(`${field(connected, "failed")} stub connections failed`);
    const count = field(result, "connections");
    if (count < n) throw new Error(`only ${count} of ${n} connections said hello`);
    const perConn = (key: string): number => field(result, key) / count / 1024;
    return {
      value: ctx.impl === "libzmq" ? Number.NaN : perConn("heapBytes"),
      extra: { rssKiB: perConn("rssBytes"), externalKiB: ctx.impl === "libzmq" ? Number.NaN : perConn("externalBytes"), connectSec },
    };
  },
};
