/**
 * The raw peer is what the hardening, engine and socket tests trust to put
 * exact bytes on the wire and to read back exactly what arrived; a mistake
 * here could let those tests pass without proving anything. These checks pin
 * it to bytes typed from RFC 23/37 and libzmq, and to src/codec reading them.
 */
import { decodeCommand } from "../../src/codec/command";
import { FrameDecoder } from "../../src/codec/frame-decoder";
import { streamPair } from "../engine/harness";
import { ascii, FrameReader, RawPeer, zmtp, type RawFrame } from "./raw-zmtp-peer";

/** A raw peer on one end of an in-memory stream; the test writes the other end's bytes. */
function peerPair(): { peer: RawPeer; send: (bytes: Buffer) => void; hangUp: () => void } {
  const [ours, theirs] = streamPair();
  return { peer: new RawPeer(ours), send: (bytes) => theirs.write(bytes), hangUp: () => theirs.end() };
}

describe("raw ZMTP peer: the bytes it writes", () => {
  it("writes libzmq's NULL greeting and its DEALER READY, byte for byte", () => {
    expect(zmtp.greeting()).toEqual(Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 3, 1, ...ascii("NULL"), ...new Array<number>(48).fill(0)]));
    expect(zmtp.greeting({ mechanism: "CURVE", asServer: true })[32]).toBe(1);
    expect(zmtp.ready()).toEqual(
      Buffer.from([4, 41, 5, ...ascii("READY"), 11, ...ascii("Socket-Type"), 0, 0, 0, 6, ...ascii("DEALER"), 8, ...ascii("Identity"), 0, 0, 0, 0]),
    );
  });

  it("sets MORE on all frames but the last and switches to an 8-byte size above 255 bytes", () => {
    const long = Buffer.alloc(256, 7);
    const bytes = zmtp.message("a", long);
    expect([...bytes.subarray(0, 3)]).toEqual([0x01, 1, 0x61]);
    expect([...bytes.subarray(3, 12)]).toEqual([0x02, 0, 0, 0, 0, 0, 0, 1, 0]);
    // src/codec reads back the same two frames: the builders and the decoder agree on RFC 23.
    const frames: RawFrame[] = [];
    new FrameDecoder().decode(bytes, (flags, body) => frames.push({ flags, body: Buffer.from(body) }));
    expect(frames).toEqual([
      { flags: 0x01, body: Buffer.from("a") },
      { flags: 0x02, body: long },
    ]);
  });

  it("builds commands src/codec parses, properties in insertion order", () => {
    const command = decodeCommand(zmtp.ready({ "Socket-Type": "SUB", "X-Big": Buffer.alloc(300, 0x61) }).subarray(9));
    if (command.name !== "READY") throw new Error(`expected READY, got ${command.name}`);
    expect([...command.metadata.keys()]).toEqual(["Socket-Type", "X-Big"]);
    expect(command.metadata.get("x-big")).toEqual(Buffer.alloc(300, 0x61));
    expect(zmtp.parseMetadata(zmtp.metadata({ A: "1", b: Buffer.from([2]) }))).toEqual(new Map([["a", Buffer.from("1")], ["b", Buffer.from([2])]]));
  });
});

describe("raw ZMTP peer: what it reads", () => {
  it("splits a stream arriving a byte at a time into the greeting and frames, long ones included", () => {
    const stream = Buffer.concat([zmtp.greeting(), zmtp.ready(), zmtp.message("x", Buffer.alloc(300, 1))]);
    const reader = new FrameReader();
    const frames: RawFrame[] = [];
    for (let i = 0; i < stream.length; i++) frames.push(...reader.push(stream.subarray(i, i + 1)));
    expect(reader.greeting).toEqual(zmtp.greeting());
    expect(frames.map((frame) => [frame.flags, frame.body.length])).toEqual([
      [0x04, 41],
      [0x01, 1],
      [0x02, 300],
    ]);
  });

  it("nextCommand takes the next frame and fails on any other command, showing an ERROR's reason", async () => {
    const { peer, send } = peerPair();
    send(Buffer.concat([zmtp.greeting(), zmtp.ready(), zmtp.command("ERROR", "\x06denied")]));
    await expect(peer.nextCommand("READY")).resolves.toEqual(zmtp.metadata({ "Socket-Type": "DEALER", Identity: "" }));
    await expect(peer.nextCommand("PING")).rejects.toThrow('expected PING, got "ERROR" (\x06denied)');
  });

  it("skipToCommand and nextMessageFrame read past what they do not want", async () => {
    const { peer, send } = peerPair();
    send(Buffer.concat([zmtp.greeting(), zmtp.ready(), zmtp.message("m"), zmtp.command("PING", [0, 0]), zmtp.message("after")]));
    expect([...(await peer.skipToCommand("PING"))]).toEqual([0, 0]);
    expect((await peer.nextMessageFrame()).body.toString()).toBe("after");
    // Skipped, not lost: every frame stays in `seen`.
    expect(peer.seen.map((frame) => frame.flags)).toEqual([0x04, 0x00, 0x04, 0x00]);
  });

  it("fails a wait when nothing comes in time, and when the other side hangs up first", async () => {
    const { peer, send, hangUp } = peerPair();
    send(zmtp.greeting());
    await expect(peer.nextFrame(20)).rejects.toThrow("timed out after 20 ms waiting for a frame");
    expect(peer.closed).toBe(false);
    send(zmtp.frame(0, "last"));
    hangUp();
    await peer.whenClosed();
    expect(peer.closed).toBe(true);
    // What arrived before the hang-up is still there to read; past it, the wait fails at once.
    expect((await peer.nextFrame()).body.toString()).toBe("last");
    await expect(peer.bytes(1000)).rejects.toThrow("connection closed while waiting for 1000 bytes");
    expect(peer.received.length).toBe(64 + 6);
  });
});
