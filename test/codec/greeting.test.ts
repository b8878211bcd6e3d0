import fc from "fast-check";
import {
  checkGreetingPrefix,
  decodeGreeting,
  encodeGreeting,
  GREETING_SIZE,
  GREETING_VERSION_PREFIX,
} from "../../src/codec/greeting";
import { ProtocolError, type ProtocolErrorReason } from "../../src/errors";

/**
 * libzmq tests/testutil.hpp `zmtp_greeting_null`, re-typed. libzmq's mock
 * tests announce ZMTP 3.0 (minor 0) in it; every other byte is what any
 * NULL-mechanism 3.x greeting must contain.
 */
const LIBZMQ_GREETING_NULL = Buffer.from([
  0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 3, 0, 0x4e, 0x55, 0x4c, 0x4c, // signature, 3.0, "NULL"
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
]);

/** The greeting of RFC 37's worked example, laid out field by field. */
function rfcGreeting(asServer: 0 | 1): Buffer {
  const signature = [0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f];
  const version = [0x03, 0x01];
  const mechanism = [0x4e, 0x55, 0x4c, 0x4c, ...new Array<number>(16).fill(0)];
  const filler = new Array<number>(31).fill(0);
  return Buffer.from([...signature, ...version, ...mechanism, asServer, ...filler]);
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

describe("greeting encoding", () => {
  it("is 64 bytes laid out as in RFC 37's worked example", () => {
    expect(rfcGreeting(0)).toHaveLength(GREETING_SIZE);
    expect(encodeGreeting({ major: 3, minor: 1, mechanism: "NULL", asServer: false })).toEqual(rfcGreeting(0));
  });

  it("matches libzmq's zmtp_greeting_null byte for byte when announcing 3.0", () => {
    expect(encodeGreeting({ major: 3, minor: 0, mechanism: "NULL", asServer: false })).toEqual(LIBZMQ_GREETING_NULL);
  });

  it("sets only byte 32 for as-server", () => {
    const client = encodeGreeting({ major: 3, minor: 1, mechanism: "NULL", asServer: false });
    const server = encodeGreeting({ major: 3, minor: 1, mechanism: "NULL", asServer: true });
    const differing = [...client.keys()].filter((i) => client[i] !== server[i]);
    expect(differing).toEqual([32]);
    expect(server[32]).toBe(1);
  });

  it("pads mechanism names with zeros to 20 bytes and refuses longer names", () => {
    const plain = encodeGreeting({ major: 3, minor: 1, mechanism: "PLAIN", asServer: false });
    expect(plain.subarray(12, 32)).toEqual(Buffer.concat([Buffer.from("PLAIN"), Buffer.alloc(15)]));
    const twenty = "ABCDEFGHIJKLMNOPQRST";
    expect(encodeGreeting({ major: 3, minor: 1, mechanism: twenty, asServer: false }).subarray(12, 32).toString()).toBe(twenty);
    expect(() => encodeGreeting({ major: 3, minor: 1, mechanism: `${twenty}U`, asServer: false })).toThrow(RangeError);
  });
});

describe("greeting decoding", () => {
  it("decodes libzmq's fixture and the RFC example", () => {
    expect(decodeGreeting(LIBZMQ_GREETING_NULL)).toEqual({ major: 3, minor: 0, mechanism: "NULL", asServer: false });
    expect(decodeGreeting(rfcGreeting(0))).toEqual({ major: 3, minor: 1, mechanism: "NULL", asServer: false });
    expect(decodeGreeting(rfcGreeting(1)).asServer).toBe(true);
  });

  it("reads a mechanism that fills all 20 bytes", () => {
    const greeting = rfcGreeting(0);
    greeting.write("ABCDEFGHIJKLMNOPQRST", 12, "ascii");
    expect(decodeGreeting(greeting).mechanism).toBe("ABCDEFGHIJKLMNOPQRST");
  });

  it("round-trips any version, mechanism and as-server flag", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 3, max: 255 }),
        fc.integer({ min: 0, max: 255 }),
        fc.stringMatching(/^[A-Z0-9_.+-]{1,20}$/),
        fc.boolean(),
        (major, minor, mechanism, asServer) => {
          const greeting = { major, minor, mechanism, asServer };
          expect(decodeGreeting(encodeGreeting(greeting))).toEqual(greeting);
        },
      ),
    );
  });

  it("never looks at the eight padding bytes (RFC 23/37)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 8 }), (padding) => {
        const greeting = rfcGreeting(0);
        greeting.set(padding, 1);
        expect(decodeGreeting(greeting)).toEqual({ major: 3, minor: 1, mechanism: "NULL", asServer: false });
      }),
    );
  });

  it("needs all 64 bytes", () => {
    expect(() => decodeGreeting(rfcGreeting(0).subarray(0, 63))).toThrow(RangeError);
  });
});

describe("checkGreetingPrefix (version detection from the first 11 bytes)", () => {
  it("accepts a signature alone and reports the version as unknown", () => {
    expect(checkGreetingPrefix(rfcGreeting(0).subarray(0, 10))).toBe(-1);
  });

  it("reports the major version once byte 10 is there", () => {
    expect(GREETING_VERSION_PREFIX).toBe(11);
    expect(checkGreetingPrefix(rfcGreeting(0).subarray(0, 11))).toBe(3);
    const future = rfcGreeting(0);
    future[10] = 4;
    expect(checkGreetingPrefix(future)).toBe(4);
  });

  it("rejects a first byte other than 0xFF as bad-signature (ZMTP 1.0 short identity or not ZeroMQ)", () => {
    expect(reasonOf(() => checkGreetingPrefix(Buffer.from([0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0])))).toBe("bad-signature");
    expect(reasonOf(() => checkGreetingPrefix(Buffer.from("GET / HTTP/1.1\r\n")))).toBe("bad-signature");
  });

  it("decides from the first byte alone when it is not 0xFF, and waits while it is", () => {
    expect(reasonOf(() => checkGreetingPrefix(Buffer.from([0x01])))).toBe("bad-signature");
    expect(checkGreetingPrefix(Buffer.from([0xff]))).toBe(-1);
    expect(checkGreetingPrefix(Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 0]))).toBe(-1);
  });

  it("rejects byte 9 with its low bit clear as bad-signature (ZMTP 1.0 long identity length)", () => {
    const v1 = rfcGreeting(0);
    v1[9] = 0x7e;
    expect(reasonOf(() => checkGreetingPrefix(v1.subarray(0, 10)))).toBe("bad-signature");
  });

  it.each([0, 1, 2])("rejects major version %i (ZMTP 1.0/2.0 revision numbers) as unsupported-version", (major) => {
    const old = rfcGreeting(0).subarray(0, 11);
    old[10] = major;
    expect(reasonOf(() => checkGreetingPrefix(old))).toBe("unsupported-version");
    const full = rfcGreeting(0);
    full[10] = major;
    expect(reasonOf(() => decodeGreeting(full))).toBe("unsupported-version");
  });
});
