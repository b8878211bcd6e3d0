import { FrameFlags } from "../../src/codec/frame";
import { FrameEncoder } from "../../src/codec/frame-encoder";

function bytesOf(encoder: FrameEncoder): Buffer {
  return Buffer.concat(encoder.take());
}

function pattern(size: number, seed: number): Buffer {
  const body = Buffer.alloc(size);
  for (let i = 0; i < size; i++) body[i] = (seed + i * 31) & 0xff;
  return body;
}

describe("FrameEncoder headers", () => {
  it("uses a short header up to 255 bytes", () => {
    const encoder = new FrameEncoder();
    const body = pattern(255, 1);
    encoder.frame(body, 0);
    const wire = bytesOf(encoder);
    expect(wire.subarray(0, 2)).toEqual(Buffer.from([0x00, 0xff]));
    expect(wire.subarray(2)).toEqual(body);
  });

  it("uses a long header (8-byte big-endian size) from 256 bytes", () => {
    const encoder = new FrameEncoder();
    const body = pattern(256, 2);
    encoder.frame(body, 0);
    const wire = bytesOf(encoder);
    expect(wire.subarray(0, 9)).toEqual(Buffer.from([0x02, 0, 0, 0, 0, 0, 0, 0x01, 0x00]));
    expect(wire.subarray(9)).toEqual(body);
  });

  it("writes the long size big-endian in the eight bytes after the flags", () => {
    const encoder = new FrameEncoder();
    const body = pattern(70000, 3);
    encoder.frame(body, FrameFlags.MORE);
    const header = encoder.take()[0]!;
    expect(header).toEqual(Buffer.from([0x03, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70]));
  });

  it("sets MORE on every frame of a message but the last", () => {
    const encoder = new FrameEncoder();
    encoder.message([Buffer.from("a"), Buffer.alloc(0), Buffer.from("c")]);
    expect(bytesOf(encoder)).toEqual(Buffer.from([0x01, 1, 0x61, 0x01, 0, 0x00, 1, 0x63]));
  });

  it("marks commands with the COMMAND bit, short or long", () => {
    const encoder = new FrameEncoder();
    encoder.command(Buffer.from([4, 0x50, 0x49, 0x4e, 0x47, 0, 0]));
    encoder.command(pattern(300, 4));
    const wire = bytesOf(encoder);
    expect(wire.subarray(0, 2)).toEqual(Buffer.from([0x04, 7]));
    expect(wire.subarray(9, 18)).toEqual(Buffer.from([0x06, 0, 0, 0, 0, 0, 0, 0x01, 0x2c]));
  });

  it("passes raw bytes through untouched and in order", () => {
    const encoder = new FrameEncoder();
    const greeting = Buffer.from([0xff, 1, 2, 3]);
    encoder.frame(Buffer.from("x"), 0);
    encoder.raw(greeting);
    encoder.frame(Buffer.from("y"), 0);
    const pieces = encoder.take();
    expect(pieces[1]).toBe(greeting);
    expect(Buffer.concat(pieces)).toEqual(Buffer.from([0, 1, 0x78, 0xff, 1, 2, 3, 0, 1, 0x79]));
  });

  it("reports the encoded size until taken", () => {
    const encoder = new FrameEncoder();
    expect(encoder.size).toBe(0);
    encoder.frame(Buffer.alloc(10), 0);
    encoder.frame(Buffer.alloc(5000), 0);
    encoder.raw(Buffer.alloc(64));
    expect(encoder.size).toBe(2 + 10 + 9 + 5000 + 64);
    expect(Buffer.concat(encoder.take())).toHaveLength(2 + 10 + 9 + 5000 + 64);
    expect(encoder.size).toBe(0);
    expect(encoder.take()).toEqual([]);
  });
});

describe("FrameEncoder buffers", () => {
  it("passes large bodies by reference", () => {
    const encoder = new FrameEncoder();
    const big = pattern(100_000, 5);
    encoder.message([Buffer.from("topic"), big]);
    const pieces = encoder.take();
    expect(pieces.filter((piece) => piece === big)).toHaveLength(1);
    const wanted = Buffer.concat([Buffer.from([0x01, 5]), Buffer.from("topic"), Buffer.from([0x02, 0, 0, 0, 0, 0, 0x01, 0x86, 0xa0]), big]);
    expect(Buffer.concat(pieces).equals(wanted)).toBe(true);
  });

  it("copies small bodies, so later changes to the caller's buffer do not leak into the wire", () => {
    const encoder = new FrameEncoder();
    const small = Buffer.from("hello");
    const medium = pattern(1000, 6);
    const mediumCopy = Buffer.from(medium);
    encoder.frame(small, FrameFlags.MORE);
    encoder.frame(medium, 0);
    const pieces = encoder.take();
    expect(pieces).not.toContain(small);
    expect(pieces).not.toContain(medium);
    small.fill(0);
    medium.fill(0);
    expect(Buffer.concat(pieces)).toEqual(
      Buffer.concat([Buffer.from([0x01, 5]), Buffer.from("hello"), Buffer.from([0x02, 0, 0, 0, 0, 0, 0, 0x03, 0xe8]), mediumCopy]),
    );
  });

  it("never overwrites pieces already taken, across many scratch renewals", () => {
    const encoder = new FrameEncoder();
    const taken: Array<{ pieces: Buffer[]; snapshot: Buffer }> = [];
    // 300 batches of ~1.5 KiB walk through the 64 KiB scratch several times.
    for (let batch = 0; batch < 300; batch++) {
      for (let i = 0; i < 6; i++) encoder.frame(pattern(200 + ((batch + i) % 60), batch * 6 + i), i < 5 ? FrameFlags.MORE : 0);
      const pieces = encoder.take();
      taken.push({ pieces, snapshot: Buffer.concat(pieces) });
    }
    for (const { pieces, snapshot } of taken) expect(Buffer.concat(pieces).equals(snapshot)).toBe(true);
  });

  it("keeps earlier frames intact when a frame does not fit in what is left of the scratch", () => {
    const encoder = new FrameEncoder();
    const frames: Buffer[] = [];
    // 2047-byte bodies are the largest copied ones; 40 of them overflow a 64 KiB scratch.
    for (let i = 0; i < 40; i++) {
      const body = pattern(2047, i);
      frames.push(body);
      encoder.frame(body, 0);
    }
    const pieces = encoder.take();
    expect(pieces.length).toBeGreaterThan(1);
    const wire = Buffer.concat(pieces);
    expect(wire).toHaveLength(40 * (9 + 2047));
    for (let i = 0; i < 40; i++) {
      const at = i * (9 + 2047);
      expect(wire.subarray(at, at + 9)).toEqual(Buffer.from([0x02, 0, 0, 0, 0, 0, 0, 0x07, 0xff]));
      expect(wire.subarray(at + 9, at + 9 + 2047).equals(frames[i]!)).toBe(true);
    }
  });

  it("keeps a piece taken before the scratch fills intact while more frames are encoded after it", () => {
    const encoder = new FrameEncoder();
    encoder.frame(pattern(100, 7), 0);
    const [first] = encoder.take();
    const firstCopy = Buffer.from(first!);
    for (let i = 0; i < 100; i++) encoder.frame(pattern(1500, i), 0);
    encoder.take();
    expect(first).toEqual(firstCopy);
  });
});
