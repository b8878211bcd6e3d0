import { FrameFlags, SHORT_FRAME_MAX } from "./frame";

/** Bodies at least this large are passed through by reference instead of copied into the batch. */
const COPY_LIMIT = 2048;
const SCRATCH_SIZE = 64 * 1024;
/** An idle connection only ever encodes its greeting and READY: start small. */
const FIRST_SCRATCH_SIZE = 512;

/**
 * Encodes frames into a batch of buffers ready for one vectored write.
 *
 * Small frames (the common case) are copied with their headers into a shared
 * scratch buffer so that thousands of messages become one write; large
 * bodies are referenced, not copied. No I/O: the engine takes the batch.
 */
export class FrameEncoder {
  private pieces: Buffer[] = [];
  private scratch = Buffer.allocUnsafe(FIRST_SCRATCH_SIZE);
  private start = 0;
  private used = 0;
  private total = 0;

  /** Bytes encoded and not yet taken. */
  get size(): number {
    return this.total;
  }

  /** Appends every frame of a message, with MORE on all but the last. */
  message(frames: readonly Buffer[]): void {
    const last = frames.length - 1;
    for (let i = 0; i <= last; i++) this.frame(frames[i]!, i < last ? FrameFlags.MORE : 0);
  }

  /** Appends a command frame whose body is an encoded command (see `encodeCommand`). */
  command(body: Buffer): void {
    this.frame(body, FrameFlags.COMMAND);
  }

  /** Appends raw bytes (the greeting). */
  raw(bytes: Buffer): void {
    this.sealScratch();
    this.pieces.push(bytes);
    this.total += bytes.length;
  }

  /** Appends one frame; `flags` may hold MORE and COMMAND, LONG is decided here. */
  frame(body: Buffer, flags: number): void {
    const size = body.length;
    const long = size > SHORT_FRAME_MAX;
    const headerSize = long ? 9 : 2;
    const copy = size < COPY_LIMIT;
    const needed = headerSize + (copy ? size : 0);
    if (this.used + needed > this.scratch.length) this.renewScratch(needed);
    const s = this.scratch;
    let at = this.used;
    if (long) {
      s[at] = flags | FrameFlags.LONG;
      s.writeUInt32BE(Math.floor(size / 0x100000000), at + 1);
      s.writeUInt32BE(size >>> 0, at + 5);
      at += 9;
    } else {
      s[at] = flags;
      s[at + 1] = size;
      at += 2;
    }
    if (copy) {
      if (size <= 16) {
        for (let i = 0; i < size; i++) s[at + i] = body[i]!;
      } else {
        body.copy(s, at);
      }
      at += size;
      this.used = at;
    } else {
      this.used = at;
      this.sealScratch();
      this.pieces.push(body);
    }
    this.total += headerSize + size;
  }

  /** Takes everything encoded so far, in order. */
  take(): Buffer[] {
    this.sealScratch();
    const pieces = this.pieces;
    this.pieces = [];
    this.total = 0;
    return pieces;
  }

  private sealScratch(): void {
    if (this.used > this.start) {
      this.pieces.push(this.scratch.subarray(this.start, this.used));
      this.start = this.used;
    }
  }

  private renewScratch(atLeast: number): void {
    this.sealScratch();
    // The old scratch may still be referenced by a pending write, so it is never reused.
    this.scratch = Buffer.allocUnsafe(Math.max(SCRATCH_SIZE, atLeast));
    this.start = 0;
    this.used = 0;
  }
}
