import * as net from "node:net";
import { VirtualTimeScheduler } from "rxjs";
import { TestScheduler } from "rxjs/testing";
import { decodeCommand } from "../../src/codec/command";
import type { SocketType } from "../../src/engine/socket-type";
import { ZmtpEngine, type EngineOptions } from "../../src/engine/zmtp-engine";
import { ProtocolError, type ProtocolErrorReason } from "../../src/errors";
import { ascii, RawPeer, zmtp, type RawFrame } from "../helpers/raw-zmtp-peer";
import { engineOptions, Recorder, sourceOf, streamPair } from "./harness";

const engines: ZmtpEngine[] = [];
const sockets: net.Socket[] = [];
const servers: net.Server[] = [];

afterEach(async () => {
  for (const engine of engines.splice(0)) engine.close();
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** An engine on one end of an in-memory stream, and a raw peer on the other. */
function engineWithRawPeer(
  overrides: Partial<EngineOptions> & Pick<EngineOptions, "socketType">,
  recorder = new Recorder(),
): { engine: ZmtpEngine; peer: RawPeer; recorder: Recorder } {
  const [ours, theirs] = streamPair();
  const peer = new RawPeer(theirs);
  const engine = new ZmtpEngine(ours, engineOptions(overrides), recorder);
  engines.push(engine);
  return { engine, peer, recorder };
}

/** Completes the handshake from the raw side as a peer of `type`. */
async function handshake(peer: RawPeer, recorder: Recorder, type: SocketType, minor = 1): Promise<void> {
  peer.write(zmtp.greeting({ minor }), zmtp.ready({ "Socket-Type": type }));
  await recorder.handshaken();
}

async function closeReason(recorder: Recorder): Promise<ProtocolErrorReason> {
  const { error } = await recorder.whenClosed();
  expect(error).toBeInstanceOf(ProtocolError);
  return (error as ProtocolError).reason;
}

/** The frames of the engine's output after its greeting and READY. */
async function framesAfterReady(peer: RawPeer, count: number): Promise<RawFrame[]> {
  const frames = await peer.frames(count + 1);
  expect(decodeCommand(frames[0]!.body).name).toBe("READY");
  return frames.slice(1);
}

const frame = (flags: number, body: number[] | Buffer): RawFrame => ({ flags, body: Buffer.from(body) });

describe("ZmtpEngine: what it writes", () => {
  it("opens with a full 64-byte ZMTP 3.1 NULL greeting, before hearing from the peer", async () => {
    const { peer } = engineWithRawPeer({ socketType: "DEALER" });
    // libzmq's zmtp_greeting_null, except for the minor version: we speak 3.1.
    const expected = Buffer.from([
      0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 3, 1, ...ascii("NULL"), ...new Array<number>(48).fill(0),
    ]);
    expect(await peer.bytes(64)).toEqual(expected);
  });

  it("keeps as-server zero on accepted connections, as RFC 37 requires for NULL", async () => {
    const { peer } = engineWithRawPeer({ socketType: "ROUTER", asServer: true });
    const greeting = await peer.bytes(64);
    expect(greeting[32]).toBe(0);
  });

  // READY bytes (flags, size, body) from libzmq tests/testutil.hpp, re-typed.
  const LIBZMQ_READY: Partial<Record<SocketType, number[]>> = {
    DEALER: [
      4, 41, 5, ...ascii("READY"), 11, ...ascii("Socket-Type"), 0, 0, 0, 6, ...ascii("DEALER"),
      8, ...ascii("Identity"), 0, 0, 0, 0,
    ],
    SUB: [4, 25, 5, ...ascii("READY"), 11, ...ascii("Socket-Type"), 0, 0, 0, 3, ...ascii("SUB")],
    XPUB: [4, 26, 5, ...ascii("READY"), 11, ...ascii("Socket-Type"), 0, 0, 0, 4, ...ascii("XPUB")],
  };

  it.each(["DEALER", "SUB", "XPUB"] as const)("answers the greeting with libzmq's zmtp_ready_%s bytes", async (type) => {
    const { peer } = engineWithRawPeer({ socketType: type });
    peer.write(zmtp.greeting());
    const expected = Buffer.from(LIBZMQ_READY[type]!);
    expect((await peer.bytes(64 + expected.length)).subarray(64)).toEqual(expected);
  });

  it("appends application properties to READY after the built-ins, as libzmq's ZMQ_METADATA does", async () => {
    // What libzmq 4.3.4 sends as a DEALER with ZMQ_METADATA "X-Foo:bar" (read off the wire from pyzmq), re-typed.
    const libzmqDealerWithMetadata = [
      4, 54, 5, ...ascii("READY"), 11, ...ascii("Socket-Type"), 0, 0, 0, 6, ...ascii("DEALER"),
      8, ...ascii("Identity"), 0, 0, 0, 0, 5, ...ascii("X-Foo"), 0, 0, 0, 3, ...ascii("bar"),
    ];
    const { peer } = engineWithRawPeer({ socketType: "DEALER", metadata: [["X-Foo", Buffer.from("bar")]] });
    peer.write(zmtp.greeting());
    expect((await peer.bytes(64 + libzmqDealerWithMetadata.length)).subarray(64)).toEqual(
      Buffer.from(libzmqDealerWithMetadata),
    );
    // And a READY whose properties take it past 255 bytes goes out as a long command frame.
    const big = Buffer.alloc(300, 0x61);
    const long = engineWithRawPeer({ socketType: "PUSH", metadata: [["X-Big", big]] });
    long.peer.write(zmtp.greeting());
    const expected = zmtp.command(
      "READY",
      Buffer.concat([
        Buffer.from([11, ...ascii("Socket-Type"), 0, 0, 0, 4, ...ascii("PUSH")]),
        Buffer.from([5, ...ascii("X-Big"), 0, 0, 1, 44]), // 300 = 0x012c
        big,
      ]),
    );
    expect((await long.peer.bytes(64 + expected.length)).subarray(64)).toEqual(expected);
  });

  it("sends Identity from REQ, DEALER and ROUTER only, carrying the routing id", async () => {
    // RFC 37's worked example shows a ROUTER without Identity; libzmq sends it for ROUTER too, and so do we.
    const cases: Array<[SocketType, Buffer | undefined, Buffer | undefined]> = [
      ["ROUTER", undefined, Buffer.alloc(0)],
      ["REQ", Buffer.from("client-7"), Buffer.from("client-7")],
      ["DEALER", Buffer.from([1, 2, 3]), Buffer.from([1, 2, 3])],
      ["PUSH", Buffer.from("ignored"), undefined],
      ["PAIR", undefined, undefined],
    ];
    for (const [socketType, routingId, identity] of cases) {
      const { peer } = engineWithRawPeer({ socketType, routingId });
      peer.write(zmtp.greeting());
      const [ready] = await peer.frames(1);
      expect(ready!.flags).toBe(0x04);
      const command = decodeCommand(ready!.body);
      if (command.name !== "READY") throw new Error(`expected READY, got ${command.name}`);
      expect([socketType, command.metadata.get("socket-type")?.toString()]).toEqual([socketType, socketType]);
      expect([socketType, command.metadata.get("identity")]).toEqual([socketType, identity]);
    }
  });
});

describe("ZmtpEngine: handshakes", () => {
  it("completes between two engines and reports each side's peer", async () => {
    const [a, b] = streamPair();
    const client = new Recorder();
    const server = new Recorder();
    engines.push(
      new ZmtpEngine(a, engineOptions({ socketType: "DEALER", routingId: Buffer.from("dealer-1") }), client),
      new ZmtpEngine(b, engineOptions({ socketType: "ROUTER", asServer: true }), server),
    );
    const [fromClient, fromServer] = await Promise.all([client.handshaken(), server.handshaken()]);
    expect(fromClient.socketType).toBe("ROUTER");
    expect(fromClient.protocol).toBe("ZMTP/3.1");
    expect(fromClient.routingId).toEqual(Buffer.alloc(0));
    expect(fromServer.socketType).toBe("DEALER");
    expect(fromServer.protocol).toBe("ZMTP/3.1");
    expect(fromServer.routingId).toEqual(Buffer.from("dealer-1"));
    expect(fromServer.metadata.get("socket-type")).toEqual(Buffer.from("DEALER"));
    expect(engines.every((engine) => engine.peer !== undefined && !engine.closed)).toBe(true);
  });

  it("carries multipart messages both ways between two engines, in order", async () => {
    const [a, b] = streamPair();
    const left = new Recorder();
    const right = new Recorder();
    const leftEngine = new ZmtpEngine(a, engineOptions({ socketType: "PAIR" }), left);
    const rightEngine = new ZmtpEngine(b, engineOptions({ socketType: "PAIR" }), right);
    engines.push(leftEngine, rightEngine);
    const big = Buffer.alloc(100_000, 0xab);
    leftEngine.pull(sourceOf([[Buffer.from("one")], [Buffer.alloc(0), Buffer.alloc(300, 7), big], [Buffer.from("three")]]));
    rightEngine.pull(sourceOf([[Buffer.from("back")]]));
    const received = await right.nextMessages(3);
    expect(received.map((message) => message.map((f) => f.length))).toEqual([[3], [0, 300, 100_000], [5]]);
    expect(received[1]![2]!.equals(big)).toBe(true);
    expect(received[2]).toEqual([Buffer.from("three")]);
    expect(await left.nextMessages(1)).toEqual([[Buffer.from("back")]]);
  });

  it("completes over a real TCP connection on 127.0.0.1", async () => {
    const server = net.createServer();
    servers.push(server);
    const accepted = new Promise<net.Socket>((resolve) => server.once("connection", resolve));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as net.AddressInfo;
    const client = net.connect(port, "127.0.0.1");
    sockets.push(client);
    const serverSide = await accepted;
    sockets.push(serverSide);
    const push = new Recorder();
    const pull = new Recorder();
    const pushEngine = new ZmtpEngine(client, engineOptions({ socketType: "PUSH" }), push);
    engines.push(pushEngine, new ZmtpEngine(serverSide, engineOptions({ socketType: "PULL", asServer: true }), pull));
    expect((await pull.handshaken()).socketType).toBe("PUSH");
    pushEngine.pull(sourceOf([[Buffer.from("over tcp")]]));
    expect(await pull.nextMessages(1)).toEqual([[Buffer.from("over tcp")]]);
  });

  it("refuses incompatible socket types, telling the peer why with ERROR", async () => {
    const { peer, recorder } = engineWithRawPeer({ socketType: "PUSH" });
    peer.write(zmtp.greeting(), zmtp.ready({ "Socket-Type": "PUB" }));
    expect(await closeReason(recorder)).toBe("incompatible-socket-type");
    expect(recorder.closedWith!.handshaken).toBe(false);
    expect(recorder.peers).toEqual([]);
    await peer.whenClosed();
    const frames = peer.seen;
    expect(frames.map((f) => decodeCommand(f.body).name)).toEqual(["READY", "ERROR"]);
  });

  it("refuses incompatible socket types between two engines", async () => {
    const [a, b] = streamPair();
    const push = new Recorder();
    engines.push(new ZmtpEngine(a, engineOptions({ socketType: "PUSH" }), push), new ZmtpEngine(b, engineOptions({ socketType: "PUB" }), new Recorder()));
    expect(await closeReason(push)).toBe("incompatible-socket-type");
  });

  it("refuses a socket type it does not know", async () => {
    const { peer, recorder } = engineWithRawPeer({ socketType: "DEALER" });
    peer.write(zmtp.greeting(), zmtp.ready({ "Socket-Type": "CLIENT" }));
    expect(await closeReason(recorder)).toBe("incompatible-socket-type");
  });

  it("reads property names case-insensitively", async () => {
    const { peer, recorder } = engineWithRawPeer({ socketType: "ROUTER" });
    peer.write(zmtp.greeting(), zmtp.ready({ "SOCKET-TYPE": "DEALER", iDeNtItY: "who" }));
    const info = await recorder.handshaken();
    expect(info.socketType).toBe("DEALER");
    expect(info.routingId).toEqual(Buffer.from("who"));
  });

  it("accepts READY split into single bytes", async () => {
    const { peer, recorder } = engineWithRawPeer({ socketType: "PULL" });
    const bytes = Buffer.concat([zmtp.greeting(), zmtp.ready({ "Socket-Type": "PUSH" }), zmtp.message("a", "b")]);
    for (let i = 0; i < bytes.length; i++) peer.write(bytes.subarray(i, i + 1));
    expect(await recorder.nextMessages(1)).toEqual([[Buffer.from("a"), Buffer.from("b")]]);
  });

  it("lets the owner refuse the peer from its handshake callback", async () => {
    const recorder = new Recorder();
    recorder.refusal = new ProtocolError("duplicate-routing-id", "already have that one");
    const { peer } = engineWithRawPeer({ socketType: "ROUTER" }, recorder);
    peer.write(zmtp.greeting(), zmtp.ready({ "Socket-Type": "DEALER", Identity: "dup" }));
    expect(await closeReason(recorder)).toBe("duplicate-routing-id");
    expect(recorder.closedWith!.handshaken).toBe(false);
  });
});

describe("ZmtpEngine: broken peers", () => {
  const cases: Array<[string, ProtocolErrorReason, () => Buffer]> = [
    ["an HTTP request", "bad-signature", () => Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n".padEnd(64, " "))],
    ["a ZMTP 1.0 identity frame", "bad-signature", () => Buffer.from([0x01, 0x00])],
    ["a ZMTP 2.0 greeting (revision 0x01)", "unsupported-version", () => Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 0x01])],
    ["a greeting announcing major version 2", "unsupported-version", () => zmtp.greeting({ major: 2 })],
    ["the PLAIN mechanism", "mechanism-mismatch", () => zmtp.greeting({ mechanism: "PLAIN" })],
    ["the CURVE mechanism", "mechanism-mismatch", () => zmtp.greeting({ mechanism: "CURVE" })],
    ["READY without Socket-Type", "missing-socket-type", () => Buffer.concat([zmtp.greeting(), zmtp.ready({ Identity: "x" })])],
    ["a message frame before READY", "unexpected-command", () => Buffer.concat([zmtp.greeting(), zmtp.message("too early")])],
    ["PING before READY", "unexpected-command", () => Buffer.concat([zmtp.greeting(), zmtp.command("PING", [0, 0])])],
    ["ERROR instead of READY", "peer-error", () => Buffer.concat([zmtp.greeting(), zmtp.command("ERROR", [6, ...ascii("denied")])])],
    ["a truncated READY property", "malformed-command", () => Buffer.concat([zmtp.greeting(), zmtp.command("READY", [11, ...ascii("Socket-Type"), 0, 0])])],
    ["reserved frame flags", "reserved-flags", () => Buffer.concat([zmtp.greeting(), Buffer.from([0x40, 0])])],
  ];

  it.each(cases)("closes on %s with %s, before the handshake", async (_what, reason, bytes) => {
    const { peer, recorder } = engineWithRawPeer({ socketType: "DEALER" });
    peer.write(bytes());
    expect(await closeReason(recorder)).toBe(reason);
    expect(recorder.closedWith!.handshaken).toBe(false);
    expect(recorder.peers).toEqual([]);
  });

  it("tells a peer that announced an ERROR nothing back", async () => {
    const { peer, recorder } = engineWithRawPeer({ socketType: "DEALER" });
    peer.write(zmtp.greeting(), zmtp.command("ERROR", [3, ...ascii("bye")]));
    expect(await closeReason(recorder)).toBe("peer-error");
    await peer.whenClosed();
    expect(peer.seen.map((f) => decodeCommand(f.body).name)).toEqual(["READY"]);
  });

  it("rejects a ZMTP 2.0 peer from its first 11 bytes, without waiting for a full greeting", async () => {
    const { peer, recorder } = engineWithRawPeer({ socketType: "DEALER" });
    peer.write([0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0x01]);
    expect(await closeReason(recorder)).toBe("unsupported-version");
  });

  it("reports a peer that hangs up during the handshake as truncated", async () => {
    const { peer, recorder } = engineWithRawPeer({ socketType: "DEALER" });
    peer.write(zmtp.greeting().subarray(0, 30));
    peer.end();
    expect(await closeReason(recorder)).toBe("truncated");
  });

  describe("after the handshake", () => {
    async function ready(socketType: SocketType = "PAIR", peerType: SocketType = "PAIR", overrides: Partial<EngineOptions> = {}) {
      const setup = engineWithRawPeer({ socketType, ...overrides });
      await handshake(setup.peer, setup.recorder, peerType);
      return setup;
    }

    it("closes on ERROR with peer-error", async () => {
      const { peer, recorder } = await ready();
      peer.write(zmtp.command("ERROR", [4, ...ascii("gone")]));
      expect(await closeReason(recorder)).toBe("peer-error");
      expect(recorder.closedWith!.handshaken).toBe(true);
    });

    it("closes on a second READY", async () => {
      const { peer, recorder } = await ready();
      peer.write(zmtp.ready({ "Socket-Type": "PAIR" }));
      expect(await closeReason(recorder)).toBe("unexpected-command");
    });

    it("closes on a command frame with MORE set", async () => {
      const { peer, recorder } = await ready();
      const ping = zmtp.command("PING", [0, 0]);
      ping[0] = 0x05;
      peer.write(ping);
      expect(await closeReason(recorder)).toBe("malformed-command");
    });

    it("closes on a frame over maxMessageSize, delivering the messages before it", async () => {
      const { peer, recorder } = await ready("PAIR", "PAIR", { maxMessageSize: 4 });
      peer.write(zmtp.message("1234"), zmtp.message("12345"));
      expect(await closeReason(recorder)).toBe("message-too-large");
      expect(recorder.messages).toEqual([[Buffer.from("1234")]]);
    });

    it("closes cleanly (no error) when the peer hangs up", async () => {
      const { peer, recorder } = await ready();
      peer.end();
      const closed = await recorder.whenClosed();
      expect(closed.error).toBeUndefined();
      expect(closed.handshaken).toBe(true);
    });

    it("answers PING with PONG carrying the same context", async () => {
      const { peer } = await ready();
      peer.write(zmtp.command("PING", [0, 0, ...ascii("ctx-0123456789ab")]));
      peer.write(zmtp.command("PING", [0, 5]));
      const frames = await framesAfterReady(peer, 2);
      expect(frames).toEqual([frame(0x04, [4, ...ascii("PONG"), ...ascii("ctx-0123456789ab")]), frame(0x04, [4, ...ascii("PONG")])]);
    });

    it("ignores PONG and unknown commands and keeps delivering messages", async () => {
      const { peer, recorder, engine } = await ready();
      peer.write(zmtp.command("PONG", ascii("x")), zmtp.command("HELLO", [1, 2, 3]), zmtp.message("still here"));
      expect(await recorder.nextMessages(1)).toEqual([[Buffer.from("still here")]]);
      expect(engine.closed).toBe(false);
    });

    it("delivers SUBSCRIBE and CANCEL to a publisher as 0x01/0x00 messages", async () => {
      const { peer, recorder } = await ready("XPUB", "SUB");
      peer.write(zmtp.command("SUBSCRIBE", ascii("weather")), zmtp.command("CANCEL", ascii("weather")), zmtp.command("SUBSCRIBE", []));
      expect(await recorder.nextMessages(3)).toEqual([
        [Buffer.from([1, ...ascii("weather")])],
        [Buffer.from([0, ...ascii("weather")])],
        [Buffer.from([1])],
      ]);
    });

    it("passes a ZMTP 3.0 subscriber's 0x01 message to a publisher unchanged", async () => {
      const setup = engineWithRawPeer({ socketType: "PUB" });
      await handshake(setup.peer, setup.recorder, "SUB", 0);
      setup.peer.write(zmtp.message([1, ...ascii("news")]));
      expect(await setup.recorder.nextMessages(1)).toEqual([[Buffer.from([1, ...ascii("news")])]]);
    });

    it("drops SUBSCRIBE sent to a socket that takes no subscriptions", async () => {
      const { peer, recorder } = await ready("DEALER", "DEALER");
      peer.write(zmtp.command("SUBSCRIBE", ascii("x")), zmtp.message("after"));
      expect(await recorder.nextMessages(1)).toEqual([[Buffer.from("after")]]);
    });
  });
});

describe("ZmtpEngine: subscriptions on the wire", () => {
  const subscribe = [Buffer.from([1, ...ascii("topic")])];
  const cancel = [Buffer.from([0, ...ascii("topic")])];

  it("sends SUBSCRIBE/CANCEL commands to a ZMTP 3.1 publisher", async () => {
    const { engine, peer, recorder } = engineWithRawPeer({ socketType: "SUB" });
    await handshake(peer, recorder, "PUB", 1);
    expect(recorder.peers[0]!.protocol).toBe("ZMTP/3.1");
    engine.pull(sourceOf([subscribe, cancel]));
    expect(await framesAfterReady(peer, 2)).toEqual([
      frame(0x04, [9, ...ascii("SUBSCRIBE"), ...ascii("topic")]),
      frame(0x04, [6, ...ascii("CANCEL"), ...ascii("topic")]),
    ]);
  });

  it("sends 0x01/0x00 messages to a peer announcing ZMTP 3.0", async () => {
    const { engine, peer, recorder } = engineWithRawPeer({ socketType: "XSUB" });
    await handshake(peer, recorder, "XPUB", 0);
    expect(recorder.peers[0]!.protocol).toBe("ZMTP/3.0");
    engine.pull(sourceOf([subscribe, cancel]));
    expect(await framesAfterReady(peer, 2)).toEqual([frame(0x00, [1, ...ascii("topic")]), frame(0x00, [0, ...ascii("topic")])]);
  });

  it("treats a peer announcing a later major version as 3.1 (RFC 37: accept higher versions)", async () => {
    const { engine, peer, recorder } = engineWithRawPeer({ socketType: "SUB" });
    peer.write(zmtp.greeting({ major: 4, minor: 0 }), zmtp.ready({ "Socket-Type": "PUB" }));
    expect((await recorder.handshaken()).protocol).toBe("ZMTP/3.1");
    engine.pull(sourceOf([subscribe]));
    expect(await framesAfterReady(peer, 1)).toEqual([frame(0x04, [9, ...ascii("SUBSCRIBE"), ...ascii("topic")])]);
  });

  it("sends an XSUB's other messages as plain messages", async () => {
    const { engine, peer, recorder } = engineWithRawPeer({ socketType: "XSUB" });
    await handshake(peer, recorder, "XPUB", 1);
    engine.pull(sourceOf([[Buffer.from([2, 0x78])], [Buffer.from([1, 0x61]), Buffer.from("b")], [Buffer.alloc(0)]]));
    expect(await framesAfterReady(peer, 4)).toEqual([
      frame(0x00, [2, 0x78]),
      frame(0x01, [1, 0x61]),
      frame(0x00, ascii("b")),
      frame(0x00, []),
    ]);
  });

  it("sends a PUB's messages starting with 0x01 as messages, not commands", async () => {
    const { engine, peer, recorder } = engineWithRawPeer({ socketType: "PUB" });
    await handshake(peer, recorder, "SUB", 1);
    engine.pull(sourceOf([[Buffer.from([1, ...ascii("data")])]]));
    expect(await framesAfterReady(peer, 1)).toEqual([frame(0x00, [1, ...ascii("data")])]);
  });
});

describe("ZmtpEngine: timers in virtual time", () => {
  it("gives up on a silent peer after handshakeInterval", () => {
    const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    const recorder = new Recorder(scheduler);
    let seenAt2999: unknown = "not checked";
    scheduler.run(() => {
      engineWithRawPeer({ socketType: "DEALER", handshakeInterval: 3000, scheduler }, recorder);
      scheduler.schedule(() => (seenAt2999 = recorder.closedWith), 2999);
    });
    expect(seenAt2999).toBeUndefined();
    expect(recorder.closedWith?.at).toBe(3000);
    expect((recorder.closedWith?.error as ProtocolError).reason).toBe("handshake-timeout");
  });

  it("cancels the handshake timer once READY arrives", async () => {
    const scheduler = new VirtualTimeScheduler();
    const { peer, recorder } = engineWithRawPeer({ socketType: "DEALER", handshakeInterval: 3000, scheduler }, new Recorder(scheduler));
    await handshake(peer, recorder, "ROUTER");
    // A marker well past the deadline proves virtual time really moved beyond it.
    scheduler.schedule(() => undefined, 5000);
    scheduler.flush();
    expect(scheduler.now()).toBe(5000);
    expect(recorder.closedWith).toBeUndefined();
  });

  it("sends PINGs with its TTL and closes when nothing answers", async () => {
    const scheduler = new VirtualTimeScheduler();
    const { peer, recorder } = engineWithRawPeer(
      { socketType: "DEALER", heartbeatInterval: 1000, heartbeatTimeout: 500, heartbeatTimeToLive: 3000, scheduler },
      new Recorder(scheduler),
    );
    await handshake(peer, recorder, "ROUTER");
    scheduler.flush();
    expect(recorder.closedWith?.at).toBe(1500);
    expect((recorder.closedWith?.error as ProtocolError).reason).toBe("heartbeat-timeout");
    expect(recorder.closedWith?.handshaken).toBe(true);
    const frames = await framesAfterReady(peer, 2);
    // TTL 3000 ms goes out as 30 tenths of a second.
    expect(frames[0]).toEqual(frame(0x04, [4, ...ascii("PING"), 0, 30]));
    expect(decodeCommand(frames[1]!.body).name).toBe("ERROR");
  });

  it("drops a peer whose PING TTL passes in silence", async () => {
    const scheduler = new VirtualTimeScheduler();
    const { peer, recorder } = engineWithRawPeer({ socketType: "DEALER", scheduler }, new Recorder(scheduler));
    await handshake(peer, recorder, "ROUTER");
    peer.write(zmtp.command("PING", [0, 25]));
    await framesAfterReady(peer, 1); // our PONG: the PING has been processed
    scheduler.flush();
    expect(recorder.closedWith?.at).toBe(2500);
    expect((recorder.closedWith?.error as ProtocolError).reason).toBe("heartbeat-timeout");
  });
});
