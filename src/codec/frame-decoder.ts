import { ProtocolError } from "../errors";
import { FrameFlags } from "./frame";

/** Receives each decoded frame: its raw flags byte and its body. */
export type FrameSink = (flags: number, body: Buffer) => void;

/** Command frames carry handshake and control data only; anything bigger is hostile. */
export const COMMAND_SIZE_MAX = 64 * 1024;

const enum State {
  Flags,
  Size,
  Body,
}

/**
 * Turns a ZMTP byte stream into frames, whatever the chunk boundaries.
 *
 * No I/O and no knowledge of messages or commands: the connection engine
 * decides what frames mean. A frame that lies wholly inside one chunk is
 * handed on as a view of that chunk (no copy); a frame split across chunks is
 * copied once, when its last byte arrives, so a peer that announces a huge
 * frame costs memory only for the bytes it actually sends.
 */
export class FrameDecoder {
  private state = State.Flags;
  private flags = 0;
  private readonly sizeBytes = Buffer.alloc(8);
  private sizeNeeded = 0;
  private sizeFilled = 0;
  private bodySize = 0;
  private bodyParts: Buffer[] = [];
  private bodyFilled = 0;

  /**
   * @param maxFrameSize largest accepted frame body in bytes, or -1 for no limit
   *   (libzmq's ZMQ_MAXMSGSIZE, which also applies per frame).
   */
  constructor(private readonly maxFrameSize = -1) {}

  /**
   * While false, a frame that is not a command is refused at its header.
   * Before the handshake only commands are valid, so an unauthenticated peer
   * must not make us buffer a message frame it announces (up to
   * maxMessageSize, unlimited by default) only to refuse it at its end.
   */
  messageFramesAllowed = true;

  /** Bytes of a frame that has started but not finished; 0 between frames. */
  get pendingBytes(): number {
    if (this.state === State.Flags) return 0;
    // The header counts too: a frame whose body has not started is still pending.
    return this.state === State.Size ? 1 + this.sizeFilled : 1 + this.sizeNeeded + this.bodyFilled;
  }

  /** Decodes all of `chunk`, calling `sink` per complete frame. Throws {@link ProtocolError}. */
  decode(chunk: Buffer, sink: FrameSink): void {
    const end = chunk.length;
    let pos = 0;
    while (pos < end) {
      switch (this.state) {
        case State.Flags: {
          const flags = chunk[pos++]!;
          if (flags & FrameFlags.RESERVED) {
            throw new ProtocolError("reserved-flags", `frame flags 0x${flags.toString(16)} set reserved bits`);
          }
          this.flags = flags;
          this.sizeNeeded = flags & FrameFlags.LONG ? 8 : 1;
          this.sizeFilled = 0;
          this.state = State.Size;
          // Fast path: a short frame whose size byte and body are in this chunk.
          if (this.sizeNeeded === 1 && pos < end) {
            const size = chunk[pos]!;
            if (pos + 1 + size <= end) {
              this.checkSize(size);
              pos += 1;
              this.state = State.Flags;
              sink(flags, chunk.subarray(pos, pos + size));
              pos += size;
            }
          }
          break;
        }
        case State.Size: {
          const take = Math.min(this.sizeNeeded - this.sizeFilled, end - pos);
          chunk.copy(this.sizeBytes, this.sizeFilled, pos, pos + take);
          pos += take;
          this.sizeFilled += take;
          if (this.sizeFilled < this.sizeNeeded) return;
          const size = this.sizeNeeded === 1 ? this.sizeBytes[0]! : this.readLongSize();
          this.checkSize(size);
          if (pos + size <= end) {
            this.state = State.Flags;
            sink(this.flags, chunk.subarray(pos, pos + size));
            pos += size;
          } else {
            this.bodySize = size;
            this.bodyParts = [chunk.subarray(pos)];
            this.bodyFilled = end - pos;
            this.state = State.Body;
            pos = end;
          }
          break;
        }
        case State.Body: {
          const take = Math.min(this.bodySize - this.bodyFilled, end - pos);
          this.bodyParts.push(chunk.subarray(pos, pos + take));
          this.bodyFilled += take;
          pos += take;
          if (this.bodyFilled === this.bodySize) {
            const body = Buffer.concat(this.bodyParts, this.bodySize);
            this.bodyParts = [];
            this.bodyFilled = 0;
            this.state = State.Flags;
            sink(this.flags, body);
          }
          break;
        }
      }
    }
  }

  private readLongSize(): number {
    const size = this.sizeBytes.readBigUInt64BE(0);
    if (size > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new ProtocolError("message-too-large", `peer announced a frame of ${size} bytes`);
    }
    return Number(size);
  }

  private checkSize(size: number): void {
    if (!this.messageFramesAllowed && !(this.flags & FrameFlags.COMMAND)) {
      throw new ProtocolError("unexpected-command", `message frame of ${size} bytes before the handshake completed`);
    }
    if (this.flags & FrameFlags.COMMAND) {
      if (size > COMMAND_SIZE_MAX) {
        throw new ProtocolError("message-too-large", `command frame of ${size} bytes exceeds ${COMMAND_SIZE_MAX}`);
      }
    } else if (this.maxFrameSize >= 0 && size > this.maxFrameSize) {
      throw new ProtocolError("message-too-large", `frame of ${size} bytes exceeds maxMessageSize ${this.maxFrameSize}`);
    }
  }
}
