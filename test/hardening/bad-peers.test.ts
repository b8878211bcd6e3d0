import { Dealer, Router, type ProtocolErrorReason } from "../../src";
import { closeAll, link, nextEvent, text } from "../helpers/endpoints";
import { RawPeer, zmtp } from "../helpers/raw-zmtp-peer";

/**
 * A hostile or broken peer must get a typed error event and a closed
 * connection, and nothing else: the socket's other peers keep working and
 * the process sees no exception or unhandled rejection.
 */
describe("bad peers", () => {
  let router: Router;
  let good: Dealer;
  let raw: RawPeer | undefined;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  beforeAll(() => process.on("unhandledRejection", onUnhandled));
  afterAll(() => process.off("unhandledRejection", onUnhandled));

  beforeEach(async () => {
    unhandled.length = 0;
    router = new Router({ handshakeInterval: 500, maxMessageSize: 4096 });
    good = new Dealer({ routingId: "good" });
    await link(router, [good], "tcp");
  });

  afterEach(() => {
    raw?.destroy();
    raw = undefined;
    closeAll(router, good);
    expect(unhandled).toEqual([]);
  });

  /** The well-behaved peer still gets through after the bad one was dealt with. */
  async function goodPeerStillWorks(): Promise<void> {
    await good.send("still here");
    const [id, body] = await router.receive();
    expect(text([id!, body!])).toEqual(["good", "still here"]);
  }

  async function expectRefused(
    bytes: Buffer[],
    event: "handshake:error" | "protocol:error",
    reason: ProtocolErrorReason,
  ): Promise<void> {
    const failed = nextEvent(router, event);
    raw = await RawPeer.connect(router.lastEndpoint!);
    for (const chunk of bytes) raw.write(chunk);
    const { error } = await failed;
    expect(error.reason).toBe(reason);
    expect(error.code).toBe("EPROTO");
    await raw.whenClosed();
    await goodPeerStillWorks();
  }

  const handshake = () => [zmtp.greeting(), zmtp.ready()];

  it("refuses a stream without the ZMTP signature", () =>
    expectRefused([Buffer.from("GET / HTTP/1.1\r\n\r\n")], "handshake:error", "bad-signature"));

  it("refuses a ZMTP 1.0 peer at its first byte", () =>
    // ZMTP 1.0 opens with a length-prefixed identity frame, not 0xFF.
    expectRefused([Buffer.from([0x01, 0x00])], "handshake:error", "bad-signature"));

  it("refuses a ZMTP 2.0 greeting", () => {
    const v2 = Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x7f, 0x01, 0x05, 0x00, 0x00]);
    return expectRefused([v2], "handshake:error", "unsupported-version");
  });

  it("refuses an unknown security mechanism", () =>
    expectRefused([zmtp.greeting({ mechanism: "CURVE" })], "handshake:error", "mechanism-mismatch"));

  it("refuses a READY without Socket-Type", () =>
    expectRefused([zmtp.greeting(), zmtp.ready({ Identity: "x" })], "handshake:error", "missing-socket-type"));

  it("refuses an incompatible Socket-Type", () =>
    expectRefused([zmtp.greeting(), zmtp.ready({ "Socket-Type": "PUB" })], "handshake:error", "incompatible-socket-type"));

  it("refuses a message frame before READY", () =>
    expectRefused([zmtp.greeting(), zmtp.message("early")], "handshake:error", "unexpected-command"));

  it("drops a peer that sets reserved flag bits", () =>
    expectRefused([...handshake(), Buffer.from([0x08, 0x01, 0x41])], "protocol:error", "reserved-flags"));

  it("drops a peer whose frame exceeds maxMessageSize, before reading the body", () => {
    const header = Buffer.from([0x02, 0, 0, 0, 0, 0, 0, 0x20, 0x00]); // long frame, 8192 bytes, no body sent
    return expectRefused([...handshake(), header], "protocol:error", "message-too-large");
  });

  it("drops a peer announcing a 2^63-byte frame", () => {
    const header = Buffer.from([0x02, 0x80, 0, 0, 0, 0, 0, 0, 0]);
    return expectRefused([...handshake(), header], "protocol:error", "message-too-large");
  });

  it("drops a peer that sends a second READY", () =>
    expectRefused([...handshake(), zmtp.ready()], "protocol:error", "unexpected-command"));

  it("drops a peer that never speaks, after handshakeInterval", () =>
    expectRefused([], "handshake:error", "handshake-timeout"));

  it("drops a peer that dribbles its greeting, after handshakeInterval", async () => {
    const failed = nextEvent(router, "handshake:error");
    raw = await RawPeer.connect(router.lastEndpoint!);
    const bytes = zmtp.greeting();
    let sent = 0;
    const drip = setInterval(() => raw?.socket.writable && sent < bytes.length && raw.write(bytes.subarray(sent, ++sent)), 100);
    try {
      expect((await failed).error.reason).toBe("handshake-timeout");
      expect(sent).toBeLessThan(bytes.length);
    } finally {
      clearInterval(drip);
    }
    await goodPeerStillWorks();
  });

  it("ignores an unknown command and keeps the connection", async () => {
    const handshaken = nextEvent(router, "handshake");
    raw = await RawPeer.connect(router.lastEndpoint!);
    raw.write(zmtp.greeting(), zmtp.ready({ "Socket-Type": "DEALER", Identity: "raw" }));
    await handshaken;
    raw.write(zmtp.command("HELLO", "data"), zmtp.message("after"));
    const [id, body] = await router.receive();
    expect(text([id!, body!])).toEqual(["raw", "after"]);
  });

  it("delivers nothing of a message cut off by the peer closing", async () => {
    const handshaken = nextEvent(router, "handshake");
    const gone = nextEvent(router, "disconnect");
    raw = await RawPeer.connect(router.lastEndpoint!);
    raw.write(zmtp.greeting(), zmtp.ready({ "Socket-Type": "DEALER", Identity: "raw" }));
    await handshaken;
    // First frame complete with MORE set, second frame truncated mid-body.
    raw.write(Buffer.from([0x01, 0x03]), Buffer.from("one"), Buffer.from([0x00, 0x0a]), Buffer.from("tw"));
    raw.end();
    await gone;
    // The next message the router yields must be the good peer's, not a fragment of the raw one's.
    await goodPeerStillWorks();
  });
});
