import { ProtocolError } from "../errors";

/**
 * Connection metadata exchanged in READY: property names are ASCII and
 * case-insensitive, so they are stored lower-cased; values are raw bytes.
 */
export type Metadata = ReadonlyMap<string, Buffer>;

/** Encodes properties as `name-len(1) name value-len(4, big-endian) value`, in the given order. */
export function encodeMetadata(properties: Iterable<readonly [string, Buffer | string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, rawValue] of properties) {
    const nameBytes = Buffer.from(name, "ascii");
    if (nameBytes.length === 0 || nameBytes.length > 255) throw new RangeError(`invalid property name "${name}"`);
    const value = typeof rawValue === "string" ? Buffer.from(rawValue) : rawValue;
    const header = Buffer.allocUnsafe(1 + nameBytes.length + 4);
    header[0] = nameBytes.length;
    nameBytes.copy(header, 1);
    header.writeUInt32BE(value.length, 1 + nameBytes.length);
    parts.push(header, value);
  }
  return Buffer.concat(parts);
}

/** Decodes a property list. Throws a {@link ProtocolError} on truncation. */
export function decodeMetadata(bytes: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let offset = 0;
  while (offset < bytes.length) {
    const nameLength = bytes[offset]!;
    offset += 1;
    if (nameLength === 0 || offset + nameLength + 4 > bytes.length) {
      throw new ProtocolError("malformed-command", "truncated or empty property name in READY metadata");
    }
    const name = bytes.toString("ascii", offset, offset + nameLength).toLowerCase();
    offset += nameLength;
    const valueLength = bytes.readUInt32BE(offset);
    offset += 4;
    if (offset + valueLength > bytes.length) {
      throw new ProtocolError("malformed-command", `property "${name}" value runs past the end of READY`);
    }
    out.set(name, bytes.subarray(offset, offset + valueLength));
    offset += valueLength;
  }
  return out;
}
