import type { Message } from "../../codec/frame";

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
export function packBatch(messages: readonly Message[]): ArrayBuffer {
  let headerWords = 1;
  let bodyBytes = 0;
  for (const message of messages) {
    headerWords += 1 + message.length;
    for (const frame of message) bodyBytes += frame.length;
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
      header.setUint32(word++ * 4, frame.length, true);
      body.set(frame, offset);
      offset += frame.length;
    }
  }
  return buffer;
}

/**
 * Unpacks what {@link packBatch} made. The frames are Buffers viewing the
 * received ArrayBuffer (no further copy), so a message kept alive keeps its
 * whole batch alive.
 */
export function unpackBatch(buffer: ArrayBuffer): Message[] {
  const view = new DataView(buffer);
  const count = view.getUint32(0, true);
  // First pass: find where the bodies start.
  let word = 1;
  for (let m = 0; m < count; m++) word += 1 + view.getUint32(word * 4, true);
  let offset = word * 4;
  word = 1;
  const messages: Message[] = new Array<Message>(count);
  for (let m = 0; m < count; m++) {
    const frames = view.getUint32(word++ * 4, true);
    const message: Message = new Array<Buffer>(frames);
    for (let f = 0; f < frames; f++) {
      const length = view.getUint32(word++ * 4, true);
      message[f] = Buffer.from(buffer, offset, length);
      offset += length;
    }
    messages[m] = message;
  }
  return messages;
}
