/**
 * Router.peerMetadata(routingId): the READY properties of the peer behind a
 * routing id, for as long as that peer is connected and no longer, checked
 * through reconnects, handover and thousands of connections.
 */
import * as v8 from "node:v8";
import * as vm from "node:vm";
import { Dealer, Router, type Metadata, type SocketBase } from "../../src";
import { bindAddress, closeAll, events, link, nextEvent, text } from "../helpers/endpoints";
import { RawPeer, zmtp } from "../helpers/raw-zmtp-peer";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

const sockets: SocketBase[] = [];
const track = <T extends SocketBase>(socket: T): T => {
  sockets.push(socket);
  return socket;
};
afterEach(() => closeAll(...sockets.splice(0)));

/** JS heap plus Buffer backing stores (which live outside the heap that heapUsed counts). */
async function memoryInUse(): Promise<number> {
  // Backing stores are released by finalizers that run after a collection: collect, let them run, collect again.
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

const read = (metadata: Metadata | undefined, name: string): string | undefined => metadata?.get(name)?.toString();

describe("Router.peerMetadata", () => {
  it("answers for each connected peer, by Buffer or string id, and undefined for others", async () => {
    const router = track(new Router());
    const a = track(new Dealer({ routingId: "a", metadata: { "X-Privateer-Ext": "1" } }));
    const b = track(new Dealer({ routingId: "b" }));
    await link(router, [a, b], "tcp");
    expect(read(router.peerMetadata("a"), "X-Privateer-Ext")).toBe("1");
    expect(read(router.peerMetadata(Buffer.from("a")), "x-privateer-ext")).toBe("1");
    expect([...router.peerMetadata("a")!.keys()]).toEqual(["Socket-Type", "Identity", "X-Privateer-Ext"]);
    // A plain peer: known, but without the property (the broker's "does it speak the extension?" is false).
    expect(router.peerMetadata("b")).toBeDefined();
    expect(router.peerMetadata("b")!.has("X-Privateer-Ext")).toBe(false);
    expect(router.peerMetadata("nobody")).toBeUndefined();
  });

  it("looks up generated ids, as they arrive on the messages", async () => {
    const router = track(new Router());
    const anonymous = track(new Dealer({ metadata: { "X-Who": "anon" } }));
    await link(router, [anonymous], "tcp");
    await anonymous.send("hi");
    const [id] = await router.receive();
    expect(id![0]).toBe(0);
    expect(read(router.peerMetadata(id!), "X-Who")).toBe("anon");
  });

  it("forgets a peer once it disconnects", async () => {
    const router = track(new Router());
    const dealer = track(new Dealer({ routingId: "leaver", metadata: { "X-A": "1" } }));
    await link(router, [dealer], "tcp");
    expect(read(router.peerMetadata("leaver"), "X-A")).toBe("1");
    const gone = nextEvent(router, "disconnect");
    dealer.close();
    expect((await gone).routingId?.toString()).toBe("leaver");
    expect(router.peerMetadata("leaver")).toBeUndefined();
  });

  it("has nothing while a peer is away and the new connection's properties once it is back", async () => {
    const router = track(new Router());
    const dealer = track(new Dealer({ routingId: "w", reconnectInterval: 20, metadata: { "X-Gen": "1" } }));
    const address = await link(router, [dealer], "tcp");
    expect(read(router.peerMetadata("w"), "X-Gen")).toBe("1");
    dealer.metadata = { "X-Gen": "2" };
    const gone = nextEvent(router, "disconnect");
    await router.unbind(address);
    await gone;
    expect(router.peerMetadata("w")).toBeUndefined();
    const back = nextEvent(router, "handshake");
    await router.bind(address);
    await back;
    expect(read(router.peerMetadata("w"), "X-Gen")).toBe("2");
  });

  it("follows a handover to the new holder of the routing id", async () => {
    const router = track(new Router({ handover: true }));
    const first = track(new Dealer({ routingId: "same", metadata: { "X-Which": "first" } }));
    const address = await link(router, [first], "tcp");
    const second = track(new Dealer({ routingId: "same", metadata: { "X-Which": "second" } }));
    const taken = nextEvent(router, "handshake");
    second.connect(address);
    await taken;
    expect(read(router.peerMetadata("same"), "X-Which")).toBe("second");
    await second.send("from second");
    expect(text(await router.receive())).toEqual(["same", "from second"]);
  });

  it("works over inproc, with an empty map (no READY there)", async () => {
    const router = track(new Router());
    const dealer = track(new Dealer({ routingId: "local", metadata: { "X-A": "1" } }));
    await link(router, [dealer], "inproc");
    expect(router.peerMetadata("local")?.size).toBe(0);
    const gone = nextEvent(router, "disconnect");
    dealer.close();
    await gone;
    expect(router.peerMetadata("local")).toBeUndefined();
  });
});

describe("Router.peerMetadata under connection churn", () => {
  const BATCH = 50;
  const ROUNDS = 20; // 1,000 connections per run
  /** Each peer announces this much; a table that kept one entry per departed peer would hold 16 MB after a run. */
  const PAYLOAD = "p".repeat(16 * 1024);

  let serial = 0;

  /**
   * Runs `ROUNDS` batches of raw peers through `router`: each announces a
   * unique Identity and X-Payload, must be found by `lookup` while connected,
   * then leaves. Returns how many departed ids `lookup` still answers for,
   * and the heap growth over the run.
   */
  async function churn(router: Router, lookup: (id: string) => Metadata | undefined): Promise<{ retained: number; growth: number }> {
    const run = async (rounds: number): Promise<string[]> => {
      const ids: string[] = [];
      for (let round = 0; round < rounds; round++) {
        const batch = Array.from({ length: BATCH }, () => `churn-${++serial}`);
        const handshakes = events(router, "handshake", BATCH, 15000);
        const connections = await Promise.all(batch.map(() => RawPeer.connect(router.lastEndpoint!)));
        connections.forEach((peer, n) => {
          peer.write(zmtp.greeting(), zmtp.ready({ "Socket-Type": "DEALER", Identity: batch[n]!, "X-Payload": PAYLOAD }));
        });
        await handshakes;
        // Found while connected: without this, a lookup that never answers would pass the release check.
        for (const id of batch) expect(lookup(id)?.get("X-Payload")?.length).toBe(PAYLOAD.length);
        const disconnects = events(router, "disconnect", BATCH, 15000);
        for (const peer of connections) peer.destroy();
        await disconnects;
        ids.push(...batch);
      }
      return ids;
    };
    await run(2); // warm up: first-use allocations must not count as growth
    const before = await memoryInUse();
    const ids = await run(ROUNDS);
    const growth = (await memoryInUse()) - before;
    return { retained: ids.filter((id) => lookup(id) !== undefined).length, growth };
  }

  async function boundRouter(): Promise<Router> {
    const router = track(new Router({ handshakeInterval: 5000, backlog: 1024 }));
    await router.bind(bindAddress("tcp"));
    return router;
  }

  it("releases every departed peer's entry: nothing answers for it and memory does not grow", async () => {
    const router = await boundRouter();
    const { retained, growth } = await churn(router, (id) => router.peerMetadata(id));
    expect(retained).toBe(0);
    // 1,000 peers x 16 KiB: keeping even a tenth of them would show as 1.6 MB.
    expect(growth).toBeLessThan(1.5 * 1024 * 1024);
  }, 120000);

  it("negative control: a table that never forgets is caught by both checks", async () => {
    const router = await boundRouter();
    // What a careless broker-side cache would do: remember metadata per routing id, never drop it.
    const leaky = new Map<string, Metadata>();
    router.events$.subscribe((event) => {
      if (event.type === "handshake" && event.routingId) leaky.set(event.routingId.toString(), event.peer.metadata);
    });
    const { retained, growth } = await churn(router, (id) => leaky.get(id));
    expect(retained).toBe(BATCH * ROUNDS);
    expect(growth).toBeGreaterThan(1.5 * 1024 * 1024);
  }, 120000);
});
