import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { decodeZ85, encodeZ85, isZ85, Z85Error } from "../../src/codec/z85";
import { describeIfPeer, PYTHON, PYZMQ } from "../helpers/prerequisites";

/** RFC 32's test vector. */
const RFC_BYTES = Buffer.from([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]);
const RFC_TEXT = "HelloWorld";

/** A 40-character key-shaped string; tests check errors never contain it. */
const SECRET_LOOKING = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";

function thrown(run: () => unknown): Z85Error {
  try {
    run();
  } catch (error) {
    return error as Z85Error;
  }
  throw new Error("expected a throw");
}

describe("Z85 (RFC 32)", () => {
  it("encodes and decodes RFC 32's test vector", () => {
    expect(encodeZ85(RFC_BYTES)).toBe(RFC_TEXT);
    expect(decodeZ85(RFC_TEXT)).toEqual(RFC_BYTES);
  });

  it("maps the extremes of a group: 0 -> 00000, 2^32-1 -> %nSc0", () => {
    expect(encodeZ85(Buffer.alloc(4))).toBe("00000");
    expect(encodeZ85(Buffer.alloc(4, 0xff))).toBe("%nSc0");
    expect(decodeZ85("%nSc0")).toEqual(Buffer.alloc(4, 0xff));
  });

  it("encodes nothing as nothing", () => {
    expect(encodeZ85(new Uint8Array(0))).toBe("");
    expect(decodeZ85("")).toEqual(Buffer.alloc(0));
  });

  it("round-trips any whole number of 4-byte groups, and every output is 5/4 as long, in the alphabet", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 64 }).chain((groups) => fc.uint8Array({ minLength: groups * 4, maxLength: groups * 4 })),
        (bytes) => {
          const text = encodeZ85(bytes);
          expect(text).toHaveLength((bytes.length / 4) * 5);
          expect(text).toMatch(/^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]*$/);
          expect(decodeZ85(text)).toEqual(Buffer.from(bytes));
        },
      ),
    );
  });

  it("accepts a Uint8Array view into a larger buffer (honours byteOffset)", () => {
    const backing = Buffer.concat([Buffer.from([1, 2, 3]), RFC_BYTES]);
    expect(encodeZ85(backing.subarray(3))).toBe(RFC_TEXT);
  });

  describe("rejects malformed input with a Z85Error (RangeError, code EINVAL)", () => {
    it.each([1, 2, 3, 5, 31, 33])("bytes whose length (%i) is not a multiple of 4", (length) => {
      const error = thrown(() => encodeZ85(Buffer.alloc(length)));
      expect(error).toBeInstanceOf(RangeError);
      expect(error).toBeInstanceOf(Z85Error);
      expect(error.code).toBe("EINVAL");
      expect(error.message).toMatch(/multiple of 4/);
    });

    it.each([1, 4, 6, 39, 41])("text whose length (%i) is not a multiple of 5", (length) => {
      const error = thrown(() => decodeZ85("0".repeat(length)));
      expect(error).toBeInstanceOf(Z85Error);
      expect(error.message).toMatch(/multiple of 5/);
    });

    it.each([
      ["a space", "Hello orld"],
      ["a quote", 'Hello"orld'],
      ["a comma", "Hello,orld"],
      ["a backslash", "Hello\\orld"],
      ["a non-ASCII letter", "HelloWörld"],
      ["a control character", "Hello\u0000orld"],
    ])("text with %s", (_name, text) => {
      expect(text).toHaveLength(10);
      const error = thrown(() => decodeZ85(text));
      expect(error).toBeInstanceOf(Z85Error);
      expect(error.message).toMatch(/outside the Z85 alphabet at position \d/);
    });

    it("a group worth more than 2^32 - 1 (one past %nSc0, and the largest digits #####)", () => {
      for (const text of ["%nSc1", "#####", `${RFC_TEXT}%nSc1`]) {
        const error = thrown(() => decodeZ85(text));
        expect(error).toBeInstanceOf(Z85Error);
        expect(error.message).toMatch(/more than 2\^32 - 1/);
      }
      // Control: the largest valid group right beside them decodes.
      expect(() => decodeZ85(`${RFC_TEXT}%nSc0`)).not.toThrow();
    });

    it("never echoes the input in the message (it may be a secret key)", () => {
      const cases = [SECRET_LOOKING.slice(0, 39), SECRET_LOOKING.slice(0, 35) + "~~~~~", SECRET_LOOKING.slice(0, 35) + "#####"];
      for (const text of cases) {
        const error = thrown(() => decodeZ85(text));
        expect(error).toBeInstanceOf(Z85Error);
        expect(error.message).not.toContain(text);
        expect(error.message).not.toContain(text.slice(0, 5));
      }
      expect(isZ85(SECRET_LOOKING)).toBe(true);
    });
  });

  it("isZ85 tells well-formed text from malformed", () => {
    expect(isZ85(RFC_TEXT)).toBe(true);
    expect(isZ85("HelloWorl")).toBe(false);
    expect(isZ85("Hello orld")).toBe(false);
    expect(isZ85("#####")).toBe(false);
  });
});

/** pyzmq's zmq.utils.z85 over hex-encoded inputs; returns its encodings and its decodings of `texts`. */
function pyzmqZ85(hexes: string[], texts: string[]): { encoded: string[]; decoded: string[] } {
  const script = [
    "import json, sys",
    "from zmq.utils import z85",
    "job = json.load(sys.stdin)",
    "print(json.dumps({",
    "  'encoded': [z85.encode(bytes.fromhex(h)).decode('ascii') for h in job['hexes']],",
    "  'decoded': [z85.decode(t.encode('ascii')).hex() for t in job['texts']],",
    "}))",
  ].join("\n");
  const run = spawnSync(PYTHON, ["-c", script], { input: JSON.stringify({ hexes, texts }), encoding: "utf8", timeout: 30_000 });
  if (run.status !== 0) throw new Error(`pyzmq z85 failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as { encoded: string[]; decoded: string[] };
}

describeIfPeer(PYZMQ)("Z85 against libzmq's (pyzmq zmq.utils.z85)", () => {
  it("agrees on 50 random 32-byte keys and odd lengths, in both directions", () => {
    const inputs = [RFC_BYTES, Buffer.alloc(4, 0xff), ...Array.from({ length: 50 }, () => randomBytes(32))];
    inputs.push(randomBytes(4), randomBytes(60), randomBytes(1024));
    const ours = inputs.map((bytes) => encodeZ85(bytes));
    const theirs = pyzmqZ85(
      inputs.map((bytes) => bytes.toString("hex")),
      ours,
    );
    expect(theirs.encoded).toEqual(ours);
    expect(theirs.decoded).toEqual(inputs.map((bytes) => bytes.toString("hex")));
    // And our decoder reads pyzmq's text back.
    expect(theirs.encoded.map((text) => decodeZ85(text).toString("hex"))).toEqual(inputs.map((b) => b.toString("hex")));

    // Control: a little-endian variant (a plausible bug) disagrees with libzmq, so the comparison above can fail.
    const littleEndian = (bytes: Buffer): string => {
      const swapped = Buffer.alloc(bytes.length);
      for (let i = 0; i < bytes.length; i += 4) swapped.writeUInt32LE(bytes.readUInt32BE(i), i);
      return encodeZ85(swapped);
    };
    expect(inputs.slice(2, 10).map(littleEndian)).not.toEqual(theirs.encoded.slice(2, 10));
  });
});
