import type { Message } from "../codec/frame";

/** Anything `send()` accepts as one frame, as in zeromq.js. */
export type MessageLike = ArrayBufferView | ArrayBuffer | SharedArrayBuffer | string | number | null;

const EMPTY = Buffer.alloc(0);

/** Turns one frame-like value into a Buffer without copying binary data. */
export function toFrame(value: MessageLike): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === "string") return Buffer.from(value, "utf8");
  if (value === null) return EMPTY;
  if (typeof value === "number") return Buffer.from(String(value), "utf8");
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer || (typeof SharedArrayBuffer !== "undefined" && value instanceof SharedArrayBuffer)) {
    return Buffer.from(value);
  }
  throw new TypeError("frame must be a Buffer, Uint8Array, ArrayBuffer, string, number or null");
}

/** Normalises `send()`'s argument to a list of Buffers. */
export function toMessage(value: MessageLike | readonly MessageLike[]): Message {
  if (Array.isArray(value)) {
    if (value.length === 0) throw new TypeError("a message needs at least one frame");
    const frames = new Array<Buffer>(value.length);
    for (let i = 0; i < value.length; i++) frames[i] = toFrame(value[i] as MessageLike);
    return frames;
  }
  return [toFrame(value as MessageLike)];
}
