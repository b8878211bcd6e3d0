import type { Message } from "../../codec/frame";

/**
 * A frame length word with this value says the frame's bytes are not in the
 * batch but are the next ArrayBuffer of the post's out-of-band list (a
 * transferred frame). No frame that fits in a batch is this long.
 */
const OUT_OF_BAND = 0xffff_ffff;

/**
 * Smallest frame worth transferring rather than copying: below it the copy
 * costs less than detaching the buffer and handing it to the other thread.
 */
export const TRANSFER_FRAME_MIN_BYTES = 16 * 1024;

/**
 * Whether a frame may leave by transfer: its ArrayBuffer is a plain one
 * (a SharedArrayBuffer cannot be detached and is shared anyway), it is
 * large, and the Buffer views the whole of it, so detaching it takes
 * nothing else from the sender (a Buffer from Node's pool, or a slice of a
 * larger buffer, shares its ArrayBuffer with other data and is copied).
 */
export function transferable(frame: Buffer): boolean {
  const backing = frame.buffer;
  return (
    frame.byteLength >= TRANSFER_FRAME_MIN_BYTES &&
    backing instanceof ArrayBuffer &&
    // A view as long as its ArrayBuffer starts at offset 0 and is all of it.
    frame.byteLength === backing.byteLength
  );
}

/** A packed batch: the buffer to post, and the ArrayBuffers to transfer alongside it (see packBatch). */
export interface PackedBatch {
  readonly buffer: ArrayBuffer;
  /** Frames that travel whole, in the order their length words say so; empty when nothing is transferred. */
  readonly outOfBand: ArrayBuffer[];
}

/**
 * Packs a batch of messages into one ArrayBuffer: a little-endian u32 count
 * of messages, then per message its frame count and each frame's length,
 * then every frame's bytes back to back.
 *
 * One buffer per batch, not per frame, because structured cloning copies
 * the whole ArrayBuffer behind a view: a 16-byte Buffer cut from Node's
 * 8 KiB pool would otherwise cost an 8 KiB copy, and a post per message
 * costs far more than the bytes of a small one.
 */
export function packBatch(messages: readonly Message[], transfer = false): PackedBatch {
  const outOfBand: ArrayBuffer[] = [];
  // Each ArrayBuffer is transferred once at most: a frame sent twice in one batch is copied the second time.
  const taken = transfer ? new Set<ArrayBufferLike>() : undefined;
  const whole = (frame: Buffer): boolean => taken !== undefined && transferable(frame) && !taken.has(frame.buffer) && (taken.add(frame.buffer), true);
  let headerWords = 1;
  let bodyBytes = 0;
  for (const message of messages) {
    headerWords += 1 + message.length;
    for (const frame of message) if (!whole(frame)) bodyBytes += frame.length;
  }
  // Not zero-filled: every byte is written below, and a zero fill is a second pass over large batches.
  // allocUnsafeSlow gives an ArrayBuffer of exactly this size, outside Node's pool, so it can be transferred.
  const buffer = Buffer.allocUnsafeSlow(headerWords * 4 + bodyBytes).buffer as ArrayBuffer;
  const header = new DataView(buffer, 0, headerWords * 4);
  const body = new Uint8Array(buffer);
  let word = 0;
  let offset = headerWords * 4;
  header.setUint32(word++ * 4, messages.length, true);
  for (const message of messages) {
    header.setUint32(word++ * 4, message.length, true);
    for (const frame of message) {
      // The first pass chose which frames go whole; the first occurrence of each such ArrayBuffer does.
      if (taken?.delete(frame.buffer) === true) {
        header.setUint32(word++ * 4, OUT_OF_BAND, true);
        outOfBand.push(frame.buffer as ArrayBuffer);
        continue;
      }
      header.setUint32(word++ * 4, frame.length, true);
      body.set(frame, offset);
      offset += frame.length;
    }
  }
  return { buffer, outOfBand };
}

/**
 * Unpacks what {@link packBatch} made. The frames are Buffers viewing the
 * received ArrayBuffers (no further copy), so a message kept alive keeps its
 * whole batch alive.
 */
export function unpackBatch(buffer: ArrayBuffer, outOfBand: readonly ArrayBuffer[] = []): Message[] {
  const view = new DataView(buffer);
  const count = view.getUint32(0, true);
  // First pass: find where the bodies start.
  let word = 1;
  for (let m = 0; m < count; m++) word += 1 + view.getUint32(word * 4, true);
  let offset = word * 4;
  let nextWhole = 0;
  word = 1;
  const messages: Message[] = new Array<Message>(count);
  for (let m = 0; m < count; m++) {
    const frames = view.getUint32(word++ * 4, true);
    const message: Message = new Array<Buffer>(frames);
    for (let f = 0; f < frames; f++) {
      const length = view.getUint32(word++ * 4, true);
      if (length === OUT_OF_BAND) {
        message[f] = Buffer.from(outOfBand[nextWhole++] as ArrayBuffer);
        continue;
      }
      message[f] = Buffer.from(buffer, offset, length);
      offset += length;
    }
    messages[m] = message;
  }
  return messages;
}
