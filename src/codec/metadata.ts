import { ProtocolError } from "../errors";

/**
 * Connection metadata exchanged in READY: the peer's properties, read-only.
 *
 * RFC 37 property names are ASCII and case-insensitive. Maps that Privateer
 * produces from a peer's READY keep each name as the peer spelled it (what
 * `keys()` and iteration show, so `X-Privateer-Ext` stays `X-Privateer-Ext`)
 * and answer `get` and `has` whatever the case of the name asked for. Values
 * are the raw bytes.
 */
export type Metadata = ReadonlyMap<string, Buffer>;

/** Largest property value ZMTP can carry: the value length is 32 bits. */
export const MAX_PROPERTY_VALUE = 0xffffffff;

/** RFC 37: `name = 1*255name-char`, `name-char = ALPHA / DIGIT / "-" / "_" / "." / "+"`. */
const PROPERTY_NAME = /^[A-Za-z0-9_.+-]{1,255}$/;

/** True when `name` is a property name RFC 37 allows. */
export function isPropertyName(name: string): boolean {
  return PROPERTY_NAME.test(name);
}

/**
 * A {@link Metadata} map with case-insensitive lookups that remembers how
 * each name was spelled. Of two properties whose names differ only in case,
 * the later one wins (RFC 37 names are case-insensitive).
 */
export class PropertyMap implements Metadata {
  /** Names as given, in order: what iteration shows. */
  private readonly asGiven = new Map<string, Buffer>();
  /** Lower-cased name -> name as given: what lookups go through. */
  private readonly spelling = new Map<string, string>();

  constructor(entries: Iterable<readonly [string, Buffer]> = []) {
    for (const [name, value] of entries) {
      const lower = name.toLowerCase();
      const previous = this.spelling.get(lower);
      if (previous !== undefined) this.asGiven.delete(previous);
      this.spelling.set(lower, name);
      this.asGiven.set(name, value);
    }
  }

  get size(): number {
    return this.asGiven.size;
  }

  /** The value of property `name`, compared case-insensitively. */
  get(name: string): Buffer | undefined {
    const spelled = this.spelling.get(name.toLowerCase());
    return spelled === undefined ? undefined : this.asGiven.get(spelled);
  }

  /** Whether property `name` is present, compared case-insensitively. */
  has(name: string): boolean {
    return this.spelling.has(name.toLowerCase());
  }

  entries(): ReturnType<Metadata["entries"]> {
    return this.asGiven.entries();
  }

  keys(): ReturnType<Metadata["keys"]> {
    return this.asGiven.keys();
  }

  values(): ReturnType<Metadata["values"]> {
    return this.asGiven.values();
  }

  [Symbol.iterator](): ReturnType<Metadata["entries"]> {
    return this.asGiven.entries();
  }

  forEach(callback: (value: Buffer, key: string, map: Metadata) => void, thisArg?: unknown): void {
    for (const [name, value] of this.asGiven) callback.call(thisArg, value, name, this);
  }

  get [Symbol.toStringTag](): string {
    return "PropertyMap";
  }
}

/** Encodes properties as `name-len(1) name value-len(4, big-endian) value`, in the given order. */
export function encodeMetadata(properties: Iterable<readonly [string, Buffer | string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, rawValue] of properties) {
    const nameBytes = Buffer.from(name, "ascii");
    if (nameBytes.length === 0 || nameBytes.length > 255) throw new RangeError(`invalid property name "${name}"`);
    const value = typeof rawValue === "string" ? Buffer.from(rawValue) : rawValue;
    if (value.length > MAX_PROPERTY_VALUE) throw new RangeError(`property "${name}" value is over ${MAX_PROPERTY_VALUE} bytes`);
    const header = Buffer.allocUnsafe(1 + nameBytes.length + 4);
    header[0] = nameBytes.length;
    nameBytes.copy(header, 1);
    header.writeUInt32BE(value.length, 1 + nameBytes.length);
    parts.push(header, value);
  }
  return Buffer.concat(parts);
}

/**
 * Decodes a property list into a {@link PropertyMap}, names as sent.
 * Throws a {@link ProtocolError} on truncation.
 *
 * The values are views of one private copy of `bytes`: the metadata lives as
 * long as the connection (a ROUTER keeps it per peer), and a view of the
 * received chunk would pin that whole chunk, messages and all, for as long.
 */
export function decodeMetadata(bytes: Buffer): PropertyMap {
  const own = Buffer.from(bytes);
  const entries: [string, Buffer][] = [];
  let offset = 0;
  while (offset < own.length) {
    const nameLength = own[offset]!;
    offset += 1;
    if (nameLength === 0 || offset + nameLength + 4 > own.length) {
      throw new ProtocolError("malformed-command", "truncated or empty property name in READY metadata");
    }
    const name = own.toString("ascii", offset, offset + nameLength);
    offset += nameLength;
    const valueLength = own.readUInt32BE(offset);
    offset += 4;
    if (offset + valueLength > own.length) {
      throw new ProtocolError("malformed-command", `property "${name}" value runs past the end of READY`);
    }
    entries.push([name, own.subarray(offset, offset + valueLength)]);
    offset += valueLength;
  }
  return new PropertyMap(entries);
}
