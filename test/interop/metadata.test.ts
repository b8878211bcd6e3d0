/**
 * Application metadata (libzmq's ZMQ_METADATA, Privateer's `metadata`
 * option) against real libzmq, both directions: libzmq 4.3.4 through pyzmq,
 * which can both announce properties and read a peer's (zmq_msg_gets on a
 * received frame), and libzmq 4.3.5 through zeromq.js 6, which can only
 * announce them (its option is a commented-out draft; the raw option 95 is
 * reachable, but nothing reads a message's properties).
 */
import * as zmq from "zeromq";
import { Dealer, Router, type SocketBase } from "../../src";
import { bindAddress, closeAll, nextEvent, text } from "../helpers/endpoints";
import { describeIfPeer, PYZMQ } from "../helpers/prerequisites";
import { PyzmqDriver, PyzmqError, type PyzmqSocket } from "./helpers/pyzmq-driver";

const describeWithPyzmq = describeIfPeer(PYZMQ);

const ours: SocketBase[] = [];
afterEach(() => closeAll(...ours.splice(0)));
function track<T extends SocketBase>(socket: T): T {
  ours.push(socket);
  return socket;
}

describeWithPyzmq("metadata with libzmq 4.3.4 (pyzmq)", () => {
  let driver: PyzmqDriver;
  const theirs: PyzmqSocket[] = [];
  beforeAll(async () => {
    driver = await PyzmqDriver.start();
  }, 30000);
  afterEach(async () => {
    for (const socket of theirs.splice(0)) await socket.close().catch(() => undefined);
  });
  afterAll(async () => {
    await driver?.close();
  });

  /** A libzmq socket announcing each `"X-Name:value"` (ZMQ_METADATA is set once per property). */
  async function libzmqSocket(type: "DEALER" | "ROUTER", properties: readonly string[], routingId?: string): Promise<PyzmqSocket> {
    const socket = await driver.socket(type, routingId === undefined ? {} : { routing_id: routingId });
    theirs.push(socket);
    for (const property of properties) await socket.setOptions({ metadata: property });
    return socket;
  }

  it("libzmq reads our properties, and we read libzmq's, with Privateer binding", async () => {
    const router = track(new Router({ metadata: { "X-Privateer-Ext": "mdp-id/1", "X-Role": "broker" } }));
    await router.bind(bindAddress("tcp"));
    const client = await libzmqSocket("DEALER", ["X-Client:libzmq", "X-Build:4.3.4"], "py-client");
    const handshake = nextEvent(router, "handshake");
    await client.connect(router.lastEndpoint!);
    const { peer, routingId } = await handshake;
    expect(routingId?.toString()).toBe("py-client");
    // libzmq's READY: its built-ins, then its X- properties spelled as it sent them (in name
    // order: libzmq keeps them in a std::map, whatever order they were set in).
    expect([...peer.metadata.keys()]).toEqual(["Socket-Type", "Identity", "X-Build", "X-Client"]);
    expect(peer.metadata.get("X-Client")?.toString()).toBe("libzmq");
    expect(router.peerMetadata("py-client")?.get("X-Build")?.toString()).toBe("4.3.4");

    await client.send(["request"]);
    const [id, ...body] = await router.receive();
    expect(text(body)).toEqual(["request"]);
    expect(router.peerMetadata(id!)?.get("X-Client")?.toString()).toBe("libzmq");
    await router.send([id!, "reply"]);
    const { frames, properties } = await client.receiveWithProperties(["X-Privateer-Ext", "X-Role", "Socket-Type", "X-Absent"]);
    expect(text(frames)).toEqual(["reply"]);
    expect(properties).toEqual({
      "X-Privateer-Ext": "mdp-id/1",
      "X-Role": "broker",
      "Socket-Type": "ROUTER",
      // The control: a property nobody announced reads as absent.
      "X-Absent": null,
    });
  });

  it("libzmq reads our properties, and we read libzmq's, with libzmq binding", async () => {
    const broker = await libzmqSocket("ROUTER", ["X-Role:libzmq-broker"]);
    const endpoint = await broker.bind("tcp://127.0.0.1:*");
    const dealer = track(new Dealer({ routingId: "pv-client", metadata: { "X-Privateer-Ext": "mdp-id/1" } }));
    const handshake = nextEvent(dealer, "handshake");
    dealer.connect(endpoint);
    const { peer } = await handshake;
    expect(peer.metadata.get("X-Role")?.toString()).toBe("libzmq-broker");
    expect(peer.metadata.get("x-role")?.toString()).toBe("libzmq-broker");

    await dealer.send("request");
    const { frames, properties } = await broker.receiveWithProperties(["X-Privateer-Ext", "Socket-Type", "X-Absent"]);
    expect(text(frames)).toEqual(["pv-client", "request"]);
    expect(properties).toEqual({ "X-Privateer-Ext": "mdp-id/1", "Socket-Type": "DEALER", "X-Absent": null });
  });

  it("a plain Privateer peer announces no X- property to libzmq (the extension is opt-in)", async () => {
    const broker = await libzmqSocket("ROUTER", []);
    const endpoint = await broker.bind("tcp://127.0.0.1:*");
    const dealer = track(new Dealer({ routingId: "plain" }));
    dealer.connect(endpoint);
    await dealer.send("request");
    const { properties } = await broker.receiveWithProperties(["X-Privateer-Ext", "Socket-Type"]);
    expect(properties).toEqual({ "X-Privateer-Ext": null, "Socket-Type": "DEALER" });
  });

  it("refuses what libzmq refuses, and says where the two differ", async () => {
    const probe = await libzmqSocket("DEALER", []);
    const libzmqAccepts = async (property: string): Promise<boolean> => {
      try {
        await probe.setOptions({ metadata: property });
        return true;
      } catch (error) {
        if (error instanceof PyzmqError && error.code === "EINVAL") return false;
        throw error;
      }
    };
    const privateerAccepts = (name: string, value: string): boolean => {
      try {
        track(new Dealer({ metadata: { [name]: value } }));
        return true;
      } catch {
        return false;
      }
    };
    const verdicts: Record<string, [boolean, boolean]> = {};
    for (const [name, value] of [
      ["X-Fine", "v"],
      ["Feature", "v"], // no X- prefix
      ["Socket-Type", "v"],
      [`X-${"n".repeat(253)}`, "v"], // 255 bytes
      ["x-lower", "v"], // libzmq compares the prefix case-sensitively; RFC 37 names are case-insensitive
      ["X-Empty", ""], // libzmq cannot express an empty value in "name:value"
    ] as const) {
      verdicts[name.length > 20 ? "X-<255 bytes>" : name] = [await libzmqAccepts(`${name}:${value}`), privateerAccepts(name, value)];
    }
    expect(verdicts).toEqual({
      "X-Fine": [true, true],
      Feature: [false, false],
      "Socket-Type": [false, false],
      "X-<255 bytes>": [true, true],
      "x-lower": [false, true],
      "X-Empty": [false, true],
    });
  });
});

describe("metadata with libzmq 4.3.5 (zeromq.js 6)", () => {
  const native: zmq.Socket[] = [];
  afterEach(() => {
    for (const socket of native.splice(0)) socket.close();
  });

  /** ZMQ_METADATA: zeromq.js keeps the option commented out as DRAFT, so it is set through the raw setter. */
  const ZMQ_METADATA = 95;
  function announce(socket: zmq.Socket, property: string): void {
    (socket as unknown as { setStringOption(option: number, value: string): void }).setStringOption(ZMQ_METADATA, property);
  }

  it("we read a zeromq.js peer's properties", async () => {
    const router = track(new Router());
    await router.bind(bindAddress("tcp"));
    const dealer = new zmq.Dealer({ routingId: "js-client", linger: 0 });
    native.push(dealer);
    announce(dealer, "X-Client:zeromq.js");
    const handshake = nextEvent(router, "handshake");
    dealer.connect(router.lastEndpoint!);
    const { peer } = await handshake;
    expect(peer.metadata.get("X-Client")?.toString()).toBe("zeromq.js");
    expect(router.peerMetadata("js-client")?.get("X-Client")?.toString()).toBe("zeromq.js");
  });

  it("a zeromq.js peer takes our READY with properties (it cannot show them to us)", async () => {
    const router = new zmq.Router({ linger: 0 });
    native.push(router);
    await router.bind("tcp://127.0.0.1:*");
    const dealer = track(
      new Dealer({ routingId: "pv", metadata: { "X-Privateer-Ext": "mdp-id/1", "X-Big": "b".repeat(1000) } }),
    );
    dealer.connect(router.lastEndpoint!);
    await dealer.send("over a READY libzmq parsed");
    const [id, body] = await router.receive();
    expect([id!.toString(), body!.toString()]).toEqual(["pv", "over a READY libzmq parsed"]);
  });
});
