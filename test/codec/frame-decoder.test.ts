import fc from "fast-check";
import { FrameFlags } from "../../src/codec/frame";
import { COMMAND_SIZE_MAX, FrameDecoder } from "../../src/codec/frame-decoder";
import { FrameEncoder } from "../../src/codec/frame-encoder";
import { ProtocolError, type ProtocolErrorReason } from "../../src/errors";

interface Frame {
  readonly flags: number;
  readonly body: Buffer;
}

/** Body sizes that sit on or next to the encoding's boundaries, plus random small ones. */
const bodySize = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 40 }) },
  { weight: 2, arbitrary: fc.constantFrom(0, 1, 254, 255, 256, 257, 2047, 2048) },
  { weight: 1, arbitrary: fc.constantFrom(65535, 65536, 65537, 70000) },
);

/** A frame with random MORE/COMMAND bits; commands stay within what the decoder accepts. */
const frameArb: fc.Arbitrary<Frame> = fc
  .tuple(bodySize, fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: 255 }))
  .map(([size, more, command, seed]) => {
    const body = Buffer.alloc(command ? Math.min(size, COMMAND_SIZE_MAX) : size);
    // A position-dependent pattern, so a misplaced byte cannot go unnoticed.
    for (let i = 0; i < body.length; i++) body[i] = (seed + i * 7 + (i >> 8)) & 0xff;
    return { flags: (more ? FrameFlags.MORE : 0) | (command ? FrameFlags.COMMAND : 0), body };
  });

const smallFrameArb: fc.Arbitrary<Frame> = fc
  .tuple(fc.uint8Array({ maxLength: 20 }), fc.boolean(), fc.boolean())
  .map(([bytes, more, command]) => ({
    flags: (more ? FrameFlags.MORE : 0) | (command ? FrameFlags.COMMAND : 0),
    body: Buffer.from(bytes),
  }));

function encode(frames: readonly Frame[]): Buffer {
  const encoder = new FrameEncoder();
  for (const frame of frames) encoder.frame(frame.body, frame.flags);
  return Buffer.concat(encoder.take());
}

/** What the decoder must report: the flags as sent, with LONG wherever the body needs 8 size bytes. */
function expected(frames: readonly Frame[]): Frame[] {
  return frames.map(({ flags, body }) => ({ flags: flags | (body.length > 255 ? FrameFlags.LONG : 0), body }));
}

/** Decodes `chunks` in order and returns every frame, bodies copied so later chunks cannot alter them. */
function decodeChunks(chunks: readonly Buffer[], decoder = new FrameDecoder()): Frame[] {
  const out: Frame[] = [];
  for (const chunk of chunks) decoder.decode(chunk, (flags, body) => out.push({ flags, body: Buffer.from(body) }));
  expect(decoder.pendingBytes).toBe(0);
  return out;
}

function splitAt(stream: Buffer, cuts: readonly number[]): Buffer[] {
  const sorted = [...cuts].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const cut of sorted) {
    chunks.push(stream.subarray(from, cut));
    from = cut;
  }
  chunks.push(stream.subarray(from));
  return chunks;
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

/** Compares frame lists without asking jest to diff megabytes of buffers. */
function expectSameFrames(actual: readonly Frame[], wanted: readonly Frame[]): void {
  expect(actual.map((f) => [f.flags, f.body.length])).toEqual(wanted.map((f) => [f.flags, f.body.length]));
  actual.forEach((frame, i) => expect(frame.body.equals(wanted[i]!.body)).toBe(true));
}

describe("FrameDecoder: any chunking yields the same frames", () => {
  it("decodes random messages split at random boundaries", () => {
    fc.assert(
      fc.property(
        fc.array(frameArb, { minLength: 1, maxLength: 8 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }),
        (frames, fractions) => {
          const stream = encode(frames);
          const cuts = fractions.map((f) => Math.floor(f * stream.length));
          expectSameFrames(decodeChunks(splitAt(stream, cuts)), expected(frames));
        },
      ),
      { numRuns: 150 },
    );
  });

  it("decodes a small stream split at every single point", () => {
    fc.assert(
      fc.property(fc.array(smallFrameArb, { minLength: 1, maxLength: 6 }), (frames) => {
        const stream = encode(frames);
        const want = expected(frames);
        for (let cut = 0; cut <= stream.length; cut++) {
          expectSameFrames(decodeChunks([stream.subarray(0, cut), stream.subarray(cut)]), want);
        }
      }),
      { numRuns: 100 },
    );
  });

  it("decodes every split point of a stream holding the short/long boundary sizes", () => {
    const frames: Frame[] = [0, 255, 256, 1, 300].map((size, i) => ({
      flags: i % 2 === 0 ? FrameFlags.MORE : 0,
      body: Buffer.from(Array.from({ length: size }, (_, j) => (j * 13 + i) & 0xff)),
    }));
    frames.push({ flags: FrameFlags.COMMAND, body: Buffer.from([5, 0x52, 0x45, 0x41, 0x44, 0x59]) });
    const stream = encode(frames);
    const want = expected(frames);
    for (let cut = 0; cut <= stream.length; cut++) {
      expectSameFrames(decodeChunks([stream.subarray(0, cut), stream.subarray(cut)]), want);
    }
    // Every pair of cuts around the long header of the 256-byte frame (the trickiest 9 bytes).
    const longHeaderAt = 2 + 0 + 9 + 255;
    for (let a = longHeaderAt - 2; a <= longHeaderAt + 11; a++) {
      for (let b = a; b <= longHeaderAt + 11; b++) expectSameFrames(decodeChunks(splitAt(stream, [a, b])), want);
    }
  });

  it("decodes random messages fed one byte at a time", () => {
    fc.assert(
      fc.property(fc.array(smallFrameArb, { minLength: 1, maxLength: 10 }), (frames) => {
        const stream = encode(frames);
        const bytes = [...stream.keys()].map((i) => stream.subarray(i, i + 1));
        expectSameFrames(decodeChunks(bytes), expected(frames));
      }),
      { numRuns: 100 },
    );
    const big: Frame[] = [{ flags: 0, body: Buffer.alloc(70000, 0x5a) }];
    const stream = encode(big);
    expectSameFrames(decodeChunks([...stream.keys()].map((i) => stream.subarray(i, i + 1))), expected(big));
  });

  it("accepts empty chunks anywhere", () => {
    const frames: Frame[] = [{ flags: FrameFlags.MORE, body: Buffer.from("ab") }, { flags: 0, body: Buffer.alloc(300, 1) }];
    const stream = encode(frames);
    const empty = Buffer.alloc(0);
    const chunks = [empty, stream.subarray(0, 1), empty, stream.subarray(1, 5), empty, stream.subarray(5), empty];
    expectSameFrames(decodeChunks(chunks), expected(frames));
  });

  it("accepts a long header on a small frame (RFC 37 says SHOULD use short, not MUST)", () => {
    const stream = Buffer.from([FrameFlags.LONG | FrameFlags.MORE, 0, 0, 0, 0, 0, 0, 0, 2, 0x68, 0x69]);
    expect(decodeChunks([stream])).toEqual([{ flags: FrameFlags.LONG | FrameFlags.MORE, body: Buffer.from("hi") }]);
  });
});

describe("FrameDecoder: protocol violations", () => {
  it("rejects every flags byte with a reserved bit (3-7) set, and accepts the other eight", () => {
    for (let flags = 0; flags < 256; flags++) {
      const reason = reasonOf(() => new FrameDecoder().decode(Buffer.from([flags]), () => undefined));
      expect([flags, reason]).toEqual([flags, flags & 0xf8 ? "reserved-flags" : "no error"]);
    }
  });

  it("rejects a reserved flag on a later frame after delivering the earlier ones", () => {
    const delivered: Buffer[] = [];
    const reason = reasonOf(() =>
      new FrameDecoder().decode(Buffer.from([0, 1, 0x41, 0x08, 0]), (_flags, body) => delivered.push(Buffer.from(body))),
    );
    expect(reason).toBe("reserved-flags");
    expect(delivered).toEqual([Buffer.from("A")]);
  });

  it("rejects a long frame announcing 2^63 bytes as soon as its size arrives, before any body", () => {
    const header = Buffer.from([FrameFlags.LONG, 0x80, 0, 0, 0, 0, 0, 0, 0]);
    const decoder = new FrameDecoder();
    decoder.decode(header.subarray(0, 5), () => undefined);
    expect(reasonOf(() => decoder.decode(header.subarray(5), () => undefined))).toBe("message-too-large");
  });

  it("rejects sizes above 2^53 (not representable) but accepts 2^53-1 with no limit set", () => {
    const size = (n: bigint): Buffer => {
      const header = Buffer.alloc(9);
      header[0] = FrameFlags.LONG;
      header.writeBigUInt64BE(n, 1);
      return header;
    };
    expect(reasonOf(() => new FrameDecoder().decode(size(2n ** 53n), () => undefined))).toBe("message-too-large");
    const decoder = new FrameDecoder();
    expect(reasonOf(() => decoder.decode(size(2n ** 53n - 1n), () => undefined))).toBe("no error");
    expect(decoder.pendingBytes).toBe(9);
  });

  it("enforces maxFrameSize on message frames from the header alone", () => {
    const decoder = new FrameDecoder(100);
    const frames: number[] = [];
    decoder.decode(encode([{ flags: 0, body: Buffer.alloc(100) }]), (_f, body) => frames.push(body.length));
    expect(frames).toEqual([100]);
    expect(reasonOf(() => decoder.decode(Buffer.from([0, 101]), () => undefined))).toBe("message-too-large");
    expect(reasonOf(() => new FrameDecoder(300).decode(Buffer.from([FrameFlags.LONG, 0, 0, 0, 0, 0, 0, 1, 0x2d]), () => undefined))).toBe(
      "message-too-large",
    );
    expect(reasonOf(() => new FrameDecoder(0).decode(Buffer.from([FrameFlags.MORE, 1]), () => undefined))).toBe("message-too-large");
  });

  it("does not apply maxFrameSize to commands, so a tiny limit cannot break the handshake", () => {
    const decoder = new FrameDecoder(10);
    const sizes: number[] = [];
    decoder.decode(encode([{ flags: FrameFlags.COMMAND, body: Buffer.alloc(200) }]), (_f, body) => sizes.push(body.length));
    expect(sizes).toEqual([200]);
  });

  it("rejects commands larger than COMMAND_SIZE_MAX whatever maxFrameSize says", () => {
    const header = (size: number): Buffer => {
      const bytes = Buffer.alloc(9);
      bytes[0] = FrameFlags.COMMAND | FrameFlags.LONG;
      bytes.writeBigUInt64BE(BigInt(size), 1);
      return bytes;
    };
    expect(reasonOf(() => new FrameDecoder().decode(header(COMMAND_SIZE_MAX + 1), () => undefined))).toBe("message-too-large");
    expect(reasonOf(() => new FrameDecoder(-1).decode(header(COMMAND_SIZE_MAX), () => undefined))).toBe("no error");
    // The same size as a message frame is fine when there is no limit.
    const message = header(COMMAND_SIZE_MAX + 1);
    message[0] = FrameFlags.LONG;
    expect(reasonOf(() => new FrameDecoder().decode(message, () => undefined))).toBe("no error");
  });

  it("while message frames are not allowed (before the handshake), refuses one at its header and still passes commands", () => {
    const hugeMessage = Buffer.alloc(9);
    hugeMessage[0] = FrameFlags.LONG;
    hugeMessage.writeBigUInt64BE(BigInt(512 * 1024 * 1024), 1);
    const decoder = new FrameDecoder();
    decoder.messageFramesAllowed = false;
    const sizes: number[] = [];
    decoder.decode(encode([{ flags: FrameFlags.COMMAND, body: Buffer.alloc(30) }]), (_f, body) => sizes.push(body.length));
    expect(sizes).toEqual([30]);
    // Nine header bytes are enough: nothing of the announced 512 MiB is waited for or buffered.
    expect(reasonOf(() => decoder.decode(hugeMessage, () => undefined))).toBe("unexpected-command");
    // Control: the same header is accepted (and would be buffered) once message frames are allowed.
    const after = new FrameDecoder();
    expect(reasonOf(() => after.decode(hugeMessage, () => undefined))).toBe("no error");
    expect(after.pendingBytes).toBe(9);
  });
});

describe("FrameDecoder: pendingBytes", () => {
  it("counts the bytes of an unfinished frame, header included, and is 0 between frames", () => {
    const stream = encode([{ flags: FrameFlags.MORE, body: Buffer.alloc(300, 9) }, { flags: 0, body: Buffer.from("xyz") }]);
    const decoder = new FrameDecoder();
    const seen: number[] = [];
    const pending: number[] = [];
    for (let i = 0; i < stream.length; i++) {
      decoder.decode(stream.subarray(i, i + 1), (_f, body) => seen.push(body.length));
      pending.push(decoder.pendingBytes);
    }
    expect(seen).toEqual([300, 3]);
    // First frame: 9 header bytes + 300 body bytes; it completes (pending 0) on its last byte.
    const first = Array.from({ length: 308 }, (_, i) => i + 1);
    // Second frame: 2 header bytes + 3 body bytes.
    expect(pending).toEqual([...first, 0, 1, 2, 3, 4, 0]);
  });

  it("stays 0 when whole frames arrive", () => {
    const decoder = new FrameDecoder();
    decoder.decode(encode([{ flags: 0, body: Buffer.alloc(1000) }]), () => undefined);
    expect(decoder.pendingBytes).toBe(0);
  });
});
