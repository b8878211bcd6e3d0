import fc from "fast-check";
import { decodeCommand, encodeCommand, PING_CONTEXT_MAX, type Command } from "../../src/codec/command";
import { FrameDecoder } from "../../src/codec/frame-decoder";
import { FrameEncoder } from "../../src/codec/frame-encoder";
import { ProtocolError, type ProtocolErrorReason } from "../../src/errors";

const ascii = (text: string): number[] => [...Buffer.from(text, "ascii")];

/*
 * READY command frames from libzmq tests/testutil.hpp, re-typed: frame flags
 * (0x04 = short command), size, then the command body.
 */
const LIBZMQ_READY_DEALER = Buffer.from([
  4, 41, 5, ...ascii("READY"),
  11, ...ascii("Socket-Type"), 0, 0, 0, 6, ...ascii("DEALER"),
  8, ...ascii("Identity"), 0, 0, 0, 0,
]);
const LIBZMQ_READY_XPUB = Buffer.from([4, 26, 5, ...ascii("READY"), 11, ...ascii("Socket-Type"), 0, 0, 0, 4, ...ascii("XPUB")]);
const LIBZMQ_READY_SUB = Buffer.from([4, 25, 5, ...ascii("READY"), 11, ...ascii("Socket-Type"), 0, 0, 0, 3, ...ascii("SUB")]);
/** RFC 37 worked example: the ROUTER server's reply, which carries no Identity. */
const RFC_READY_ROUTER = Buffer.from([4, 28, 5, ...ascii("READY"), 11, ...ascii("Socket-Type"), 0, 0, 0, 6, ...ascii("ROUTER")]);

/** A command body framed exactly as the engine would send it. */
function framed(command: Command): Buffer {
  const encoder = new FrameEncoder();
  encoder.command(encodeCommand(command));
  return Buffer.concat(encoder.take());
}

/** The single command in a framed byte string. */
function unframed(bytes: Buffer): Command {
  const frames: Array<[number, Buffer]> = [];
  new FrameDecoder().decode(bytes, (flags, body) => frames.push([flags, Buffer.from(body)]));
  expect(frames).toHaveLength(1);
  expect(frames[0]![0] & 0x04).toBe(0x04);
  return decodeCommand(frames[0]![1]);
}

function ready(...properties: Array<[string, string]>): Command {
  return { name: "READY", metadata: new Map(properties.map(([k, v]) => [k, Buffer.from(v)])) };
}

function reasonOf(fn: () => unknown): ProtocolErrorReason | "no error" {
  try {
    fn();
  } catch (error) {
    if (error instanceof ProtocolError) return error.reason;
    throw error;
  }
  return "no error";
}

describe("READY", () => {
  it("encodes libzmq's zmtp_ready_dealer (= RFC 37's DEALER example) byte for byte", () => {
    expect(LIBZMQ_READY_DEALER).toHaveLength(43);
    expect(framed(ready(["Socket-Type", "DEALER"], ["Identity", ""]))).toEqual(LIBZMQ_READY_DEALER);
  });

  it("encodes libzmq's zmtp_ready_xpub and zmtp_ready_sub byte for byte", () => {
    expect(framed(ready(["Socket-Type", "XPUB"]))).toEqual(LIBZMQ_READY_XPUB);
    expect(framed(ready(["Socket-Type", "SUB"]))).toEqual(LIBZMQ_READY_SUB);
  });

  it("encodes RFC 37's ROUTER reply byte for byte", () => {
    expect(framed(ready(["Socket-Type", "ROUTER"]))).toEqual(RFC_READY_ROUTER);
  });

  it("decodes the fixtures, names as sent and looked up case-insensitively", () => {
    const dealer = unframed(LIBZMQ_READY_DEALER);
    expect(dealer.name).toBe("READY");
    if (dealer.name !== "READY") return;
    expect([...dealer.metadata.keys()]).toEqual(["Socket-Type", "Identity"]);
    expect(dealer.metadata.get("socket-type")).toEqual(Buffer.from("DEALER"));
    expect(dealer.metadata.get("identity")).toEqual(Buffer.alloc(0));

    for (const [fixture, type] of [
      [LIBZMQ_READY_XPUB, "XPUB"],
      [LIBZMQ_READY_SUB, "SUB"],
      [RFC_READY_ROUTER, "ROUTER"],
    ] as const) {
      const command = unframed(fixture);
      if (command.name !== "READY") throw new Error(`expected READY, got ${command.name}`);
      expect(command.metadata.get("socket-type")?.toString()).toBe(type);
      expect(command.metadata.size).toBe(1);
    }
  });

  it("decodes READY with no properties", () => {
    const command = decodeCommand(Buffer.from([5, ...ascii("READY")]));
    expect(command.name).toBe("READY");
    if (command.name === "READY") expect(command.metadata.size).toBe(0);
  });

  it("rejects truncated metadata as malformed-command", () => {
    const body = LIBZMQ_READY_DEALER.subarray(2);
    // Cutting inside the Identity value length leaves a half property.
    expect(reasonOf(() => decodeCommand(body.subarray(0, body.length - 2)))).toBe("malformed-command");
  });
});

describe("PING and PONG (RFC 37 Connection Heartbeating)", () => {
  it("lays PING out as name, 2-byte big-endian TTL, context", () => {
    const body = encodeCommand({ name: "PING", ttl: 0x1234, context: Buffer.from("ctx") });
    expect(body).toEqual(Buffer.from([4, ...ascii("PING"), 0x12, 0x34, ...ascii("ctx")]));
    expect(framed({ name: "PING", ttl: 30, context: Buffer.alloc(0) })).toEqual(Buffer.from([4, 7, 4, ...ascii("PING"), 0, 30]));
  });

  it("clamps the TTL to 16 bits", () => {
    const ping = (ttl: number) => encodeCommand({ name: "PING", ttl, context: Buffer.alloc(0) }).subarray(5);
    expect(ping(70000)).toEqual(Buffer.from([0xff, 0xff]));
    expect(ping(-5)).toEqual(Buffer.from([0, 0]));
  });

  it("lays PONG out as name and echoed context", () => {
    expect(encodeCommand({ name: "PONG", context: Buffer.from("ctx") })).toEqual(Buffer.from([4, ...ascii("PONG"), ...ascii("ctx")]));
    expect(encodeCommand({ name: "PONG", context: Buffer.alloc(0) })).toEqual(Buffer.from([4, ...ascii("PONG")]));
  });

  it("round-trips any TTL and any context up to 16 bytes", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), fc.uint8Array({ maxLength: PING_CONTEXT_MAX }), (ttl, bytes) => {
        const context = Buffer.from(bytes);
        expect(decodeCommand(encodeCommand({ name: "PING", ttl, context }))).toEqual({ name: "PING", ttl, context });
        expect(decodeCommand(encodeCommand({ name: "PONG", context }))).toEqual({ name: "PONG", context });
      }),
    );
  });

  it("rejects a PING without a full TTL", () => {
    expect(reasonOf(() => decodeCommand(Buffer.from([4, ...ascii("PING")])))).toBe("malformed-command");
    expect(reasonOf(() => decodeCommand(Buffer.from([4, ...ascii("PING"), 0])))).toBe("malformed-command");
  });

  it("keeps the first 16 bytes of a longer PING or PONG context, as libzmq does", () => {
    const ping = decodeCommand(Buffer.from([4, ...ascii("PING"), 0, 7, ...Array.from({ length: 30 }, (_, i) => i)]));
    expect(ping).toEqual({ name: "PING", ttl: 7, context: Buffer.from(Array.from({ length: 16 }, (_, i) => i)) });
    const pong = decodeCommand(Buffer.from([4, ...ascii("PONG"), ...new Array<number>(17).fill(1)]));
    expect(pong).toEqual({ name: "PONG", context: Buffer.alloc(16, 1) });
  });
});

describe("SUBSCRIBE and CANCEL (RFC 37 Publish-Subscribe)", () => {
  it("lay out as name then the raw subscription", () => {
    expect(framed({ name: "SUBSCRIBE", topic: Buffer.from("A") })).toEqual(Buffer.from([4, 11, 9, ...ascii("SUBSCRIBE"), 0x41]));
    expect(framed({ name: "CANCEL", topic: Buffer.from("A") })).toEqual(Buffer.from([4, 8, 6, ...ascii("CANCEL"), 0x41]));
  });

  it("carry the empty subscription", () => {
    expect(encodeCommand({ name: "SUBSCRIBE", topic: Buffer.alloc(0) })).toEqual(Buffer.from([9, ...ascii("SUBSCRIBE")]));
    expect(decodeCommand(Buffer.from([6, ...ascii("CANCEL")]))).toEqual({ name: "CANCEL", topic: Buffer.alloc(0) });
  });

  it("round-trip binary topics, using a long frame past 255 bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (bytes, subscribe) => {
        const topic = Buffer.from(bytes);
        const command: Command = subscribe ? { name: "SUBSCRIBE", topic } : { name: "CANCEL", topic };
        const wire = framed(command);
        const bodyLength = 1 + (subscribe ? 9 : 6) + topic.length;
        expect(wire[0]).toBe(bodyLength > 255 ? 0x06 : 0x04);
        expect(unframed(wire)).toEqual(command);
      }),
    );
  });
});

describe("ERROR", () => {
  it("lays out as name, one-byte reason length, reason", () => {
    expect(framed({ name: "ERROR", reason: "denied" })).toEqual(Buffer.from([4, 13, 5, ...ascii("ERROR"), 6, ...ascii("denied")]));
    expect(decodeCommand(Buffer.from([5, ...ascii("ERROR"), 6, ...ascii("denied")]))).toEqual({ name: "ERROR", reason: "denied" });
  });

  it("truncates reasons to the 255 bytes the length byte can describe", () => {
    const body = encodeCommand({ name: "ERROR", reason: "x".repeat(300) });
    expect(body[6]).toBe(255);
    expect(body).toHaveLength(1 + 5 + 1 + 255);
    expect(decodeCommand(body)).toEqual({ name: "ERROR", reason: "x".repeat(255) });
  });

  it("rejects a missing or truncated reason", () => {
    expect(reasonOf(() => decodeCommand(Buffer.from([5, ...ascii("ERROR")])))).toBe("malformed-command");
    expect(reasonOf(() => decodeCommand(Buffer.from([5, ...ascii("ERROR"), 6, ...ascii("deni")])))).toBe("malformed-command");
  });
});

describe("command names", () => {
  it("are length-prefixed, not NUL-terminated", () => {
    const body = encodeCommand({ name: "UNKNOWN", commandName: "HELLO", data: Buffer.from([0, 1, 2]) });
    expect(body).toEqual(Buffer.from([5, ...ascii("HELLO"), 0, 1, 2]));
    expect(decodeCommand(body)).toEqual({ name: "UNKNOWN", commandName: "HELLO", data: Buffer.from([0, 1, 2]) });
  });

  it("are matched exactly: a lower-case name is an unknown command", () => {
    expect(decodeCommand(Buffer.from([4, ...ascii("ping"), 0, 0]))).toEqual({
      name: "UNKNOWN",
      commandName: "ping",
      data: Buffer.from([0, 0]),
    });
  });

  it("reject an empty body, a zero-length name, or a name running past the body", () => {
    expect(reasonOf(() => decodeCommand(Buffer.alloc(0)))).toBe("malformed-command");
    expect(reasonOf(() => decodeCommand(Buffer.from([0, 1, 2])))).toBe("malformed-command");
    expect(reasonOf(() => decodeCommand(Buffer.from([6, ...ascii("READY")])))).toBe("malformed-command");
  });
});
