/**
 * Process-level faults: Privateer Binary Star servers in child processes,
 * SIGKILLed, or SIGSTOPped past the peer window and thawed after the backup
 * took over. The thawed server must not answer a single request, must see
 * the split brain, and must end passive. Children are compiled in beforeAll.
 */
import { Dealer } from "../../../src";
import { BinaryStarClient, type BinaryStarClientEvent, type BinaryStarEndpoints } from "../../../patterns/binary-star";
import type { NodePeer } from "../majordomo/node-peers";
import { compileServerChild, removeCompiled, ServerChildren } from "./children";
import type { ServerLine } from "./children/server-main";
import { tcpPair } from "./pair";

jest.setTimeout(60000);

const HB = 100;
const WINDOW = 2 * HB;
const TIMEOUT = 300;
const SETTLE = 250;

let outDir: string;
let children: ServerChildren;
const clients: BinaryStarClient[] = [];
const dealers: Dealer[] = [];

beforeAll(async () => {
  outDir = await compileServerChild();
  children = new ServerChildren(outDir);
}, 120000);

afterAll(async () => {
  await removeCompiled(outDir);
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  for (const dealer of dealers.splice(0)) dealer.close();
  await children.killAll();
});

type Pair = { primary: BinaryStarEndpoints; backup: BinaryStarEndpoints };

async function startPair(endpoints: Pair): Promise<{ primary: NodePeer<ServerLine>; backup: NodePeer<ServerLine> }> {
  const backup = children.start({ role: "backup", endpoints: endpoints.backup, heartbeat: HB });
  const primary = children.start({ role: "primary", endpoints: endpoints.primary, heartbeat: HB });
  await primary.waitForEvent("state-changed", (e) => e.to === "active");
  await backup.waitForEvent("state-changed", (e) => e.to === "passive");
  return { primary, backup };
}

function client(endpoints: Pair): { client: BinaryStarClient; events: BinaryStarClientEvent[] } {
  const c = new BinaryStarClient([endpoints.primary.frontend!, endpoints.backup.frontend!], { timeout: TIMEOUT, settleDelay: SETTLE, retries: 9 });
  clients.push(c);
  const events: BinaryStarClientEvent[] = [];
  c.events$.subscribe((event) => events.push(event));
  return { client: c, events };
}

const served = (peer: NodePeer<ServerLine>) => peer.events().filter((e): e is Extract<ServerLine, { type: "served" }> => e.type === "served");
const text = (frames: Buffer[]) => frames.map(String);

describe("Binary Star server processes under faults", () => {
  it("kill -9 of the active: the backup serves after the client's vote, within timeout + settle + a window", async () => {
    const endpoints = await tcpPair();
    const { primary, backup } = await startPair(endpoints);
    const { client: c, events } = client(endpoints);
    expect(text(await c.call("one"))).toEqual(["primary", "one"]);

    const killedAt = Date.now();
    await primary.kill("SIGKILL");
    expect(text(await c.call("two"))).toEqual(["backup", "two"]);
    const gap = Date.now() - killedAt;
    const takeover = await backup.waitForEvent("state-changed", (e) => e.to === "active");
    expect(takeover).toMatchObject({ from: "passive", cause: "client-request", term: 2 });
    expect(events.filter((e) => e.type === "failover")).toHaveLength(1);
    // One timeout, one settle delay, then the vote is accepted at once (the settle delay covers the window).
    expect(gap).toBeGreaterThanOrEqual(TIMEOUT + SETTLE);
    expect(gap).toBeLessThan(TIMEOUT + SETTLE + WINDOW + 1500);
    expect(served(backup).map((s) => s.body)).toEqual(["two"]);
  });

  it("SIGSTOP of the active past the window, then SIGCONT: the thawed server serves nothing, reports the split brain and ends passive", async () => {
    const endpoints = await tcpPair();
    const { primary, backup } = await startPair(endpoints);
    const { client: c } = client(endpoints);
    expect(text(await c.call("one"))).toEqual(["primary", "one"]);
    // A second client, connected before the freeze, whose requests will wait in the frozen server's socket buffer.
    const stale = new Dealer({ linger: 0 });
    dealers.push(stale);
    stale.connect(endpoints.primary.frontend!);
    await stale.send(["", "warm-up"]);
    expect(text(await stale.receive())).toEqual(["", "primary", "warm-up"]);

    primary.signal("SIGSTOP");
    await stale.send(["", "while-frozen"]);
    // The failover client's request also lands in the frozen buffer, times out, and goes to the backup: its vote.
    expect(text(await c.call("two"))).toEqual(["backup", "two"]);
    await backup.waitForEvent("state-changed", (e) => e.to === "active");
    const thawServedBefore = served(primary).length;

    primary.signal("SIGCONT");
    const stall = await primary.waitForEvent("stalled");
    expect(stall.gapMs).toBeGreaterThanOrEqual(WINDOW);
    const split = await primary.waitForEvent("split-brain");
    expect(split).toMatchObject({ kind: "dual-active", resolution: "stepped-down", rule: "term", term: 1, peerTerm: 2 });
    await primary.waitForEvent("state-changed", (e) => e.to === "passive");
    // Requests sent to the thawed server after it stepped down are refused as well.
    await stale.send(["", "after-thaw"]);
    await new Promise((resolve) => setTimeout(resolve, 3 * WINDOW));
    expect(served(primary)).toHaveLength(thawServedBefore);
    expect(served(primary).map((s) => s.body)).toEqual(["one", "warm-up"]);
    // The backup kept serving throughout, and still does.
    expect(text(await c.call("three"))).toEqual(["backup", "three"]);
    expect(backup.events().some((e) => e.type === "state-changed" && e.to !== "active" && e.from === "active")).toBe(false);
    const last = primary.events().filter((e) => e.type === "state-changed").at(-1);
    expect(last).toMatchObject({ to: "passive" });
  });

  it("a primary process restarted on the same ports while the backup is active comes back passive", async () => {
    const endpoints = await tcpPair();
    const { primary, backup } = await startPair(endpoints);
    const { client: c } = client(endpoints);
    await c.call("one");
    await primary.kill("SIGKILL");
    expect(text(await c.call("two"))).toEqual(["backup", "two"]);
    const again = children.start({ role: "primary", endpoints: endpoints.primary, heartbeat: HB });
    await again.waitForEvent("state-changed", (e) => e.to === "passive");
    expect(text(await c.call("three"))).toEqual(["backup", "three"]);
    expect(served(again)).toEqual([]);
    expect(backup.events().filter((e) => e.type === "split-brain")).toEqual([]);
  });
});
