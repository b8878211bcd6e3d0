import fc from "fast-check";
import { decodeMetadata, encodeMetadata, PropertyMap } from "../../src/codec/metadata";
import { ProtocolError } from "../../src/errors";

/** Property names as RFC 37 allows them: 1-255 of ALPHA, DIGIT, "-", "_", ".", "+". */
const propertyName = fc.stringMatching(/^[A-Za-z0-9_.+-]{1,255}$/);
const propertyValue = fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes));

/** Distinct names, compared as RFC 37 compares them (case-insensitively). */
const propertyList = fc.uniqueArray(fc.tuple(propertyName, propertyValue), {
  maxLength: 6,
  selector: ([name]) => name.toLowerCase(),
});

function expectMalformed(bytes: Buffer): void {
  let caught: unknown;
  try {
    decodeMetadata(bytes);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ProtocolError);
  expect((caught as ProtocolError).reason).toBe("malformed-command");
  expect((caught as ProtocolError).code).toBe("EPROTO");
}

describe("READY metadata", () => {
  it("encodes name-len(1) name value-len(4, big-endian) value, in order", () => {
    const bytes = encodeMetadata([
      ["Socket-Type", "PUB"],
      ["X-Big", Buffer.alloc(0x010203, 0xaa)],
    ]);
    expect(bytes.subarray(0, 19)).toEqual(
      Buffer.from([11, ...Buffer.from("Socket-Type"), 0, 0, 0, 3, ...Buffer.from("PUB")]),
    );
    expect(bytes.subarray(19, 29)).toEqual(Buffer.from([5, ...Buffer.from("X-Big"), 0x00, 0x01, 0x02, 0x03]));
    expect(bytes).toHaveLength(29 + 0x010203);
  });

  it("encodes nothing for no properties, and decodes nothing back", () => {
    expect(encodeMetadata([])).toHaveLength(0);
    expect(decodeMetadata(Buffer.alloc(0)).size).toBe(0);
  });

  it("refuses to encode empty or over-long names", () => {
    expect(() => encodeMetadata([["", "x"]])).toThrow(RangeError);
    expect(() => encodeMetadata([["n".repeat(256), "x"]])).toThrow(RangeError);
    expect(encodeMetadata([["n".repeat(255), "x"]])[0]).toBe(255);
  });

  it("round-trips any property list, names spelled as sent", () => {
    fc.assert(
      fc.property(propertyList, (properties) => {
        const decoded = decodeMetadata(encodeMetadata(properties));
        expect([...decoded.entries()]).toEqual(properties);
        expect([...decoded.keys()]).toEqual(properties.map(([name]) => name));
        expect(decoded.size).toBe(properties.length);
      }),
    );
  });

  it("looks names up case-insensitively, whatever the case sent or asked", () => {
    fc.assert(
      fc.property(propertyList, fc.infiniteStream(fc.boolean()), (properties, flips) => {
        const decoded = decodeMetadata(encodeMetadata(properties));
        for (const [name, value] of properties) {
          // Any mix of cases finds the property: a lookup that compared exactly would miss these.
          const asked = [...name].map((c) => (flips.next().value ? c.toUpperCase() : c.toLowerCase())).join("");
          expect(decoded.has(asked)).toBe(true);
          expect(decoded.get(asked)).toEqual(value);
        }
        expect(decoded.get("no-such-property")).toBeUndefined();
      }),
    );
  });

  it("keeps an application property's spelling (X-Privateer-Ext stays X-Privateer-Ext)", () => {
    const decoded = decodeMetadata(encodeMetadata([["Socket-Type", "DEALER"], ["X-Privateer-Ext", "1"]]));
    expect([...decoded.keys()]).toEqual(["Socket-Type", "X-Privateer-Ext"]);
    expect(decoded.get("X-Privateer-Ext")).toEqual(Buffer.from("1"));
    expect(decoded.get("x-privateer-ext")).toEqual(Buffer.from("1"));
    const seen: string[] = [];
    decoded.forEach((value, name, map) => {
      expect(map).toBe(decoded);
      seen.push(`${name}=${value.toString()}`);
    });
    expect(seen).toEqual(["Socket-Type=DEALER", "X-Privateer-Ext=1"]);
    expect([...decoded]).toEqual([...decoded.entries()]);
    expect([...decoded.values()]).toEqual([Buffer.from("DEALER"), Buffer.from("1")]);
  });

  it("lets the later of two names differing only in case win", () => {
    const decoded = decodeMetadata(encodeMetadata([["X-A", "first"], ["x-a", "second"]]));
    expect(decoded.size).toBe(1);
    expect([...decoded.entries()]).toEqual([["x-a", Buffer.from("second")]]);
    expect(decoded.get("X-A")).toEqual(Buffer.from("second"));
  });

  it("copies values out of the received bytes, so a kept map pins no received chunk", () => {
    const chunk = Buffer.concat([encodeMetadata([["X-Kept", "value"]]), Buffer.alloc(64 * 1024)]);
    const received = chunk.subarray(0, 1 + 6 + 4 + 5);
    const decoded = decodeMetadata(received);
    const value = decoded.get("X-Kept")!;
    expect(value.toString()).toBe("value");
    // A view of `chunk` would share its 64 KiB backing store; the copy owns only the READY bytes.
    expect(value.buffer).not.toBe(chunk.buffer);
    chunk.fill(0);
    expect(value.toString()).toBe("value");
  });

  it("builds maps from entries directly, with the same lookup rules", () => {
    const map = new PropertyMap([["X-One", Buffer.from("1")]]);
    expect(map.get("x-ONE")).toEqual(Buffer.from("1"));
    expect(Object.prototype.toString.call(map)).toBe("[object PropertyMap]");
    expect(new PropertyMap().size).toBe(0);
  });

  it("rejects every truncation that does not end on a property boundary", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(propertyName, propertyValue), { minLength: 1, maxLength: 4 }), (properties) => {
        const boundaries = new Set<number>([0]);
        let at = 0;
        for (const [name, value] of properties) {
          at += 1 + name.length + 4 + value.length;
          boundaries.add(at);
        }
        const bytes = encodeMetadata(properties);
        for (let cut = 1; cut < bytes.length; cut++) {
          if (boundaries.has(cut)) expect(() => decodeMetadata(bytes.subarray(0, cut))).not.toThrow();
          else expectMalformed(bytes.subarray(0, cut));
        }
      }),
      { numRuns: 30 },
    );
  });

  it("rejects a zero-length name", () => {
    expectMalformed(Buffer.from([0, 0, 0, 0, 0]));
  });

  it("rejects a value length running past the end", () => {
    expectMalformed(Buffer.from([1, 0x61, 0x80, 0, 0, 0, 1, 2, 3]));
  });
});
