/**
 * The `metadata` option (libzmq's ZMQ_METADATA): which records are refused,
 * the exact READY bytes that carry the accepted ones, which connections
 * announce them, and how the receiving side reads them.
 */
import { Dealer, PrivateerError, Pull, Push, Router, type SocketBase } from "../../src";
import { bindAddress, closeAll, events, nextEvent } from "../helpers/endpoints";
import { RawPeer, zmtp } from "../helpers/raw-zmtp-peer";
import { MAX_METADATA_SIZE } from "../../src/socket/options";

const opened: SocketBase[] = [];
const peers: RawPeer[] = [];
function track<T extends SocketBase>(socket: T): T {
  opened.push(socket);
  return socket;
}
afterEach(() => {
  for (const peer of peers.splice(0)) peer.destroy();
  closeAll(...opened.splice(0));
});

function einval(action: () => unknown): PrivateerError {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(PrivateerError);
  expect((caught as PrivateerError).code).toBe("EINVAL");
  return caught as PrivateerError;
}

/** Connects a raw peer of `type` to a freshly bound `socket` and returns the data of the READY it receives. */
async function readyFrom(socket: SocketBase, type: string, address?: string): Promise<Buffer> {
  if (!address) {
    await socket.bind(bindAddress("tcp"));
    address = socket.lastEndpoint!;
  }
  const peer = await RawPeer.connectAs(address, type === "DEALER" ? { "Socket-Type": type, Identity: "" } : { "Socket-Type": type });
  peers.push(peer);
  return peer.skipToCommand("READY");
}

describe("metadata option: validation (libzmq's ZMQ_METADATA rules)", () => {
  it.each([
    ["a name without the X- prefix", { Feature: "1" }],
    ["a built-in name", { "Socket-Type": "DEALER" }],
    ["the Identity built-in", { identity: "x" }],
    ["the Resource built-in", { Resource: "/x" }],
    ["an empty name", { "": "1" }],
    ["a name with a space", { "X-Two Words": "1" }],
    ["a name with a colon (libzmq's separator)", { "X-A:B": "1" }],
    ["a non-ASCII name", { "X-Caf\u00e9": "1" }],
    ["a 256-byte name", { [`X-${"n".repeat(254)}`]: "1" }],
    ["names differing only in case", { "X-Feature": "1", "x-feature": "2" }],
  ])("refuses %s with EINVAL at set time", (_what, record) => {
    const socket = track(new Dealer());
    einval(() => (socket.metadata = record));
    // Nothing of a refused record is kept.
    expect(socket.metadata).toEqual({});
  });

  it("refuses values that are neither strings nor bytes, and records that are not records", () => {
    const socket = track(new Dealer());
    einval(() => (socket.metadata = { "X-Number": 5 as unknown as string }));
    einval(() => (socket.metadata = ["X-A:1"] as unknown as Record<string, string>));
    einval(() => (socket.metadata = "X-A:1" as unknown as Record<string, string>));
    einval(() => (socket.metadata = Buffer.from("X-A:1") as unknown as Record<string, string>));
  });

  it("refuses a bad record given to the constructor", () => {
    einval(() => track(new Router({ metadata: { NoPrefix: "1" } })));
  });

  it("accepts X- names in any case, the whole RFC 37 charset, 255-byte names, empty and binary values", () => {
    const longName = `X-${"n".repeat(253)}`;
    const record = {
      "X-Privateer-Ext": "mdp-id/1",
      "x-lower": "",
      "X-a_b.c+d-9": Buffer.from([0, 255, 10]),
      [longName]: "long",
    };
    const socket = track(new Dealer({ metadata: record }));
    expect(socket.metadata).toEqual(record);
    expect(Object.isFrozen(socket.metadata)).toBe(true);
  });

  it("takes a record up to the size whose READY a Privateer peer still accepts, and refuses one byte more", async () => {
    const name = "X-Fill";
    const fill = (extra: number) => ({ [name]: "f".repeat(MAX_METADATA_SIZE - (1 + name.length + 4) + extra) });
    einval(() => track(new Router({ metadata: fill(1) })));
    // The largest record with the largest built-ins (ROUTER, a 255-byte Identity) still handshakes.
    const router = track(new Router({ routingId: "r".repeat(255), metadata: fill(0) }));
    const dealer = track(new Dealer());
    await router.bind(bindAddress("tcp"));
    const handshake = nextEvent(dealer, "handshake");
    dealer.connect(router.lastEndpoint!);
    expect((await handshake).peer.metadata.get(name)?.length).toBe(MAX_METADATA_SIZE - (1 + name.length + 4));
  });

  it("replaces the record on each set; null and {} clear it", () => {
    const socket = track(new Dealer({ metadata: { "X-One": "1" } }));
    socket.metadata = { "X-Two": "2" };
    expect(socket.metadata).toEqual({ "X-Two": "2" });
    socket.metadata = null;
    expect(socket.metadata).toEqual({});
    socket.metadata = { "X-Three": "3" };
    socket.metadata = {};
    expect(socket.metadata).toEqual({});
  });

  it("keeps its own copy: changing the record afterwards changes nothing", async () => {
    const record: Record<string, string> = { "X-A": "before" };
    const socket = track(new Push({ metadata: record }));
    const bytes = Buffer.from("bytes");
    socket.metadata = { ...record, "X-Bytes": bytes };
    record["X-A"] = "after";
    record["X-B"] = "added";
    bytes.fill(0x21);
    expect(socket.metadata).toEqual({ "X-A": "before", "X-Bytes": Buffer.from("bytes") });
    expect(await readyFrom(socket, "PULL")).toEqual(
      zmtp.metadata({ "Socket-Type": "PUSH", "X-A": "before", "X-Bytes": "bytes" }),
    );
  });
});

describe("metadata option: the READY bytes", () => {
  it("sends the built-ins and nothing else without it (the control)", async () => {
    const router = track(new Router());
    expect(await readyFrom(router, "DEALER")).toEqual(
      zmtp.metadata({ "Socket-Type": "ROUTER", Identity: "" }),
    );
  });

  it("appends each property after the built-ins, spelled and ordered as given, byte for byte", async () => {
    const router = track(
      new Router({
        routingId: "broker",
        metadata: { "X-Privateer-Ext": "mdp-id/1", "x-bin": Buffer.from([0, 1, 2, 0xff]), "X-Empty": "" },
      }),
    );
    expect(await readyFrom(router, "DEALER")).toEqual(
      zmtp.metadata({ "Socket-Type": "ROUTER", Identity: "broker", "X-Privateer-Ext": "mdp-id/1", "x-bin": Buffer.from([0, 1, 2, 0xff]), "X-Empty": "" }),
    );
  });

  it("sends values as UTF-8 and a READY over 255 bytes as a long frame", async () => {
    const big = "\u00e9".repeat(200); // 400 bytes of UTF-8
    const pull = track(new Pull({ metadata: { "X-Big": big } }));
    await pull.bind(bindAddress("tcp"));
    const peer = await RawPeer.connectAs(pull.lastEndpoint!, { "Socket-Type": "PUSH" });
    peers.push(peer);
    const frame = await peer.nextFrame();
    expect(frame.flags).toBe(0x04 | 0x02); // COMMAND | LONG
    const expected = zmtp.metadata({ "Socket-Type": "PULL", "X-Big": Buffer.from(big, "utf8") });
    expect(frame.body).toEqual(Buffer.concat([Buffer.from([5]), Buffer.from("READY"), expected]));
  });

  it("reaches connections made after it is set, not ones already handshaken", async () => {
    const router = track(new Router());
    await router.bind(bindAddress("tcp"));
    const address = router.lastEndpoint!;
    const before = await readyFrom(router, "DEALER", address);
    router.metadata = { "X-Late": "yes" };
    const after = await readyFrom(router, "DEALER", address);
    expect(before).toEqual(zmtp.metadata({ "Socket-Type": "ROUTER", Identity: "" }));
    expect(after).toEqual(
      zmtp.metadata({ "Socket-Type": "ROUTER", Identity: "", "X-Late": "yes" }),
    );
  });

  it("is announced again on a reconnection, with the value current then", async () => {
    const dealer = track(new Dealer({ metadata: { "X-Gen": "1" }, reconnectInterval: 20 }));
    const router = track(new Router());
    await router.bind(bindAddress("tcp"));
    const address = router.lastEndpoint!;
    const first = nextEvent(router, "handshake");
    dealer.connect(address);
    expect((await first).peer.metadata.get("X-Gen")?.toString()).toBe("1");
    // Drop the connection from the ROUTER's side by unbinding and binding the same port again.
    dealer.metadata = { "X-Gen": "2" };
    const gone = nextEvent(dealer, "disconnect");
    await router.unbind(address);
    await gone;
    const second = nextEvent(router, "handshake");
    await router.bind(address);
    expect((await second).peer.metadata.get("X-Gen")?.toString()).toBe("2");
  });
});

describe("metadata option: what the receiving side reads", () => {
  it("exposes a raw peer's properties in the handshake event, spelled as sent, looked up in any case", async () => {
    const router = track(new Router());
    await router.bind(bindAddress("tcp"));
    const handshake = nextEvent(router, "handshake");
    const peer = await RawPeer.connectAs(router.lastEndpoint!, { "Socket-Type": "DEALER", Identity: "w1", "X-Mixed-Case": "v" });
    peers.push(peer);
    const { peer: info, routingId } = await handshake;
    expect([...info.metadata.keys()]).toEqual(["Socket-Type", "Identity", "X-Mixed-Case"]);
    expect(info.metadata.get("X-Mixed-Case")?.toString()).toBe("v");
    expect(info.metadata.get("x-mixed-case")?.toString()).toBe("v");
    expect(routingId?.toString()).toBe("w1");
    expect(router.peerMetadata("w1")?.get("X-Mixed-Case")?.toString()).toBe("v");
  });

  it.each(["tcp", "ipc"] as const)("carries both sides' properties between Privateer sockets over %s", async (transport) => {
    const router = track(new Router({ metadata: { "X-Role": "broker" } }));
    const dealer = track(new Dealer({ routingId: "client-1", metadata: { "X-Role": "client", "X-Privateer-Ext": "1" } }));
    await router.bind(bindAddress(transport));
    const atRouter = nextEvent(router, "handshake");
    const atDealer = nextEvent(dealer, "handshake");
    dealer.connect(router.lastEndpoint!);
    const [r, d] = await Promise.all([atRouter, atDealer]);
    expect(r.peer.metadata.get("X-Role")?.toString()).toBe("client");
    expect(r.peer.metadata.get("X-Privateer-Ext")?.toString()).toBe("1");
    expect(d.peer.metadata.get("X-Role")?.toString()).toBe("broker");
    expect(d.peer.metadata.has("X-Privateer-Ext")).toBe(false);
    expect(router.peerMetadata("client-1")?.get("x-privateer-ext")?.toString()).toBe("1");
  });

  it("gives an inproc peer no READY properties (there is no READY)", async () => {
    const router = track(new Router({ metadata: { "X-Role": "broker" } }));
    const dealer = track(new Dealer({ routingId: "c", metadata: { "X-Role": "client" } }));
    await router.bind(bindAddress("inproc"));
    const handshakes = events(router, "handshake", 1);
    dealer.connect(router.lastEndpoint!);
    const [event] = await handshakes;
    expect(event!.peer.protocol).toBe("inproc");
    expect(event!.peer.metadata.size).toBe(0);
    expect(router.peerMetadata("c")?.size).toBe(0);
  });
});
